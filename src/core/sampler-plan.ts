/**
 * The plan of an AMDM run (paper Algorithm 1): every option of `sampleAMDM` / `sampleDDIM`
 * checked and resolved once, before a buffer is allocated or a model runs — the timesteps and
 * DDIM coefficients (eq. 4/6) of each step taken, the models evaluated in it, and for the first
 * s steps the weights of eq. 8 and the η of eq. 9 per model. The plan is frozen; the sampling
 * loop only reads it. The SD pipeline resolves one to check a job's sampler settings without
 * running a model (`models` may then be just their number).
 */
import { makeSchedule, prevTimestep, type NoiseSchedule } from './schedule.ts';
import { ddimCoefficients } from './ddim.ts';
import { foldWeightsToSymmetric } from './rules.ts';
import { resolveRule } from './rule-registry.ts';
import { resolveBackend, type KernelBackend } from './backend.ts';
import { AMDM_DEFAULTS } from './defaults.ts';
import { checkInt, checkNumber, checkOneOf, describe } from './validate.ts';
import type { AggregationRule } from './types.ts';
import type { AMDMPlan, AMDMPlanOptions, PlannedStep } from './sampler-plan-types.ts';
import {
  checkConcurrent,
  checkLatents,
  checkModels,
  checkShape,
  resolveDeviation,
  resolveSpatial,
  resolveStreams,
  resolveTimesteps,
  resolveWindows,
  type DeviationSettings,
} from './sampler-plan-checks.ts';
import { makeEta, makeWeights, type WeightContext } from './sampler-plan-weights.ts';

export type { AMDMPlan, AMDMPlanOptions, PlannedStep } from './sampler-plan-types.ts';

/** Checks every option of an AMDM run and resolves the frozen plan its loop reads. */
export function resolveAMDMPlan(opts: AMDMPlanOptions): AMDMPlan {
  const c = resolveSettings(opts);
  const { N, target, batch, dim } = c;
  const spatial = resolveSpatial(opts, N, target, c.rule);
  const steps = planSteps(opts, c);
  const latents = checkLatents(opts.latents, N, batch, dim);
  const seed =
    latents === null || c.ddimEta > 0
      ? checkInt('seed', opts.seed ?? AMDM_DEFAULTS.seed, 0, Number.MAX_SAFE_INTEGER)
      : null;
  const others: number[] = [];
  for (let k = 0; k < N; k++) if (k !== target) others.push(k);
  return deepFreeze({
    N,
    target,
    others,
    T: c.T,
    s: c.s,
    timesteps: c.timesteps,
    steps,
    shape: [...opts.shape],
    batch,
    dim,
    size: batch * dim,
    ddimEta: c.ddimEta,
    deviation: c.mode,
    clip: c.clip,
    rule: c.rule,
    kernels: c.kernels,
    concurrent: c.concurrent,
    seed,
    streams: resolveStreams(opts.streams, N, target, others),
    latents,
    windows: c.windows,
    ...spatial,
  });
}

/** The run's checked settings that the steps are planned from. */
interface StepContext extends DeviationSettings, WeightContext {
  schedule: NoiseSchedule;
  timesteps: readonly number[];
  prevMode: 'diffusers' | 'next';
  startStep: number;
  s: number;
  ddimEta: number;
  rule: AggregationRule;
  batch: number;
  dim: number;
  kernels: KernelBackend;
  concurrent: boolean;
}

