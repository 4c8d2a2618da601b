/**
 * The plan of an AMDM run (paper Algorithm 1): every option of `sampleAMDM` / `sampleDDIM`
 * checked and resolved once, before a buffer is allocated or a model runs — the timesteps and
 * DDIM coefficients (eq. 4/6) of each step taken, the models evaluated in it, and for the first
 * s steps the weights of eq. 8 and the η of eq. 9 per model. The plan is frozen; the sampling
 * loop only reads it. The SD pipeline resolves one to check a job's sampler settings without
 * running a model (`models` may then be just their number).
 */
import type { AggregationRule, Denoiser } from './types.ts';
import type { AMDMOptions } from './sampler-types.ts';
import { makeSchedule, prevTimestep, timesteps as makeTimesteps, type NoiseSchedule } from './schedule.ts';
import { ddimCoefficients, type DDIMCoefficients } from './ddim.ts';
import { DEVIATION_MODES, type DeviationMode } from './deviation.ts';
import { foldWeightsToSymmetric } from './rules.ts';
import { resolveRule } from './rule-registry.ts';
import { resolveBackend, type KernelBackend } from './backend.ts';
import { AMDM_DEFAULTS } from './defaults.ts';
import { firstNonFinite } from './tensor.ts';
import { checkInt, checkNumber, checkOneOf, describe } from './validate.ts';

/** The options a plan is resolved from: `sampleAMDM`'s, with `models` possibly just their number. */
export type AMDMPlanOptions = Omit<AMDMOptions, 'models' | 'onStep' | 'signal'> & {
  /** The N ≥ 1 denoisers, or N alone when only the settings are checked. */
  models: readonly Denoiser[] | number;
};

/** One step of the run: step i of T, from t = timesteps[i] to tPrev. */
export interface PlannedStep {
  readonly index: number;
  /** DDIM coefficients of the step (eq. 4/6), with its t and tPrev. */
  readonly ddim: DDIMCoefficients;
  /** The models evaluated: all N in the first s steps, afterwards the target alone. */
  readonly active: readonly number[];
  /** i < s and N ≥ 2: the proposals are merged (eq. 8) and deviated (eq. 9). */
  readonly aggregate: boolean;
  /** w per non-target model in model order (eq. 8); empty when the step does not aggregate. */
  readonly weights: readonly number[];
  /** A symmetric rule's N weights, target first (`foldWeightsToSymmetric(weights)`); else empty. */
  readonly symmetricWeights: readonly number[];
  /** Per model: the eq. 9 step length (η, × √d with etaScale 'sqrtDim'), or λ with deviation 'relative'. */
  readonly etas: readonly number[];
}

export interface AMDMPlan {
  /** N models, the target's index, the others in model order (the fold order after the target). */
  readonly N: number;
  readonly target: number;
  readonly others: readonly number[];
  /** T steps, aggregation in steps 0 … s − 1. */
  readonly T: number;
  readonly s: number;
  readonly timesteps: readonly number[];
  /** The steps taken: startStep … T − 1. */
  readonly steps: readonly PlannedStep[];
  readonly shape: readonly number[];
  readonly batch: number;
  /** Elements per sample and per model tensor (batch · dim). */
  readonly dim: number;
  readonly size: number;
  readonly ddimEta: number;
  readonly deviation: DeviationMode;
  /** eq. 9 only: stop the step at μₖ. */
  readonly clip: boolean;
  readonly rule: AggregationRule;
  readonly kernels: KernelBackend;
  readonly concurrent: boolean;
  /** The seed of the noise, or null when no noise is drawn (latents given, η_ddim = 0). */
  readonly seed: number | null;
  /** Each model's RNG stream. */
  readonly streams: readonly number[];
  /** The initial latents given, one per model (checked), or null to draw them. */
  readonly latents: readonly Float32Array[] | null;
}

const ETA_SCALES = ['absolute', 'sqrtDim'] as const;

