/**
 * What `amdm experiment search-shapes` searches (search.ts) and `confirm-shapes` reruns
 * (confirm.ts): the option grid of merge settings for layout ← attribute, the search's plan, and
 * a seeded draw of candidates from the grid.
 */
import { seededSample } from '../../search-common.ts';
import type { ExpertName } from '../../../toy/shapes/experts.ts';
import type { MergeSetting } from '../../../toy/shapes/merge-setting.ts';

/** The experts every setting merges: the layout expert the target, the attribute expert merged in. */
export const PAIR: ExpertName[] = ['layout', 'attribute'];
const STEPS = 50;

/** The option grid: 2 rules × 5 weights × 4 windows × 4 maps × 2–3 deviation steps. */
export function searchSpace(): MergeSetting[] {
  const weights: MergeSetting['weight'][] = [
    0.7,
    0.9,
    1,
    { kind: 'linear', from: 1, to: 0.5 },
    { kind: 'cosine', from: 1, to: 0.5 },
  ];
  const windows: [number, number][] = [
    [0, 30],
    [0, 40],
    [0, 45],
    [2, 40],
  ];
  const maps: MergeSetting['spatial'][] = [null, { feather: 0 }, { feather: 1 }, { feather: 2 }];
  const out: MergeSetting[] = [];
  for (const rule of ['lerp', 'slerp'] as const)
    for (const weight of weights)
      for (const window of windows)
        for (const spatial of maps) {
          const devs: MergeSetting['deviation'][] = [{ mode: 'none' }, { mode: 'relative', lambda: 0.2, inMap: false }];
          if (spatial) devs.push({ mode: 'relative', lambda: 0.2, inMap: true });
          for (const deviation of devs) out.push({ rule, weight, window, spatial, deviation });
        }
  return out;
}

/** The search's plan: candidates drawn from the grid, prompts per round, samples per prompt. */
export interface SearchPlan {
  /** Settings drawn from the grid (beside the paper's point and the map's best cell). */
  sampled: number;
  /** Prompts scored by the end of each round of successive halving. */
  budgets: number[];
  reduction: number;
  samples: number;
  steps: number;
  /** Settings the confirmation reruns. */
  keepBest: number;
}

export function searchPlan(quick: boolean): SearchPlan {
  return quick
    ? { sampled: 4, budgets: [1, 2], reduction: 3, samples: 1, steps: 10, keepBest: 2 }
    : { sampled: 52, budgets: [6, 12, 24], reduction: 3, samples: 2, steps: STEPS, keepBest: 3 };
}

/** `count` settings of the grid, drawn without replacement by a seeded shuffle. */
export function sampleSettings(count: number, seed: number): MergeSetting[] {
  return seededSample(searchSpace(), count, seed, 7);
}
