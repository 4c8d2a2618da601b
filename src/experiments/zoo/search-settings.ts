/**
 * A point of the zoo's merge search (`amdm zoo search`, `amdm zoo confirm`): where, when and how
 * much MIGC-mini is merged into InteractDiffusion-mini (the target) — rule, weight or ramp, window,
 * a map from the prompt's instance boxes, the deviation step — as the zoo method it stands for
 * (`interact+migc@…`, zoo-methods.ts with merge-options.ts) and as a generate job's options (the
 * playground). Also the fixed settings the search starts from and the confirmed best. No
 * command-line module is imported here: the demo and the playground read it.
 */
import type { RuleName } from '../../core/rules.ts';
import type { WeightSchedule } from '../../core/sampler-types.ts';
import type { DeviationMode } from '../../core/deviation.ts';
import { mergeSettingName } from '../../toy/shapes/merge-setting.ts';
import type { Scene } from '../../toy/minimig/world.ts';
import { beyondRunOptions, type BeyondOptions, type BeyondRunOptions, type ZooMapKind } from './merge-options.ts';

/** The steps a setting's window is given at (the paper's T); windows scale with the run's T. */
export const SETTING_STEPS = 50;

export interface ZooMergeSetting {
  rule: 'slerp' | 'lerp';
  /** w of MIGC-mini: a number, or a ramp from `from` to `to` over its window. */
  weight: number | { kind: 'linear' | 'cosine'; from: number; to: number };
  /** The steps [start, end) of T = 50 it is merged on. */
  window: readonly [number, number];
  /** Only inside the prompt's instance boxes (the dots' cells left to the target with boxes-dots), or everywhere. */
  map: { kind: ZooMapKind; feather: number } | null;
  /** None (η = 0), the relative step's λ (restricted to the map or not), or eq. 9 with η·√d (the paper's). */
  deviation: { mode: 'none' } | { mode: 'relative'; lambda: number; inMap: boolean } | { mode: 'eq9'; eta: number };
}

/** The paper's point: slerp, w = 0.5, s = 20 of 50, η = 0.3·√d. */
export const ZOO_PAPER_SETTING: ZooMergeSetting = {
  rule: 'slerp',
  weight: 0.5,
  window: [0, 20],
  map: null,
  deviation: { mode: 'eq9', eta: 0.3 },
};

/** The zoo map's best cell (experiments 11–12: the most instance success with clean images): lerp, w = 0.9, s = 40, η = 0. */
export const ZOO_MAP_BEST_SETTING: ZooMergeSetting = {
  rule: 'lerp',
  weight: 0.9,
  window: [0, 40],
  map: null,
  deviation: { mode: 'none' },
};

/** The zoo map's middle cell (slerp, w = 0.5, s = 40, η = 0): the only one with a relation right under the strict evaluator (experiment 8 rerun). */
export const ZOO_MAP_MIDDLE_SETTING: ZooMergeSetting = {
  rule: 'slerp',
  weight: 0.5,
  window: [0, 40],
  map: null,
  deviation: { mode: 'none' },
};

/** The setting at T steps: the window's ends scaled from T = 50 (rounded), as s is. */
export function zooSettingAtSteps(s: ZooMergeSetting, steps: number): ZooMergeSetting {
  if (steps === SETTING_STEPS) return s;
  const scale = (v: number) => Math.round((v * steps) / SETTING_STEPS);
  return { ...s, window: [scale(s.window[0]), scale(s.window[1])] };
}

/** "slerp w=0.9 [0,45) boxes f1 η=0" (boxes-dots for the map that leaves the dots to the target). */
export function zooSettingLabel(s: ZooMergeSetting): string {
  const name = mergeSettingName({ ...s, spatial: s.map && { feather: s.map.feather } });
  return s.map?.kind === 'boxes-dots' ? name.replace(' boxes f', ' boxes-dots f') : name;
}

/** The settings beyond the paper, as merge-options.ts reads them (window start, ramp, map). */
export function zooSettingBeyond(s: ZooMergeSetting): BeyondOptions {
  const b: BeyondOptions = {};
  if (s.window[0] > 0) b.start = s.window[0];
  if (typeof s.weight !== 'number') Object.assign(b, { schedule: s.weight.kind, wEnd: s.weight.to });
  if (s.map) Object.assign(b, { map: s.map.kind, feather: s.map.feather });
  if (s.map && s.deviation.mode === 'relative' && s.deviation.inMap) b.mapDeviation = true;
  return b;
}

/** The paper's knobs of a setting: rule, w (the ramp's start), s = the window's end, the deviation step. */
function paperKnobs(s: ZooMergeSetting) {
  const d = s.deviation;
  return {
    rule: s.rule as RuleName,
    w: typeof s.weight === 'number' ? s.weight : s.weight.from,
    s: s.window[1],
    eta: d.mode === 'none' ? 0 : d.mode === 'eq9' ? d.eta : d.lambda,
    deviation: (d.mode === 'relative' ? 'relative' : 'eq9') as DeviationMode,
  };
}

/**
 * The zoo method of a setting at T steps: `interact+migc@rule=…,w=…,s=…,eta=…` and the keys
 * beyond the paper (start, sched, wend, map, feather, mapdev) where they differ from the paper's.
 */
