import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { searchSpace, searchPlan } from '../../../src/experiments/shapes/search/space.ts';
import { runSearchShapes } from '../../../src/experiments/shapes/search/search.ts';
import { confirmPlan, runConfirmShapes } from '../../../src/experiments/shapes/search/confirm.ts';
import {
  MAP_BEST_SETTING,
  mergeSettingAtSteps,
  mergeSettingMethod,
  mergeSettingName,
} from '../../../src/toy/shapes/merge-setting.ts';
import { compareOnShapes, shapesSpatialMap } from '../../../src/toy/shapes/compare.ts';
import { makePromptSet } from '../../../src/toy/shapes/prompts.ts';
import { makeWorld } from '../../../src/toy/shapes/world.ts';

describe('merge settings in the Shapes world', () => {
  it('a setting becomes a method with its window, schedule, boxes map and restricted deviation step', () => {
    const m = mergeSettingMethod(
      {
        rule: 'slerp',
        weight: { kind: 'linear', from: 1, to: 0.5 },
        window: [2, 40],
        spatial: { feather: 1 },
        deviation: { mode: 'relative', lambda: 0.2, inMap: true },
      },
      ['layout', 'attribute'],
    );
    expect(m).toEqual({
      name: 'slerp w=1→0.5 linear [2,40) boxes f1 λ=0.2 in map',
      experts: ['layout', 'attribute'],
      rule: 'slerp',
      weights: [{ kind: 'linear', from: 1, to: 0.5 }],
      aggregateSteps: 40,
      windows: [[2, 40]],
      spatial: [{ instances: true, feather: 1 }],
      deviation: 'relative',
      eta: 0.2,
      spatialDeviation: true,
    });
    expect(mergeSettingName(MAP_BEST_SETTING)).toBe('lerp w=0.9 [0,40) everywhere η=0');
    expect(mergeSettingAtSteps(MAP_BEST_SETTING, 10).window).toEqual([0, 8]);
    expect(searchSpace()).toHaveLength(2 * 5 * 4 * (2 + 3 * 3));
    expect(new Set(searchSpace().map(mergeSettingName)).size).toBe(searchSpace().length);
  });

  it("the boxes map is 1 on the prompt's squares, feathered outside; an all-0 map equals the layout expert alone", async () => {
    const world = makeWorld();
    const prompts = makePromptSet(world, { seed: 3, count: 2, withStyle: true });
    const map = shapesSpatialMap(world, prompts[0], { instances: true, feather: 2 });
    const [x0, y0] = prompts[0].instances[0].box;
    expect(map[y0 * world.width + x0]).toBe(1);
    expect(map.every((v) => v >= 0 && v <= 1)).toBe(true);
    const zeros = { map: new Array(world.height * world.width).fill(0) };
    const r = await compareOnShapes({
      prompts,
      steps: 8,
      samplesPerPrompt: 2,
      keepImages: 2,
      methods: [
        { name: 'layout', experts: ['layout'] },
        {
          name: 'zero map',
          experts: ['layout', 'attribute'],
          aggregateSteps: 6,
          weights: 1,
          eta: 0.3,
          spatial: [zeros],
        },
      ],
    });
    expect(r.methods[1].images).toEqual(r.methods[0].images);
  });
});

describe('experiments search-shapes and confirm-shapes --quick', () => {
  it('the search writes its rounds and best settings; the confirmation reruns them on fresh prompts beside the baselines', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'amdm-search-'));
    const from = path.join(root, 'search');
    const lines: string[] = [];
    const quick = { quick: true, seed: 0 };
    const search = await runSearchShapes(searchPlan, { ...quick, out: from, log: (l) => lines.push(l) });
    expect(search.rounds.map((r) => r.budget)).toEqual([1, 2]);
    expect(search.rounds[0].rows.length).toBe(6); // the paper's point, the map's cell, 4 drawn
    expect(search.best).toHaveLength(2);
    expect(search.best.map((b) => b.name)).toEqual(search.rounds[1].kept.slice(0, 2));
    const c = await runConfirmShapes(confirmPlan, { ...quick, from, out: path.join(root, 'confirm'), log: () => {} });
    expect(c.rows.map((r) => r.method)).toEqual([
      'layout alone',
      'attribute alone',
      'AMDM paper',
      'AMDM map best',
      ...search.best.map((b, i) => `search #${i + 1}: ${b.name}`),
      'sum of scores (DDPM)',
      'sum of scores (DDIM η = 0)',
      'projective (loose background)',
      'FKC (N = B)',
    ]);
    expect(readFileSync(path.join(root, 'confirm', 'pareto.svg'), 'utf8')).toMatch(/^<svg/);
    await expect(
      runConfirmShapes(confirmPlan, {
        ...quick,
        from: path.join(root, 'nowhere'),
        out: path.join(root, 'c2'),
        log: () => {},
      }),
    ).rejects.toThrow(/run `npx amdm experiment search-shapes --quick` first/);
  });
});
