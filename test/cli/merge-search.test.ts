import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { pairedDiff, paretoFrontier, successiveHalving } from '../../src/cli/merge-search.ts';
import { searchSpace } from '../../src/cli/experiment-search.ts';
import {
  MAP_BEST_SETTING,
  mergeSettingAtSteps,
  mergeSettingMethod,
  mergeSettingName,
} from '../../src/toy/shapes/merge-setting.ts';
import { compareOnShapes, shapesSpatialMap } from '../../src/toy/shapes/compare.ts';
import { makePromptSet } from '../../src/toy/shapes/prompts.ts';
import { makeWorld } from '../../src/toy/shapes/world.ts';

describe('successiveHalving', () => {
  it('scores each candidate on growing prefixes of one unit set, keeps ⌈n/η⌉, ranks inadmissible ones last', async () => {
    // candidate i succeeds on unit u with a fixed pattern; 'noisy' is best but fails the guard
    const quality: Record<string, number> = { a: 0.2, b: 0.5, c: 0.8, d: 0.4, noisy: 1 };
    const calls: [string[], number, number][] = [];
    const rounds = await successiveHalving({
      candidates: Object.keys(quality).map((name) => ({ name, setting: quality[name] })),
      budgets: [4, 8, 12],
      reduction: 2,
      evaluate: async (cands, from, to) => {
        calls.push([cands.map((c) => c.name), from, to]);
        return cands.map((c) => ({
          values: Array.from({ length: to - from }, (_, i) => (((from + i) % 10) / 10 < c.setting ? 1 : 0)),
          guard: Array.from({ length: to - from }, () => (c.name === 'noisy' ? 0 : 1)),
        }));
      },
    });
    expect(calls).toEqual([
      [['a', 'b', 'c', 'd', 'noisy'], 0, 4],
      [['b', 'c', 'd'], 4, 8],
      [['b', 'c'], 8, 12],
    ]);
    // b, c and d tie on the first 4 units (all 1): input order breaks the tie
    expect(rounds[0].rows.map((r) => r.name)).toEqual(['b', 'c', 'd', 'a', 'noisy']);
    expect(rounds[0].rows.at(-1)!.admissible).toBe(false);
    expect(rounds[2].kept).toEqual(['c', 'b']);
    // the vector grows with the rounds: units 0 … 11 of c
    expect(rounds[2].rows[0].values).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1]);
    expect(rounds[2].rows[0].objective.value).toBeCloseTo(10 / 12, 12);
  });
  it('names bad budgets and duplicate candidates', async () => {
    const evaluate = async () => [];
    await expect(
      successiveHalving({ candidates: [{ name: 'a', setting: 0 }], budgets: [4, 4], reduction: 2, evaluate }),
    ).rejects.toThrow('budgets[1] must be an integer in [5, 9007199254740991], got 4');
    await expect(
      successiveHalving({
        candidates: [
          { name: 'a', setting: 0 },
          { name: 'a', setting: 1 },
        ],
        budgets: [1],
        reduction: 2,
        evaluate,
      }),
    ).rejects.toThrow('candidate names must be unique');
  });
});

describe('paired differences and the Pareto frontier', () => {
  it('pairedDiff is the mean of the differences with its standard error', () => {
    const d = pairedDiff([1, 1, 0, 1], [0, 1, 0, 0]);
    expect(d.value).toBe(0.5);
    expect(d.se).toBeCloseTo(Math.sqrt(1 / 3) / 2, 12);
    expect(() => pairedDiff([1], [1, 0])).toThrow('paired vectors must score the same items (1 vs 2)');
  });
  it('the frontier holds exactly the undominated points', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 9 })), { minLength: 1 }),
        (pts) => {
          const front = paretoFrontier(
            pts,
            (p) => p[0],
            (p) => p[1],
          );
          const dominated = (p: [number, number]) =>
            pts.some((q) => q[0] >= p[0] && q[1] >= p[1] && (q[0] > p[0] || q[1] > p[1]));
          for (const p of pts) expect(front.includes(p)).toBe(!dominated(p));
          expect(front.length).toBeGreaterThan(0);
        },
      ),
    );
  });
});

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
    const { mkdtempSync, readFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const { runSearchShapes, runConfirmShapes } = await import('../../src/cli/experiment-search.ts');
    const root = mkdtempSync(path.join(tmpdir(), 'amdm-search-'));
    const from = path.join(root, 'search');
    const lines: string[] = [];
    const search = await runSearchShapes({ quick: true, out: from, progress: false, log: (l) => lines.push(l) });
    expect(search.rounds.map((r) => r.budget)).toEqual([1, 2]);
    expect(search.rounds[0].rows.length).toBe(6); // the paper's point, the map's cell, 4 drawn
    expect(search.best).toHaveLength(2);
    expect(search.best.map((b) => b.name)).toEqual(search.rounds[1].kept.slice(0, 2));
    const c = await runConfirmShapes({ quick: true, from, out: path.join(root, 'confirm'), log: () => {} });
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
    await expect(runConfirmShapes({ quick: true, from: path.join(root, 'nowhere'), log: () => {} })).rejects.toThrow(
      /run `npx amdm experiment search-shapes --quick` first/,
    );
  });
});
