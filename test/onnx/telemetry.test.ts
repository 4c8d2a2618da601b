/**
 * onnxruntime-node's telemetry is off unless the user opts in (src/onnx/telemetry.ts): a
 * generate run in a child process, with its own temp folder and home, leaves no
 * `mat-debug-<pid>.log` and no `~/.cache/Microsoft/DeveloperTools` database; with
 * ORT_DISABLE_TELEMETRY=0 (the documented opt-in) onnxruntime writes them, which shows that
 * the check looks in the right places.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSdTinyFolder } from '../../fixtures/sd-tiny.ts';
import { ORT_TELEMETRY_SWITCH } from '../../src/onnx/telemetry.ts';

const MAIN = resolve('src/cli/main.ts');
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
let dir: string;
let job: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'amdm-telemetry-'));
  await writeSdTinyFolder(join(dir, 'a'), { seed: 1 });
  job = join(dir, 'job.json');
  writeFileSync(job, JSON.stringify({ prompt: 'a red square', models: [{ folder: 'a' }], steps: 2, backend: 'node' }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `amdm generate` with a fresh temp folder and home; what onnxruntime left in each. */
function generate(name: string, telemetry: string | undefined) {
  const tmp = join(dir, `${name}-tmp`);
  const home = join(dir, `${name}-home`);
  mkdirSync(tmp);
  mkdirSync(home);
  const env: Record<string, string | undefined> = { ...process.env, TMPDIR: tmp, HOME: home, TEMP: tmp, TMP: tmp };
  delete env[ORT_TELEMETRY_SWITCH]; // the test process's own setup set it
  delete env.CI; // onnxruntime's telemetry stays off by itself on CI machines (CI set), whatever the switch
  if (telemetry !== undefined) env[ORT_TELEMETRY_SWITCH] = telemetry;
  const r = spawnSync(
    process.execPath,
    ['--import', TSX, MAIN, 'generate', job, '--output', join(dir, `${name}-out`), '--no-progress'],
    { cwd: dir, env, encoding: 'utf8', timeout: 120_000 },
  );
  expect(r.status, r.stderr).toBe(0);
  expect(existsSync(join(dir, `${name}-out`, 'target.png'))).toBe(true);
  return {
    matDebug: readdirSync(tmp).filter((f) => f.startsWith('mat-debug-')),
    microsoftCache: existsSync(join(home, '.cache', 'Microsoft')),
  };
}

describe.runIf(process.platform === 'linux')('onnxruntime telemetry', () => {
  it('a generate run leaves no mat-debug log and no DeveloperTools database', () => {
    expect(generate('off', undefined)).toEqual({ matDebug: [], microsoftCache: false });
  });

  it('ORT_DISABLE_TELEMETRY=0 opts in (and shows where the files would be)', () => {
    const on = generate('on', '0');
    expect(on.matDebug).toHaveLength(1);
    expect(on.microsoftCache).toBe(true);
  });
});
