import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

// The smoke version of bench/compose-2d.ts (the Table 6 analog in EXPERIMENTS.md), so the script
// cannot rot: it runs, covers every method, and its metrics are finite.
describe('bench/compose-2d.ts --quick', () => {
  it('runs every method on a world and writes finite metrics', () => {
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'amdm-c2d-')), 'r.json');
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'bench/compose-2d.ts', '--quick', '--worlds', 'up-down', '--json', out],
      { encoding: 'utf8', timeout: 120_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\| up-down \| fkc \|/);
    const json = JSON.parse(readFileSync(out, 'utf8')) as {
      results: { method: string; seeds: Record<string, number>[] }[];
    };
    const methods = json.results.map((x) => x.method);
    for (const m of ['exact', 'oracle', 'expert0', 'amdm-all', 'reverse', 'du-hmc', 'fkc', 'smc'])
      expect(methods).toContain(m);
    for (const row of json.results)
      for (const s of row.seeds)
        for (const k of ['lnMmd2', 'modeTV', 'slicedW2'])
          expect(Number.isFinite(s[k]), `${row.method}.${k}`).toBe(true);
  });
});
