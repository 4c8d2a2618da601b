/** The scripts a user runs directly print their usage for --help and start no work. */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const run = (script: string, args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', script, ...args], { encoding: 'utf8', timeout: 60_000 });

describe('--help of the fixture generators and the benchmarks', () => {
  it.each([
    ['fixtures/sd-tiny.ts', /^usage: sd-tiny\.ts <outDir> /],
    ['fixtures/families.ts', /^usage: families\.ts <interactdiffusion\|migc\|ipadapter> <outDir> /],
    ['bench/compose-2d.ts', /^usage: npx tsx bench\/compose-2d\.ts \[--quick\]/],
    ['bench/generate-per-image.ts', /^usage: npx tsx bench\/generate-per-image\.ts <job\.json> \[--reps 3\]/],
  ])(
    '%s --help prints the usage and exits 0 without writing',
    (script, usage) => {
      const before = readdirSync('.').sort();
      const r = run(script, ['--help']);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(usage);
      expect(r.stderr).toBe('');
      expect(readdirSync('.').sort()).toEqual(before); // no folder named "--help"
    },
    70_000,
  );
  it('bench/compose-2d.ts refuses an unknown flag instead of starting the full run', () => {
    const r = run('bench/compose-2d.ts', ['--qiuck']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^unknown argument "--qiuck"\nusage: /);
  }, 70_000);
});
