import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  PLAN_EXPERIMENT_NAMES,
  SHAPES_EXPERIMENT_NAMES,
  loadShapesExperiment,
} from '../../../src/experiments/shapes/registry.ts';
import { experimentFolder, prepareExperimentOutput } from '../../../src/experiments/common.ts';

// The smoke version of each experiment, so the scripts behind EXPERIMENTS.md cannot rot.
describe.each(PLAN_EXPERIMENT_NAMES)('experiment %s --quick', (name) => {
  it('runs and writes its numbers and chart', async () => {
    const out = mkdtempSync(path.join(tmpdir(), `amdm-exp-${name}-`));
    const experiment = await loadShapesExperiment(name);
    const rows = (await experiment.run(await experiment.plan(), {
      quick: true,
      seed: 0,
      out,
      log: () => {},
    })) as Record<string, unknown>[];
    expect(rows.length).toBeGreaterThan(1);
    for (const r of rows) {
      expect(Number(r.instanceSuccess)).toBeGreaterThanOrEqual(0);
      expect(Number(r.instanceSuccess)).toBeLessThanOrEqual(1);
      expect(Number(r.calls)).toBeGreaterThan(0);
    }
    const files = readdirSync(out);
    expect(files).toEqual(expect.arrayContaining(['results.json', 'results.csv', 'table.md']));
    if (name !== 'experts') expect(readFileSync(path.join(out, 'chart.svg'), 'utf8')).toMatch(/^<svg/);
    const json = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8'));
    expect(json.command).toBe(`npx amdm experiment ${name} --quick`);
    if (name === 'sphere') {
      const lerp = json.sphere.filter(
        (r: { method: string; mixedMean: number | null }) => r.method === 'lerp' && r.mixedMean !== null,
      );
      const slerp = json.sphere.filter(
        (r: { method: string; mixedMean: number | null }) => r.method === 'slerp' && r.mixedMean !== null,
      );
      // lerp shrinks the merged latent below slerp's norm at every aggregated step
      lerp.forEach((r: { mixedMean: number }, i: number) => expect(r.mixedMean).toBeLessThan(slerp[i].mixedMean));
    }
  });
});

describe('smoke runs never touch the recorded results', () => {
  it('--quick defaults to amdm-out/experiments/<name>, full runs to experiments/out/<name>', async () => {
    expect(experimentFolder('eta', true)).toBe(path.join('amdm-out', 'experiments', 'eta'));
    expect(experimentFolder('eta', false)).toBe(path.join('experiments', 'out', 'eta'));
  });
  it.each([...PLAN_EXPERIMENT_NAMES, 'compose-shapes', 'search-shapes', 'confirm-shapes'])(
    'the committed experiments/out/%s is a full run that --quick refuses to replace',
    async (name) => {
      const dir = path.join('experiments', 'out', name);
      const manifest = JSON.parse(readFileSync(path.join(dir, '.amdm-output.json'), 'utf8'));
      expect(manifest).toMatchObject({ command: `experiment ${name}`, smoke: false });
      expect(manifest.files).toEqual(
        readdirSync(dir)
          .filter((f) => !f.startsWith('.'))
          .sort(),
      );
      await expect(prepareExperimentOutput(name, true, dir)).rejects.toThrow(
        `--out: ${path.resolve(dir)} holds the full run of "experiment ${name}"; a smoke run (--quick) never replaces it`,
      );
    },
  );
});

describe('the registry', () => {
  it('lists every experiment once, in order, and refuses other names', async () => {
    expect(SHAPES_EXPERIMENT_NAMES).toEqual([
      'experts',
      'eta',
      'rules',
      'sphere',
      'weights',
      'compose-shapes',
      'map',
      'search-shapes',
      'confirm-shapes',
    ]);
    expect(PLAN_EXPERIMENT_NAMES).toEqual(['experts', 'eta', 'rules', 'sphere', 'weights']);
    await expect(loadShapesExperiment('nope' as 'map')).rejects.toThrow(
      /experiment must be one of experts, eta, rules, sphere, weights, compose-shapes, map, search-shapes, confirm-shapes, got 'nope'/,
    );
    for (const name of SHAPES_EXPERIMENT_NAMES) expect((await loadShapesExperiment(name)).title).toMatch(/\w/);
  });
});