/** Checks every option of an AMDM run and resolves the frozen plan its loop reads. */
export function resolveAMDMPlan(opts: AMDMPlanOptions): AMDMPlan {
  const N = checkModels(opts.models);
  const target = checkInt('target', opts.target ?? AMDM_DEFAULTS.target, 0, N - 1);
  const schedule = opts.schedule ?? makeSchedule();
  const T = checkInt('steps', opts.steps, 1, schedule.alphasCumprod.length);
  const s = checkInt('aggregateSteps', opts.aggregateSteps, 0, T);
  const batch = checkInt('batch', opts.batch ?? AMDM_DEFAULTS.batch, 1);
  if (!Array.isArray(opts.shape) || opts.shape.length < 1)
    throw new TypeError(`shape must be a non-empty array of positive integers, got ${describe(opts.shape)}`);
  opts.shape.forEach((d, i) => checkInt(`shape[${i}]`, d, 1));
  const dim = opts.shape.reduce((a, b) => a * b, 1);
  const ddimEta = checkNumber('ddimEta', opts.ddimEta ?? AMDM_DEFAULTS.ddimEta, 0, 1);
  const deviation = resolveDeviation(opts, dim);
  const rule = resolveRule(opts.rule);
  const kernels = resolveBackend(opts.backend);
  if (opts.clipDeviation !== undefined && typeof opts.clipDeviation !== 'boolean')
    throw new TypeError(`clipDeviation must be a boolean, got ${describe(opts.clipDeviation)}`);
  const prevMode = checkOneOf('prevTimestep', opts.prevTimestep ?? 'diffusers', ['diffusers', 'next'] as const);
  const timesteps = resolveTimesteps(opts, schedule, T);
  const startStep = checkInt('startStep', opts.startStep ?? 0, 0, T);
  const others: number[] = [];
  for (let k = 0; k < N; k++) if (k !== target) others.push(k);
  const concurrent = checkConcurrent(opts);
  const steps = planSteps(opts, {
    schedule,
    timesteps,
    prevMode,
    startStep,
    N,
    T,
    s,
    target,
    ddimEta,
    rule,
    ...deviation,
  });
  const latents = checkLatents(opts.latents, N, batch, dim);
  const seed =
    latents === null || ddimEta > 0
      ? checkInt('seed', opts.seed ?? AMDM_DEFAULTS.seed, 0, Number.MAX_SAFE_INTEGER)
      : null;
  const streams = resolveStreams(opts.streams, N, target, others);
  return deepFreeze({
    N,
    target,
    others,
    T,
    s,
    timesteps,
    steps,
    shape: [...opts.shape],
    batch,
    dim,
    size: batch * dim,
    ddimEta,
    deviation: deviation.mode,
    clip: deviation.clip,
    rule,
    kernels,
    concurrent,
    seed,
    streams,
    latents,
  });
}

function checkModels(models: AMDMPlanOptions['models']): number {
  if (typeof models === 'number') return checkInt('models', models, 1);
  if (!Array.isArray(models) || models.length < 1)
    throw new RangeError(`models must be an array of ≥ 1 Denoiser, got ${describe(models)}`);
  models.forEach((m, k) => {
    if (!m || typeof (m as Denoiser).eps !== 'function')
      throw new TypeError(`models[${k}] must be a Denoiser with an eps(x, t, batch) method`);
  });
  return models.length;
}

function checkConcurrent(opts: AMDMPlanOptions): boolean {
  if (opts.concurrent !== undefined && typeof opts.concurrent !== 'boolean')
    throw new TypeError(`concurrent must be a boolean, got ${describe(opts.concurrent)}`);
  const concurrent = opts.concurrent ?? false;
  if (concurrent && Array.isArray(opts.models) && new Set(opts.models).size !== opts.models.length) {
    throw new RangeError(
      'concurrent: true needs distinct denoiser objects (one may reuse its output buffer between calls); pass separate instances',
    );
  }
  return concurrent;
}

interface DeviationSettings {
  mode: DeviationMode;
  /** ×√d for eq. 9 with etaScale 'sqrtDim', else 1. */
  etaFactor: number;
  clip: boolean;
}