/** The run's settings, each option checked in turn (the order the errors come in), before the steps are planned. */
function resolveSettings(opts: AMDMPlanOptions): StepContext {
  const N = checkModels(opts.models);
  const target = checkInt('target', opts.target ?? AMDM_DEFAULTS.target, 0, N - 1);
  const schedule = opts.schedule ?? makeSchedule();
  const T = checkInt('steps', opts.steps, 1, schedule.alphasCumprod.length);
  const s = checkInt('aggregateSteps', opts.aggregateSteps, 0, T);
  const batch = checkInt('batch', opts.batch ?? AMDM_DEFAULTS.batch, 1);
  const dim = checkShape(opts.shape);
  const ddimEta = checkNumber('ddimEta', opts.ddimEta ?? AMDM_DEFAULTS.ddimEta, 0, 1);
  const deviation = resolveDeviation(opts, dim);
  const rule = resolveRule(opts.rule);
  const kernels = resolveBackend(opts.backend);
  if (opts.clipDeviation !== undefined && typeof opts.clipDeviation !== 'boolean')
    throw new TypeError(`clipDeviation must be a boolean, got ${describe(opts.clipDeviation)}`);
  const prevMode = checkOneOf('prevTimestep', opts.prevTimestep ?? 'diffusers', ['diffusers', 'next'] as const);
  const timesteps = resolveTimesteps(opts, schedule, T);
  const startStep = checkInt('startStep', opts.startStep ?? 0, 0, T);
  const concurrent = checkConcurrent(opts);
  const windows = resolveWindows(opts.windows, { N, target, T, s });
  return {
    ...{ N, target, schedule, T, s, batch, dim, ddimEta, ...deviation, rule, kernels },
    ...{ prevMode, timesteps, startStep, concurrent, windows },
  };
}

/** The steps startStep … T − 1: coefficients, active models, and the checked w and η of the merged steps. */
function planSteps(opts: AMDMPlanOptions, c: StepContext): PlannedStep[] {
  const weightsAt = makeWeights(opts.weights, c);
  const etaAt = makeEta(opts.eta, c.N, c.T, c.mode === 'relative');
  const all = Array.from({ length: c.N }, (_, k) => k);
  const others = all.filter((k) => k !== c.target);
  const none: number[] = [];
  const steps: PlannedStep[] = [];
  for (let i = c.startStep; i < c.T; i++) {
    const inWindow = (k: number) => c.windows[k][0] <= i && i < c.windows[k][1];
    const merged = others.filter(inWindow);
    const aggregate = merged.length > 0;
    // with one model the weights and η of the first s steps are still checked, though unused
    const checked = aggregate || (c.N === 1 && i < c.s);
    const weights = checked ? weightsAt(i).map((w, j) => (inWindow(others[j]) ? w : 0)) : none;
    const etas = checked ? all.map((k) => etaAt(i, k) * c.etaFactor) : none;
    const foldWeights = merged.map((k) => weights[others.indexOf(k)]);
    steps.push({
      index: i,
      ddim: ddimCoefficients(
        c.schedule,
        c.timesteps[i],
        prevTimestep(c.schedule, c.timesteps, i, c.prevMode),
        c.ddimEta,
      ),
      active: all.filter((k) => k === c.target || inWindow(k)),
      merged,
      joining: merged.filter((k) => c.windows[k][0] === i && i > c.startStep),
      aggregate,
      weights: aggregate ? weights : none,
      foldWeights,
      symmetricWeights: aggregate && c.rule.symmetric ? foldWeightsToSymmetric(foldWeights) : none,
      etas: aggregate ? etas : none,
    });
  }
  return steps;
}

/** Freezes the plan, its steps and their arrays (the latents given are the caller's: not frozen). */
function deepFreeze(plan: AMDMPlan): AMDMPlan {
  for (const step of plan.steps) {
    for (const a of [step.merged, step.joining, step.foldWeights]) Object.freeze(a);
    Object.freeze(step.active);
    Object.freeze(step.weights);
    Object.freeze(step.symmetricWeights);
    Object.freeze(step.etas);
    Object.freeze(step);
  }
  for (const w of plan.windows) Object.freeze(w);
  for (const a of [plan.others, plan.timesteps, plan.steps, plan.shape, plan.streams, plan.maps, plan.windows])
    Object.freeze(a);
  if (plan.latents) Object.freeze(plan.latents);
  return Object.freeze(plan);
}
