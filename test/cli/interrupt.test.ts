/**
 * Fault test: `amdm generate` and `amdm bench coco-mig` run as child processes and are killed
 * with SIGINT or SIGTERM at random points (a fixed number of times, seeded). After every
 * interrupt each output folder must be one run's complete output, or absent (generate), or
 * hold only complete images made with its recorded settings (coco-mig, which resumes), and no
 * temporary file or staging folder may be left anywhere.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFamilyFolder } from '../../fixtures/families.ts';
import { writeSdTinyFolder } from '../../fixtures/sd-tiny.ts';
import { gaussianRng } from '../../src/core/rng.ts';
import { OUTPUT_MANIFEST } from '../../src/io/output-folder.ts';
import { decodePNG } from '../../src/image/png.ts';

const MAIN = resolve('src/cli/main.ts');
// tsx's loader by URL: the children run in a temporary folder, outside node_modules' reach
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const INTERRUPTS = 4; // per command
let root: string;

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  ms: number;
}

/** Runs `amdm …` in a child process; `kill` sends a signal after `afterMs`. */
function amdm(args: string[], kill?: { signal: NodeJS.Signals; afterMs: number }): Promise<Exit> {
  return new Promise((done, fail) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, ['--import', TSX, MAIN, ...args], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    const timer = kill ? setTimeout(() => child.kill(kill.signal), kill.afterMs) : null;
    child.on('error', fail);
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      done({ code, signal, stderr, ms: Date.now() - t0 });
    });
  });
}

/** Every temporary file, staging or replaced folder under `dir`. */
function leftovers(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((p) => /\.tmp$|\.staging-|\.old-/.test(p));
}

const files = (dir: string) => readdirSync(dir).sort();
const bytes = (p: string) => readFileSync(p).toString('base64');

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'amdm-interrupt-'));
  await writeSdTinyFolder(join(root, 'a'), { seed: 1 });
  await writeSdTinyFolder(join(root, 'b'), { seed: 2 });
  await writeFamilyFolder(join(root, 'interact'), 'interactdiffusion');
  await writeFamilyFolder(join(root, 'migc'), 'migc');
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('interrupting amdm generate', () => {
  it(
    'leaves the output folder as one complete run (of either job) or absent, and no temporary file',
    { timeout: 240_000 },
    async () => {
      // Two jobs into one folder: different seeds, batch 1 and batch 4, every image and the trace.
      const jobs = [
        {
          prompt: 'a red square',
          models: [
            { folder: 'a', name: 'A' },
            { folder: 'b', name: 'B' },
          ],
          steps: 6,
          aggregateSteps: 3,
          seed: 1,
          batch: 1,
          saveAll: true,
          saveTrace: true,
        },
        {
          prompt: 'a red square',
          models: [
            { folder: 'a', name: 'A' },
            { folder: 'b', name: 'B' },
          ],
          steps: 6,
          aggregateSteps: 3,
          seed: 2,
          batch: 4,
          saveAll: true,
          saveTrace: true,
        },
      ];
      const refs: Map<string, string>[] = [];
      const ms: number[] = [];
      for (const [k, job] of jobs.entries()) {
        await writeFile(join(root, `job-${k}.json`), JSON.stringify({ ...job, output: 'out/gen' }));
        const r = await amdm(['generate', `job-${k}.json`, '--output', `ref/gen-${k}`, '--no-progress']);
        expect(r.code, r.stderr).toBe(0);
        const dir = join(root, 'ref', `gen-${k}`);
        refs.push(
          new Map(
            files(dir)
              .filter((f) => f.endsWith('.png'))
              .map((f) => [f, bytes(join(dir, f))]),
          ),
        );
        ms.push(r.ms);
      }
      expect([...refs[1].keys()]).toContain('target-3.png');

      const rng = gaussianRng(11);
      const out = join(root, 'out', 'gen');
      for (let i = 0; i < INTERRUPTS; i++) {
        const k = i % 2;
        const signal = rng.uniform() < 0.5 ? 'SIGINT' : 'SIGTERM';
        const r = await amdm(['generate', `job-${k}.json`, '--no-progress'], {
          signal,
          afterMs: rng.uniform() * 1.1 * ms[k],
        });
        expect(r.signal === signal || r.code === 0, `${signal}: ${r.stderr}`).toBe(true);
        expect(leftovers(root)).toEqual([]);
        if (!existsSync(out)) continue;
        // one run's complete output: the manifest's files, exactly, with the bytes of that run
        const manifest = JSON.parse(readFileSync(join(out, OUTPUT_MANIFEST), 'utf8')) as { files: string[] };
        expect(files(out)).toEqual([OUTPUT_MANIFEST, ...manifest.files].sort());
        const resolved = JSON.parse(readFileSync(join(out, 'resolved.json'), 'utf8')) as { job: { seed: number } };
        const ref = refs[resolved.job.seed - 1];
        const pngs = files(out).filter((f) => f.endsWith('.png'));
        expect(pngs).toEqual([...ref.keys()]);
        for (const f of pngs) expect(bytes(join(out, f)), f).toBe(ref.get(f));
      }
    },
  );
});