/** The deviation step (eq. 9 or the relative variant) and what scales and clips its η. */
function resolveDeviation(opts: AMDMPlanOptions, dim: number): DeviationSettings {
  const mode = checkOneOf('deviation', opts.deviation ?? AMDM_DEFAULTS.deviation, DEVIATION_MODES);
  const relative = mode === 'relative';
  if (relative && opts.etaScale !== undefined) {
    throw new TypeError(
      `etaScale applies only to deviation 'eq9'; with deviation 'relative' eta is the fraction λ ∈ [0, 1] of the way to μ, whatever the latent's size: leave etaScale unset, got ${describe(opts.etaScale)}`,
    );
  }
  if (relative && opts.clipDeviation !== undefined) {
    throw new TypeError(
      `clipDeviation applies only to deviation 'eq9' (the relative step never passes μ): leave it unset, got ${describe(opts.clipDeviation)}`,
    );
  }
  const etaScale = checkOneOf('etaScale', opts.etaScale ?? AMDM_DEFAULTS.etaScale, ETA_SCALES);
  return {
    mode,
    etaFactor: !relative && etaScale === 'sqrtDim' ? Math.sqrt(dim) : 1,
    clip: opts.clipDeviation === true,
  };
}

/** The T timesteps visited: the given list (checked), else the schedule's for T steps. */
function resolveTimesteps(opts: AMDMPlanOptions, schedule: NoiseSchedule, T: number): number[] {
  if (opts.timesteps === undefined) return makeTimesteps(schedule, T, { spacing: opts.spacing, offset: opts.offset });
  if (opts.spacing !== undefined || opts.offset !== undefined) {
    throw new TypeError('spacing and offset choose the timesteps; with timesteps given leave them unset');
  }
  const ts = opts.timesteps;
  const last = schedule.alphasCumprod.length - 1;
  const what = `timesteps must be the T = ${T} timesteps of the run, integers in [0, ${last}] in sampling (decreasing) order`;
  if (!Array.isArray(ts) || ts.length !== T) throw new RangeError(`${what}, got ${describe(ts)}`);
  ts.forEach((t, i) => {
    if (!Number.isInteger(t) || t < 0 || t > last || (i > 0 && t >= ts[i - 1]))
      throw new RangeError(`${what}, got timesteps[${i}] = ${describe(t)}`);
  });
  return [...ts];
}

interface StepContext extends DeviationSettings {
  schedule: NoiseSchedule;
  timesteps: readonly number[];
  prevMode: 'diffusers' | 'next';
  startStep: number;
  N: number;
  T: number;
  s: number;
  target: number;
  ddimEta: number;
  rule: AggregationRule;
}

/** The steps startStep … T − 1: coefficients, active models, and the checked w and η of the first s. */
function planSteps(opts: AMDMPlanOptions, c: StepContext): PlannedStep[] {
  const weightsAt = makeWeights(opts.weights, c.N - 1, c.T);
  const etaAt = makeEta(opts.eta, c.N, c.T, c.mode === 'relative');
  const all = Array.from({ length: c.N }, (_, k) => k);
  const targetOnly = [c.target];
  const none: number[] = [];
  const steps: PlannedStep[] = [];
  for (let i = c.startStep; i < c.T; i++) {
    const first = i < c.s;
    const aggregate = first && c.N >= 2;
    // the weights and η of the first s steps are checked even where they go unused (N = 1)
    const weights = first ? weightsAt(i) : none;
    const etas = first ? all.map((k) => etaAt(i, k) * c.etaFactor) : none;
    steps.push({
      index: i,
      ddim: ddimCoefficients(
        c.schedule,
        c.timesteps[i],
        prevTimestep(c.schedule, c.timesteps, i, c.prevMode),
        c.ddimEta,
      ),
      active: first ? all : targetOnly,
      aggregate,
      weights: aggregate ? weights : none,
      symmetricWeights: aggregate && c.rule.symmetric ? foldWeightsToSymmetric(weights) : none,
      etas: aggregate ? etas : none,
    });
  }
  return steps;
}

