/**
 * `amdm --help` and the light commands' help start without loading the models' code: the
 * modules a command line loads are recorded by a module hook in a child process, and none of
 * the heavy ones (onnxruntime, zod, Plot, linkedom, the MiniMIG world, the Shapes evaluator)
 * may be among them. `amdm zoo --help` loads the zoo's commands, which do.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { watchParent } from '../../src/server/serve-process.ts';

const dir = mkdtempSync(join(tmpdir(), 'amdm-startup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const hooks = join(dir, 'hooks.mjs');
writeFileSync(
  hooks,
  `export async function load(url, ctx, next) { process.stderr.write('LOADED ' + url + '\\n'); return next(url, ctx); }\n`,
);
const register = join(dir, 'register.mjs');
writeFileSync(
  register,
  `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
);

/** The URLs of the modules `amdm <args>` loads, and what it printed. */
function loadedBy(args: string[]): { modules: string[]; stdout: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--import', register, 'src/cli/main.ts', ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(r.status, r.stderr).toBe(0);
  const modules = r.stderr
    .split('\n')
    .filter((l) => l.startsWith('LOADED '))
    .map((l) => l.slice('LOADED '.length));
  return { modules, stdout: r.stdout };
}

const HEAVY = [
  /node_modules\/onnxruntime/,
  /node_modules\/zod\//,
  /node_modules\/@observablehq\//,
  /node_modules\/linkedom\//,
  /node_modules\/pureimage\//,
  /src\/toy\/minimig\//,
  /src\/toy\/shapes\/evaluate/,
  /src\/sd\//,
];

describe('amdm starts fast: help loads no model code', () => {
  it.each([
    [['--help']],
    [['demo', '--help']],
    [['generate', '--help']],
    [['serve', '--help']],
    [['experiment', '--help']],
  ])(
    'amdm %j',
    (args) => {
      const { modules, stdout } = loadedBy(args);
      expect(stdout).toMatch(/^Usage: amdm/);
      expect(modules.some((m) => m.endsWith('src/cli/main.ts'))).toBe(true);
      for (const heavy of HEAVY) expect(modules.filter((m) => heavy.test(m))).toEqual([]);
    },
    70_000,
  );
  it('lists zoo with its summary, and `amdm zoo --help` / `amdm help zoo` load its subcommands', () => {
    expect(loadedBy(['--help']).stdout).toMatch(/zoo +the learned mini-zoo/);
    for (const args of [
      ['zoo', '--help'],
      ['help', 'zoo'],
    ]) {
      const { modules, stdout } = loadedBy(args);
      expect(stdout).toMatch(/^Usage: amdm zoo/);
      expect(stdout).toMatch(/calibrate/);
      expect(stdout).toMatch(/bench/);
      expect(modules.some((m) => /src\/toy\/minimig\//.test(m))).toBe(true);
    }
  }, 70_000);
});

describe('amdm serve stops when the npm process that started it is gone', () => {
  it('watches the parent only under npm, and calls back once when it changes', async () => {
    let ppid = 100;
    let calls = 0;
    watchParent(() => calls++, { env: {}, ppid: () => ppid, intervalMs: 5 });
    ppid = 1;
    await new Promise((r) => setTimeout(r, 30));
    expect(calls).toBe(0); // not started by npm: a shell or a supervisor owns it
    ppid = 100;
    const stop = watchParent(() => calls++, { env: { npm_command: 'exec' }, ppid: () => ppid, intervalMs: 5 });
    await new Promise((r) => setTimeout(r, 30));
    expect(calls).toBe(0);
    ppid = 1;
    await new Promise((r) => setTimeout(r, 30));
    expect(calls).toBe(1);
    await new Promise((r) => setTimeout(r, 30));
    expect(calls).toBe(1);
    stop();
  });
});
