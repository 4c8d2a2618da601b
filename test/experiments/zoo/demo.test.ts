import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodePNG } from '../../../src/image/png.ts';
import { runMiniDemoFromCli } from '../../../src/cli/demo-mini.ts';
import { runZooDemo, zooDemoPrompts, zooDemoRows } from '../../../src/experiments/zoo/demo.ts';
import { resolveMethod } from '../../../src/experiments/zoo/methods.ts';
import {
  ZOO_SEARCH_BEST_SETTING,
  zooSettingMethod,
  zooSettingRunOptions,
} from '../../../src/experiments/zoo/search-settings.ts';
import { projectRoot } from '../../helpers/data.ts';

const zoo = join(projectRoot, 'models', 'mini-zoo');
const haveZoo = ['migc-mini', 'interactdiffusion-mini', 'ipadapter-mini'].every((m) =>
  existsSync(join(zoo, m, 'unet', 'model.onnx')),
);
if (!haveZoo) console.warn(`[skip] demo --world mini: the model folders under ${zoo} are missing`);

describe('demo --world mini', () => {
  it('cycles its prompts through levels L2–L4, each with an interaction', () => {
    const ps = zooDemoPrompts(4);
    expect(ps.map((p) => p.id)).toEqual(['L2-000', 'L3-000', 'L4-000', 'L2-001']);
    for (const p of ps) expect(p.scene.relations.length).toBeGreaterThan(0);
  });

  it('refuses the Shapes-world flags the user typed, naming them, before any model runs', async () => {
    const opts = { prompts: 6, samples: 3, gridPrompts: 2, w: [0.5], world: 'mini' };
    const typed = new Set(['samples', 'gridPrompts', 'world']);
    await expect(runMiniDemoFromCli(opts, (k) => typed.has(k))).rejects.toThrow(
      '--world mini takes --prompts, --steps, --s, --eta and --out; --samples, --grid-prompts belong to the Shapes world',
    );
  });

  it("has a row at the paper's settings and one at the zoo map's best cell, s scaled to T; a given-settings row only when they differ", () => {
    const rows = zooDemoRows(20, 8, 0.3);
    expect(rows.map((r) => r.label)).toEqual([
      'InteractDiffusion-mini alone',
      'MIGC-mini alone',
      'IP-Adapter-mini alone',
      'AMDM InteractDiffusion-mini←MIGC-mini (paper)',
      'AMDM InteractDiffusion-mini←MIGC-mini (map best)',
      'AMDM InteractDiffusion-mini←MIGC-mini (search best)',
      'AMDM InteractDiffusion-mini←MIGC-mini+IP-Adapter-mini (paper)',
    ]);
    const paper = resolveMethod(rows[3].method);
    expect([paper.rule, paper.weights, paper.aggregateSteps, paper.eta]).toEqual(['slerp', [0.5], 8, 0.3]);
    const best = resolveMethod(rows[4].method); // lerp, w 0.9, s 40 of 50, η 0 (EXPERIMENTS.md, experiment 11)
    expect([best.rule, best.weights, best.aggregateSteps, best.eta]).toEqual(['lerp', [0.9], 16, 0]);
    expect(rows[4].settings).toMatch(
      /^lerp, w = 0.9, η = 0, s = 16 of 20 \(40 of 50 scaled\): the best cell of `npx amdm zoo experiment map`/,
    );
    // the zoo search's best setting by name, its window scaled to T (EXPERIMENTS.md, experiment 14)
    expect(rows[5].method).toBe(zooSettingMethod(ZOO_SEARCH_BEST_SETTING, 20));
    expect(rows[5].settings).toMatch(/the best setting of `npx amdm zoo search`, rerun on fresh prompts/);
    const three = resolveMethod(rows[6].method);
    expect([three.weights, three.aggregateSteps, three.eta]).toEqual([[0.5, 0.65], 8, 0.3]);
    const given = zooDemoRows(20, 4, 0);
    expect(given.map((r) => r.label.replace(/^AMDM InteractDiffusion-mini←/, '')).slice(3)).toEqual([
      'MIGC-mini (paper)',
      'MIGC-mini (map best)',
      'MIGC-mini (search best)',
      'MIGC-mini (given)',
      'MIGC-mini+IP-Adapter-mini (given)',
    ]);
    expect([resolveMethod(given[6].method).aggregateSteps, resolveMethod(given[6].method).eta]).toEqual([4, 0]);
  });

  it.skipIf(!haveZoo)(
    'scores every method on every prompt and writes the grid and the numbers',
    async () => {
      const out = mkdtempSync(join(tmpdir(), 'demo-mini-'));
      afterAll(() => rmSync(out, { recursive: true, force: true }));
      const lines: string[] = [];
      const r = await runZooDemo({
        zoo,
        prompts: 2,
        steps: 3,
        s: 1,
        out: join(out, 'demo'),
        log: (l) => lines.push(l),
      });
      // T, and T + s per other model: paper s = 1 of 3, map best s = 2 of 3, search best its window at T = 3
      const best = zooSettingRunOptions(ZOO_SEARCH_BEST_SETTING, zooDemoPrompts(1)[0].scene, 3);
      const [a, b] = best.windows?.[0] ?? [0, best.aggregateSteps];
      expect(r.rows.map((row) => row.at(-1))).toEqual(['3', '3', '3', '4', '5', String(3 + b - a), '5']);
      expect(r.rows[0][0]).toBe('InteractDiffusion-mini alone');
      const grid = await decodePNG(readFileSync(join(out, 'demo', 'grid.png')));
      // a row label column, then one column per prompt of 32 × 7 pixels
      expect(grid.width).toBeGreaterThan(2 * 32 * 7);
      expect(grid.height).toBeGreaterThan(8 * 32 * 7); // the prompt row and seven method rows
      const json = JSON.parse(readFileSync(join(out, 'demo', 'results.json'), 'utf8'));
      expect(json.methods.map((m: { method: string; images: number }) => [m.method, m.images])).toEqual(
        r.methods.map((m) => [m, 2]),
      );
      expect(lines[0]).toBe(
        'mini-zoo world: 2 MiniMIG prompts (levels L2–L4, each with an interaction and a style), 1 sample each',
      );
      expect(lines).toContain(
        "Why AMDM's rows look like this: at the paper's settings AMDM keeps InteractDiffusion-mini's interactions but passes",
      );
      expect(lines.find((l) => l.startsWith('method '))).toMatch(
        /^method +instance success +mIoU +interaction success/,
      );
      await expect(runZooDemo({ zoo, steps: 3, s: 4, out: join(out, 'x') })).rejects.toThrow(
        '--s must be ≤ --steps (3), got 4',
      );
    },
    120_000,
  );
});
