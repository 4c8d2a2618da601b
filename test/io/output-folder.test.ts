import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFileAtomic, ensureDir, sweepTempFiles } from '../../src/io/files.ts';
import { OUTPUT_MANIFEST, prepareOutputFolder, writeFolderAtomic } from '../../src/io/output-folder.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'amdm-outdir-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A pid above Linux's pid_max (2²²): never a running process. */
const DEAD = 4_194_305;

describe('prepareOutputFolder', () => {
  it('commits the files and a manifest naming them; a rerun replaces the folder as a whole', async () => {
    const target = join(dir, 'a', 'b', 'run');
    const first = await prepareOutputFolder(target, { command: 'test', param: '--out' });
    expect(existsSync(join(dir, 'a', 'b'))).toBe(true); // parents are created before any work
    expect(existsSync(target)).toBe(false); // the folder itself appears only at commit
    expect(
      await first.commit(
        new Map<string, Uint8Array | string>([
          ['target.png', new Uint8Array([1, 2])],
          ['sub/x.json', '{}\n'],
        ]),
      ),
    ).toEqual([join(target, 'target.png'), join(target, 'sub', 'x.json')]);
    expect(readdirSync(target).sort()).toEqual([OUTPUT_MANIFEST, 'sub', 'target.png']);
    const manifest = JSON.parse(readFileSync(join(target, OUTPUT_MANIFEST), 'utf8'));
    expect(manifest).toMatchObject({ command: 'test', smoke: false, files: ['sub/x.json', 'target.png'] });
    // the second run writes target-0.png only: the first run's target.png must not survive
    await (await prepareOutputFolder(target, { command: 'test' })).commit(new Map([['target-0.png', 'x']]));
    expect(readdirSync(target).sort()).toEqual([OUTPUT_MANIFEST, 'target-0.png']);
    expect(readdirSync(join(dir, 'a', 'b'))).toEqual(['run']); // no staging or old folder left
  });

  it('fails before any work on a path under a regular file, naming the flag and the file', async () => {
    writeFileSync(join(dir, 'file'), 'x');
    await expect(prepareOutputFolder(join(dir, 'file', 'out'), { command: 'demo', param: '--out' })).rejects.toThrow(
      `--out: cannot create the folder ${join(dir, 'file', 'out')}: ${join(dir, 'file')} is a file, not a folder`,
    );
    await expect(prepareOutputFolder(join(dir, 'file'), { command: 'demo', param: '--out' })).rejects.toThrow(
      `--out: ${join(dir, 'file')} is a file, not a folder`,
    );
  });

  it.runIf(process.platform === 'linux' && existsSync('/proc/self'))(
    'fails fast under /proc (a recursive mkdir never returns there)',
    async () => {
      const t0 = Date.now();
      await expect(prepareOutputFolder('/proc/amdm-out/demo', { command: 'demo', param: '--out' })).rejects.toThrow(
        /--out: cannot create the folder \/proc\/amdm-out: /,
      );
      expect(Date.now() - t0).toBeLessThan(5000);
    },
  );

  it('refuses to replace a folder amdm did not write, and a smoke run refuses a full run', async () => {
    const mine = join(dir, 'home');
    mkdirSync(mine);
    writeFileSync(join(mine, 'thesis.tex'), 'x');
    await expect(prepareOutputFolder(mine, { command: 'demo', param: '--out' })).rejects.toThrow(
      /--out: .*home already holds files that amdm did not write \(no \.amdm-output\.json\)/,
    );
    expect(readdirSync(mine)).toEqual(['thesis.tex']);
    const full = join(dir, 'full');
    await writeFolderAtomic(full, new Map([['results.json', '{}']]), { command: 'experiment eta' });
    await expect(prepareOutputFolder(full, { command: 'experiment eta', smoke: true, param: '--out' })).rejects.toThrow(
      /holds the full run of "experiment eta"; a smoke run \(--quick\) never replaces it/,
    );
    await expect(prepareOutputFolder(full, { command: 'experiment eta' })).resolves.toBeTruthy(); // a full run may
    mkdirSync(join(dir, 'empty'));
    await expect(prepareOutputFolder(join(dir, 'empty'), { command: 'demo' })).resolves.toBeTruthy();
  });

  it("never replaces a folder without the manifest, even one holding only names the command writes (the user's own results)", async () => {
    const old = join(dir, 'demo');
    mkdirSync(old);
    writeFileSync(join(old, 'target.png'), 'mine');
    writeFileSync(join(old, 'results.json'), '{"mine":1}');
    const writes = /^(target\.png|results\.json)$/;
    await expect(prepareOutputFolder(old, { command: 'demo', param: '--out', writes })).rejects.toThrow(
      `--out: ${old} already holds files that amdm did not write (no .amdm-output.json): results.json, target.png; their names are those this command writes`,
    );
    expect(readFileSync(join(old, 'results.json'), 'utf8')).toBe('{"mine":1}');
    expect(readdirSync(old).sort()).toEqual(['results.json', 'target.png']);
  });

  it('refuses, naming them, files beside the manifest that it does not list, and keeps them', async () => {
    const out = join(dir, 'run');
    await writeFolderAtomic(
      out,
      new Map([
        ['target.png', 'png'],
        ['sub/x.json', '{}'],
      ]),
      { command: 'test' },
    );
    writeFileSync(join(out, 'notes.txt'), 'my notes');
    mkdirSync(join(out, 'analysis'));
    writeFileSync(join(out, 'analysis', 'plot.py'), 'print(1)');
    writeFileSync(join(out, 'sub', 'mine.txt'), 'x');
    mkdirSync(join(out, 'empty'));
    const message = `--out: ${out} holds files that its .amdm-output.json does not list: analysis/plot.py, empty/, notes.txt, sub/mine.txt; amdm replaces its output folder as a whole and never deletes files it did not write, so move them elsewhere or give another folder`;
    const sorted = (e: Error) =>
      e.message.replace(/: ([^;]+);/, (_m, l: string) => `: ${l.split(', ').sort().join(', ')};`);
    const err = await prepareOutputFolder(out, { command: 'test', param: '--out' }).catch((e: Error) => e);
    expect(sorted(err as Error)).toContain(message);
    // also at commit, when the files appear while the run computes
    rmSync(join(out, 'notes.txt'));
    rmSync(join(out, 'analysis'), { recursive: true });
    rmSync(join(out, 'sub', 'mine.txt'));
    rmSync(join(out, 'empty'), { recursive: true });
    const again = await prepareOutputFolder(out, { command: 'test', param: '--out' });
    writeFileSync(join(out, 'notes.txt'), 'my notes');
    await expect(again.commit(new Map([['target.png', 'new']]))).rejects.toThrow(/does not list: notes\.txt;/);
    expect(readFileSync(join(out, 'notes.txt'), 'utf8')).toBe('my notes');
    expect(readFileSync(join(out, 'target.png'), 'utf8')).toBe('png');
    expect(readdirSync(dir)).toEqual(['run']); // the staging folder is gone
  });

  it('after a kill between the two renames of a swap, the next run puts the newer complete folder back', async () => {
    const target = join(dir, 'run');
    await writeFolderAtomic(target, new Map([['target.png', 'previous']]), { command: 'test' });
    // the state a SIGKILL between renameSync(target, old) and renameSync(staging, target) leaves
    renameSync(target, join(dir, `.run.old-${DEAD}-0123abcd`));
    const staging = join(dir, `.run.staging-${DEAD}-89abcdef`);
    mkdirSync(staging);
    writeFileSync(join(staging, 'target.png'), 'newer');
    writeFileSync(
      join(staging, OUTPUT_MANIFEST),
      JSON.stringify({ command: 'test', smoke: false, files: ['target.png'], written: new Date().toISOString() }),
    );
    await prepareOutputFolder(target, { command: 'test' });
    expect(readdirSync(dir)).toEqual(['run']);
    expect(readFileSync(join(target, 'target.png'), 'utf8')).toBe('newer');
    // killed before the staging folder was complete (no manifest yet): the previous output comes back
    renameSync(target, join(dir, `.run.old-${DEAD}-0123abcd`));
    mkdirSync(staging);
    writeFileSync(join(staging, 'target.png'), 'half');
    await prepareOutputFolder(target, { command: 'test' });
    expect(readdirSync(dir)).toEqual(['run']);
    expect(readFileSync(join(target, 'target.png'), 'utf8')).toBe('newer');
  });

  it("sweeps the staging folders and temporary files of killed runs, not a live process's", async () => {
    const target = join(dir, 'run');
    await writeFolderAtomic(target, new Map([['a.png', 'a']]), { command: 'test' });
    const dead = [`.run.staging-${DEAD}-0123abcd`, `.run.old-${DEAD}-0123abcd`];
    const live = `.run.staging-${process.pid}-0123abcd`;
    for (const d of [...dead, live]) mkdirSync(join(dir, d));
    writeFileSync(join(target, `.a.png.${DEAD}.0123456789ab.tmp`), 'partial');
    writeFileSync(join(target, `.a.png.${process.pid}.0123456789ab.tmp`), 'being written');
    await prepareOutputFolder(target, { command: 'test' });
    expect(readdirSync(dir).sort()).toEqual([live, 'run'].sort());
    expect(readdirSync(target).sort()).toEqual(
      [`.a.png.${process.pid}.0123456789ab.tmp`, OUTPUT_MANIFEST, 'a.png'].sort(),
    );
  });

  it('rejects file names outside the folder and leaves nothing', async () => {
    const out = await prepareOutputFolder(join(dir, 'run'), { command: 'test' });
    await expect(out.commit(new Map([['../x', 'x']]))).rejects.toThrow(
      /file names must be relative paths inside the folder/,
    );
    await expect(out.commit(new Map([[OUTPUT_MANIFEST, 'x']]))).rejects.toThrow(/not \.amdm-output\.json/);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('ensureDir, createFileAtomic, sweepTempFiles', () => {
  it('ensureDir names the parameter and the file in the way', async () => {
    writeFileSync(join(dir, 'f'), 'x');
    await expect(ensureDir(join(dir, 'f', 'g', 'h'), 'output')).rejects.toThrow(
      `output: cannot create the folder ${join(dir, 'f', 'g', 'h')}: ${join(dir, 'f')} is a file, not a folder`,
    );
    expect(await ensureDir(join(dir, 'x', 'y'), 'output')).toBe(join(dir, 'x', 'y'));
  });

  it('createFileAtomic writes only a new file', async () => {
    expect(await createFileAtomic(join(dir, 's.json'), 'first')).toBe(true);
    expect(await createFileAtomic(join(dir, 's.json'), 'second')).toBe(false);
    expect(readFileSync(join(dir, 's.json'), 'utf8')).toBe('first');
    expect(readdirSync(dir)).toEqual(['s.json']);
  });

  it("sweepTempFiles removes only dead writers' temporary files", () => {
    writeFileSync(join(dir, `.x.png.${DEAD}.0123456789ab.tmp`), '');
    writeFileSync(join(dir, 'x.png'), '');
    expect(sweepTempFiles(join(dir))).toEqual([`.x.png.${DEAD}.0123456789ab.tmp`]);
    expect(sweepTempFiles(join(dir, 'missing'))).toEqual([]);
    expect(readdirSync(dir)).toEqual(['x.png']);
  });
});

describe('interrupt cleanup', () => {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const cleanup = pathToFileURL(resolve('src/io/interrupt-cleanup.ts')).href;

  it('a process SIGKILLed between the two renames of its swap: the next run puts its complete output in place', async () => {
    const target = join(dir, 'run');
    await writeFolderAtomic(target, new Map([['target.png', 'previous']]), { command: 'test' });
    const outputFolder = pathToFileURL(resolve('src/io/output-folder.ts')).href;
    // the child dies right after renameSync(target, old), before renameSync(staging, target)
    const script = `
      import fs from 'node:fs';
      import { syncBuiltinESMExports } from 'node:module';
      const rename = fs.renameSync;
      fs.renameSync = (from, to) => { rename(from, to); if (from === ${JSON.stringify(target)}) process.kill(process.pid, 'SIGKILL'); };
      syncBuiltinESMExports();
      const { writeFolderAtomic } = await import(${JSON.stringify(outputFolder)});
      await writeFolderAtomic(${JSON.stringify(target)}, new Map([['target.png', 'newer']]), { command: 'test' });
      console.log('survived');`;
    const r = spawnSync(process.execPath, ['--import', tsx, '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.signal).toBe('SIGKILL');
    expect(r.stdout).not.toContain('survived');
    const left = readdirSync(dir).sort();
    expect(left.map((e) => e.replace(/-\d+-[0-9a-f]{8}$/, ''))).toEqual(['.run.old', '.run.staging']);
    await prepareOutputFolder(target, { command: 'test' });
    expect(readdirSync(dir)).toEqual(['run']);
    expect(readFileSync(join(target, 'target.png'), 'utf8')).toBe('newer');
  });
  it.each(['SIGINT', 'SIGTERM'] as const)(
    '%s removes registered paths, then the process dies of the signal',
    (signal) => {
      const file = join(dir, 'partial.tmp');
      const folder = join(dir, '.out.staging-1-00000000');
      const script = `
      import { mkdirSync, writeFileSync } from 'node:fs';
      import { removeOnInterrupt } from ${JSON.stringify(cleanup)};
      writeFileSync(${JSON.stringify(file)}, 'x'); removeOnInterrupt(${JSON.stringify(file)});
      mkdirSync(${JSON.stringify(folder)}); writeFileSync(${JSON.stringify(join(folder, 'a'))}, 'x'); removeOnInterrupt(${JSON.stringify(folder)});
      process.kill(process.pid, ${JSON.stringify(signal)});
      setTimeout(() => { console.log('survived'); }, 2000);`;
      const r = spawnSync(process.execPath, ['--import', tsx, '--input-type=module', '-e', script], {
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(r.signal).toBe(signal);
      expect(r.stdout).not.toContain('survived');
      expect(readdirSync(dir)).toEqual([]);
    },
  );
});