function makeWeights(spec: AMDMOptions['weights'], count: number, T: number): (step: number) => number[] {
  const fixed = (v: number | readonly number[], where: string): number[] => {
    if (typeof v === 'number') return new Array<number>(count).fill(checkNumber(`weights${where}`, v, 0, 1));
    if (!Array.isArray(v))
      throw new TypeError(
        `weights${where} must be a number or an array of ${count} numbers in [0, 1], got ${describe(v)}`,
      );
    if (v.length !== count)
      throw new RangeError(`weights${where} must hold ${count} number(s) (one per non-target model), got ${v.length}`);
    return v.map((x, j) => checkNumber(`weights${where}[${j}]`, x, 0, 1));
  };
  if (typeof spec === 'function') {
    return (step) => fixed(spec(step), ` (step ${step} of ${T})`);
  }
  const w = fixed(spec ?? AMDM_DEFAULTS.weight, '');
  return () => w;
}

/**
 * η per (step, model), each checked against [0, ∞), or against [0, 1] when it is the relative
 * step's λ (the error then says so).
 */
function makeEta(
  spec: AMDMOptions['eta'],
  N: number,
  T: number,
  relative: boolean,
): (step: number, model: number) => number {
  const max = relative ? 1 : Infinity;
  const what = relative ? " (λ of deviation 'relative')" : '';
  if (spec === undefined) return () => AMDM_DEFAULTS.eta;
  if (typeof spec === 'number') {
    const v = checkNumber(`eta${what}`, spec, 0, max);
    return () => v;
  }
  if (typeof spec === 'function') {
    return (step, k) => checkNumber(`eta${what} (step ${step} of ${T}, model ${k})`, spec(step, k), 0, max);
  }
  if (!Array.isArray(spec))
    throw new TypeError(`eta must be a number, an array of ${N} numbers or a function, got ${describe(spec)}`);
  if (spec.length !== N) throw new RangeError(`eta must hold ${N} number(s) (one per model), got ${spec.length}`);
  const v = spec.map((x, k) => checkNumber(`eta[${k}]${what}`, x, 0, max));
  return (_, k) => v[k];
}

/** The given initial latents as one tensor per model (a single tensor serves every model), or null. */
function checkLatents(given: AMDMOptions['latents'], N: number, batch: number, dim: number): Float32Array[] | null {
  const n = batch * dim;
  if (given === undefined) return null;
  if (given instanceof Float32Array) {
    if (given.length !== n)
      throw new RangeError(`latents must have length batch·dim = ${batch}·${dim} = ${n}, got ${given.length}`);
    return new Array<Float32Array>(N).fill(given);
  }
  if (!Array.isArray(given))
    throw new TypeError(`latents must be a Float32Array or an array of them, got ${describe(given)}`);
  if (given.length !== N) throw new RangeError(`latents must hold one tensor per model (${N}), got ${given.length}`);
  given.forEach((l, k) => {
    if (!(l instanceof Float32Array)) throw new TypeError(`latents[${k}] must be a Float32Array`);
    if (l.length !== n) throw new RangeError(`latents[${k}] must have length batch·dim = ${n}, got ${l.length}`);
    if (firstNonFinite(l) >= 0)
      throw new RangeError(`latents[${k}] holds a non-finite value at index ${firstNonFinite(l)}`);
  });
  return [...given];
}

/** RNG stream per model: the given ones, else the target 0 and the others 1, 2, … in model order. */
function resolveStreams(
  given: readonly number[] | undefined,
  N: number,
  target: number,
  others: readonly number[],
): number[] {
  if (given === undefined) return Array.from({ length: N }, (_, k) => (k === target ? 0 : 1 + others.indexOf(k)));
  if (!Array.isArray(given) || given.length !== N)
    throw new RangeError(`streams must hold one RNG stream per model (${N}), got ${describe(given)}`);
  return given.map((v, k) => checkInt(`streams[${k}]`, v, 0, 0xffffffff));
}

/** Freezes the plan, its steps and their arrays (the latents given are the caller's: not frozen). */
function deepFreeze(plan: AMDMPlan): AMDMPlan {
  for (const step of plan.steps) {
    Object.freeze(step.active);
    Object.freeze(step.weights);
    Object.freeze(step.symmetricWeights);
    Object.freeze(step.etas);
    Object.freeze(step);
  }
  for (const a of [plan.others, plan.timesteps, plan.steps, plan.shape, plan.streams]) Object.freeze(a);
  if (plan.latents) Object.freeze(plan.latents);
  return Object.freeze(plan);
}