describe('interrupting amdm bench coco-mig', () => {
  it(
    'leaves only complete images made with the recorded settings and no temporary file; a resume then finishes the same images',
    { timeout: 240_000 },
    async () => {
      const entry = (caption: string, labels: string[], boxes: number[][], id: string) => ({
        caption,
        segment: labels.map((label, i) => ({ bbox: boxes[i], label })),
        image_id: id,
      });
      const bench: Record<string, unknown> = {};
      for (let k = 0; k < 6; k++)
        bench[String(k)] = entry(
          `a photo of a red cup number ${k} `,
          ['a red cup', 'a cat'],
          [
            [0.1, 0.1, 0.5, 0.6],
            [0.5, 0.4, 0.9, 0.9],
          ],
          String(100 + k),
        );
      await writeFile(join(root, 'bench.json'), JSON.stringify(bench));
      const args = (out: string) => [
        'bench',
        'coco-mig',
        '--bench',
        'bench.json',
        '--interact',
        'interact',
        '--migc',
        'migc',
        '--out',
        out,
        '--steps',
        '4',
        '--s',
        '2',
        '--migc-steps',
        '1',
        '--no-progress',
      ];
      const ref = await amdm(args('ref/coco'));
      expect(ref.code, ref.stderr).toBe(0);
      const refDir = join(root, 'ref', 'coco');
      const pngs = files(refDir).filter((f) => f.endsWith('.png'));
      expect(pngs).toHaveLength(6);

      const rng = gaussianRng(12);
      const out = join(root, 'out', 'coco');
      await mkdir(join(root, 'out'), { recursive: true });
      for (let i = 0; i < INTERRUPTS; i++) {
        const signal = rng.uniform() < 0.5 ? 'SIGINT' : 'SIGTERM';
        const r = await amdm(args('out/coco'), { signal, afterMs: rng.uniform() * 1.1 * ref.ms });
        expect(r.signal === signal || r.code === 0, `${signal}: ${r.stderr}`).toBe(true);
        expect(leftovers(root)).toEqual([]);
        if (!existsSync(out)) continue;
        for (const f of files(out)) {
          if (f === 'settings.json')
            expect(readFileSync(join(out, f), 'utf8')).toBe(readFileSync(join(refDir, f), 'utf8'));
          else expect(bytes(join(out, f)), f).toBe(bytes(join(refDir, f))); // complete: equal to the uninterrupted run's image
        }
      }
      const last = await amdm(args('out/coco'));
      expect(last.code, last.stderr).toBe(0);
      expect(files(out)).toEqual(files(refDir));
      for (const f of pngs) await decodePNG(readFileSync(join(out, f)));
    },
  );
});
