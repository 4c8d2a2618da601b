import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EXPERIMENTS, PLAN_EXPERIMENT_NAMES } from '../../src/cli/experiment-registry.ts';
import { runExperiment } from '../../src/cli/experiment-plan.ts';

// The smoke version of each experiment, so the scripts behind EXPERIMENTS.md cannot rot.
describe.each(PLAN_EXPERIMENT_NAMES)('experiment %s --quick', (name) => {
  it('runs and writes its numbers and chart', async () => {
    const out = mkdtempSync(path.join(tmpdir(), `amdm-exp-${name}-`));
    const rows = await runExperiment(name, await EXPERIMENTS[name].loadPlan(), { quick: true, out, log: () => {} });
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
    const { experimentFolder } = await import('../../src/cli/experiment-common.ts');
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
      const { prepareExperimentOutput } = await import('../../src/cli/experiment-common.ts');
      await expect(prepareExperimentOutput(name, true, dir)).rejects.toThrow(
        `--out: ${path.resolve(dir)} holds the full run of "experiment ${name}"; a smoke run (--quick) never replaces it`,
      );
    },
  );
});

describe('amdm experiment takes its names from the registry', () => {
  it('lists every experiment once, in order, and refuses other names', async () => {
    const { EXPERIMENT_NAMES } = await import('../../src/cli/experiment-registry.ts');
    const { buildProgram } = await import('../../src/cli/main.ts');
    expect(EXPERIMENT_NAMES).toEqual([
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
    const p = buildProgram().exitOverride();
    p.configureOutput({ writeErr: () => {}, writeOut: () => {} });
    const cmd = p.commands.find((c) => c.name() === 'experiment')!;
    cmd.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    expect(cmd.description()).toBe(
      'Shapes-world experiments: experts, eta, rules, sphere, weights, compose-shapes, map, search-shapes, confirm-shapes (results.json/csv, table.md, charts)',
    );
    await expect(p.parseAsync(['node', 'amdm', 'experiment', 'nope'])).rejects.toThrow(
      /must be one of experts, eta, rules, sphere, weights, compose-shapes, map, search-shapes, confirm-shapes, got 'nope'/,
    );
  });
});
