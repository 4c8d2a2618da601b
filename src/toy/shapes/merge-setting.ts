/**
 * A point of the merge search (`amdm experiment search-shapes`): where, when and how much the
 * other model is merged — the options beyond the paper (windows, weight schedules, spatial maps
 * from the prompt's boxes, the map-restricted deviation step) — and the Shapes method it stands
 * for. Shared by the search, its confirmation and the demo, which runs the best found setting.
 */
import type { WeightSchedule } from '../../core/sampler-types.ts';
import type { ShapesMethod } from './compare.ts';

export interface MergeSetting {
  rule: 'slerp' | 'lerp';
  /** w of the other model: a number, or a schedule over its window. */
  weight: number | WeightSchedule;
  /** The steps [start, end) of T it is merged on. */
  window: readonly [number, number];
  /** A map from the prompt's instance boxes with a feathered edge of `feather` pixels, or none (everywhere). */
  spatial: { feather: number } | null;
  /**
   * The deviation step: none (η = 0), the relative step's λ, restricted to the map or not, or
   * eq. 9 with η × √d (the paper's).
   */
  deviation: { mode: 'none' } | { mode: 'relative'; lambda: number; inMap: boolean } | { mode: 'eq9'; eta: number };
}

function weightLabel(w: MergeSetting['weight']): string {
  if (typeof w === 'number') return `w=${w}`;
  switch (w.kind) {
    case 'constant':
      return `w=${w.value}`;
    case 'linear':
      return `w=${w.from}→${w.to} linear`;
    case 'cosine':
      return `w=${w.from}→${w.to} cosine`;
    case 'list':
      return `w=[${w.values.join(',')}]`;
  }
}

/** "lerp w=0.9 [0,40) boxes f2 λ=0.2 in map". */
export function mergeSettingName(s: MergeSetting): string {
  const parts = [s.rule, weightLabel(s.weight), `[${s.window[0]},${s.window[1]})`];
  parts.push(s.spatial ? `boxes f${s.spatial.feather}` : 'everywhere');
  const d = s.deviation;
  parts.push(
    d.mode === 'none' ? 'η=0' : d.mode === 'eq9' ? `η=${d.eta}·√d` : `λ=${d.lambda}${d.inMap ? ' in map' : ''}`,
  );
  return parts.join(' ');
}

/**
 * The Shapes method of a setting with two experts (target first); a window's steps are at the
 * setting's T, so the method runs with T = `steps` ≥ the window's end.
 */
export function mergeSettingMethod(
  s: MergeSetting,
  experts: ShapesMethod['experts'],
  name = mergeSettingName(s),
): ShapesMethod {
  const others = experts.length - 1;
  const d = s.deviation;
  return {
    name,
    experts,
    rule: s.rule,
    weights: typeof s.weight === 'number' ? s.weight : new Array(others).fill(s.weight),
    aggregateSteps: s.window[1],
    windows: new Array(others).fill([s.window[0], s.window[1]]),
    ...(s.spatial ? { spatial: new Array(others).fill({ instances: true, feather: s.spatial.feather }) } : {}),
    ...(d.mode === 'none'
      ? { deviation: 'eq9' as const, eta: 0 }
      : d.mode === 'eq9'
        ? { deviation: 'eq9' as const, eta: d.eta, etaScale: 'sqrtDim' as const }
        : {
            deviation: 'relative' as const,
            eta: d.lambda,
            ...(d.inMap && s.spatial ? { spatialDeviation: true } : {}),
          }),
  };
}

/** The paper's point (slerp, w = 0.5, s = 20 of 50, η = 0.3·√d). */
export const PAPER_SETTING: MergeSetting = {
  rule: 'slerp',
  weight: 0.5,
  window: [0, 20],
  spatial: null,
  deviation: { mode: 'eq9', eta: 0.3 },
};

/** The best cell of `experiment map` (lerp, w = 0.9, s = 40 of 50, η = 0): the best without the new options. */
export const MAP_BEST_SETTING: MergeSetting = {
  rule: 'lerp',
  weight: 0.9,
  window: [0, 40],
  spatial: null,
  deviation: { mode: 'none' },
};

/** A setting chosen at T = 50 for a run of `steps` steps: the window's ends scaled (rounded), as s is. */
export function mergeSettingAtSteps(s: MergeSetting, steps: number): MergeSetting {
  if (steps === 50) return s;
  const scale = (v: number) => Math.round((v * steps) / 50);
  return { ...s, window: [scale(s.window[0]), scale(s.window[1])] };
}

/**
 * The best setting found by `npx amdm experiment search-shapes` (experiments/out/search-shapes)
 * and rerun on fresh prompts and seeds by `confirm-shapes` (EXPERIMENTS.md, experiment 13).
 */
export const SEARCH_BEST_SETTING: MergeSetting = {
  rule: 'slerp',
  weight: 0.9,
  window: [0, 45],
  spatial: { feather: 1 },
  deviation: { mode: 'none' },
};