export function zooSettingMethod(setting: ZooMergeSetting, steps = SETTING_STEPS): string {
  const s = zooSettingAtSteps(setting, steps);
  const k = paperKnobs(s);
  const b = zooSettingBeyond(s);
  const parts = [`rule=${k.rule}`, `w=${k.w}`, `s=${k.s}`, `eta=${k.eta}`];
  if (k.deviation === 'relative') parts.push('deviation=relative');
  if (b.start !== undefined) parts.push(`start=${b.start}`);
  if (b.schedule !== undefined) parts.push(`sched=${b.schedule}`, `wend=${b.wEnd}`);
  if (b.map !== undefined) parts.push(`map=${b.map}`, `feather=${b.feather}`);
  if (b.mapDeviation) parts.push('mapdev=1');
  return `interact+migc@${parts.join(',')}`;
}

/**
 * A generate job's AMDM options for a setting on one prompt's scene at T steps (the playground's
 * jobs): the same run options the zoo method's name gives (`zooSettingMethod`, zoo-methods.ts).
 */
export function zooSettingRunOptions(
  setting: ZooMergeSetting,
  scene: Scene,
  steps: number,
): Omit<BeyondRunOptions, 'weights'> & {
  aggregateSteps: number;
  weights: number[] | WeightSchedule[];
  eta: number;
  deviation: DeviationMode;
  etaScale?: 'sqrtDim';
  rule: RuleName;
} {
  const s = zooSettingAtSteps(setting, steps);
  const k = paperKnobs(s);
  const aggregateSteps = Math.min(k.s, steps);
  const beyond = beyondRunOptions(zooSettingBeyond(s), { scene, s: aggregateSteps, weights: [k.w] });
  return {
    aggregateSteps,
    eta: k.eta,
    deviation: k.deviation,
    ...(k.deviation === 'eq9' ? { etaScale: 'sqrtDim' as const } : {}),
    rule: k.rule,
    ...beyond,
    weights: beyond.weights ?? [k.w],
  };
}

/**
 * The option grid of the search: 2 rules × 5 weights × 5 windows × 5 maps × 2 deviation steps
 * (η = 0, or the relative step λ = 0.2, restricted to the map where there is one).
 */
export function zooSearchSpace(): ZooMergeSetting[] {
  const weights: ZooMergeSetting['weight'][] = [
    0.5,
    0.7,
    0.9,
    { kind: 'linear', from: 0.9, to: 0.3 },
    { kind: 'cosine', from: 0.9, to: 0.3 },
  ];
  const windows: [number, number][] = [
    [0, 20],
    [0, 30],
    [0, 40],
    [0, 45],
    [10, 40],
  ];
  const maps: ZooMergeSetting['map'][] = [
    null,
    { kind: 'boxes', feather: 0 },
    { kind: 'boxes', feather: 1 },
    { kind: 'boxes-dots', feather: 0 },
    { kind: 'boxes-dots', feather: 1 },
  ];
  const out: ZooMergeSetting[] = [];
  for (const rule of ['slerp', 'lerp'] as const)
    for (const weight of weights)
      for (const window of windows)
        for (const map of maps)
          for (const deviation of [
            { mode: 'none' as const },
            { mode: 'relative' as const, lambda: 0.2, inMap: map !== null },
          ])
            out.push({ rule, weight, window, map, deviation });
  return out;
}

/**
 * The best setting of `npx amdm zoo search` (experiments/out/search-zoo), rerun on fresh prompts
 * and noise by `npx amdm zoo confirm` (experiments/out/confirm-zoo; EXPERIMENTS.md, experiment
 * 14): MIGC-mini merged on the first 20 steps, inside the prompt's boxes only (1-cell feathered
 * edge), with the cells under each "looking at" dot left to the target, lerp with w ramped from
 * 0.9 to 0.3 on a cosine, each model pulled λ = 0.2 of the way to its own mean inside the map.
 * On the 36 fresh prompts: relation success 0.259 ± 0.060 and image success 0.222 ± 0.069, against
 * InteractDiffusion-mini alone's 0.241 and 0.194 (+0.019 ± 0.049 and +0.028 ± 0.063 paired, not
 * resolved; the goal was +0.10), with instance success 0.593 against 0.500.
 */
export const ZOO_SEARCH_BEST_SETTING: ZooMergeSetting = {
  rule: 'lerp',
  weight: { kind: 'cosine', from: 0.9, to: 0.3 },
  window: [0, 20],
  map: { kind: 'boxes-dots', feather: 1 },
  deviation: { mode: 'relative', lambda: 0.2, inMap: true },
};

/** Settings drawn from the grid, prompts scored by the end of each round (a multiple of 3: one per level), and T. */
export function zooSearchPlan(quick: boolean) {
  return quick
    ? { sampled: 2, budgets: [3, 6], reduction: 2, steps: 4, keepBest: 2, guardMin: 0.8 }
    : { sampled: 51, budgets: [9, 18, 45], reduction: 3, steps: 50, keepBest: 3, guardMin: 0.8 };
}
export type ZooSearchPlan = ReturnType<typeof zooSearchPlan>;
