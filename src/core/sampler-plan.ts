/**
 * The plan of an AMDM run (paper Algorithm 1): every option of `sampleAMDM` / `sampleDDIM`
 * checked and resolved once, before a buffer is allocated or a model runs — the timesteps and
 * DDIM coefficients (eq. 4/6) of each step taken, the models evaluated in it, and for the first
 * s steps the weights of eq. 8 and the η of eq. 9 per model. The plan is frozen; the sampling
 * loop only reads it. The SD pipeline resolves one to check a job's sampler settings without
 * running a model (`models` may then be just their number).
 */
import type { AggregationRule, Denoiser } from './types.ts';
import type { AMDMOptions, WeightSchedule } from './sampler-types.ts';
import { makeSchedule, prevTimestep, timesteps as makeTimesteps, type NoiseSchedule } from './schedule.ts';
import { ddimCoefficients, type DDIMCoefficients } from './ddim.ts';
import { DEVIATION_MODES, type DeviationMode } from './deviation.ts';
import { foldWeightsToSymmetric } from './rules.ts';
import { resolveRule } from './rule-registry.ts';
import { resolveBackend, type KernelBackend } from './backend.ts';
import { AMDM_DEFAULTS } from './defaults.ts';
import { firstNonFinite } from './tensor.ts';
import { checkInt, checkNumber, checkOneOf, describe } from './validate.ts';
import { SPATIAL_RULES, checkSpatialMap, mapCells, type SpatialRule } from './spatial.ts';

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
  /**
   * The models evaluated, in model order: the target and the models whose window holds the step
   * (by default all N in the first s steps, afterwards the target alone).
   */
  readonly active: readonly number[];
  /** The non-target models merged in this step (those in their window), in model order. */
  readonly merged: readonly number[];
  /** Models whose window starts here after the run's first step: they start from the target's latent. */
  readonly joining: readonly number[];
  /** Some model is merged: the proposals are merged (eq. 8) and deviated (eq. 9). */
  readonly aggregate: boolean;
  /** w per non-target model in model order (eq. 8; 0 outside its window); empty when the step does not aggregate. */
  readonly weights: readonly number[];
  /** w of the merged models, in fold order. */
  readonly foldWeights: readonly number[];
  /** A symmetric rule's weights of the target and the merged models (`foldWeightsToSymmetric(foldWeights)`); else empty. */
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
  /** Per model (by index): the steps [start, end) it is merged on; the target's is [0, T]. */
  readonly windows: readonly (readonly [number, number])[];
  /** Per model (by index): its checked spatial weight map, or null (the target, or none given). */
  readonly maps: readonly (Float32Array | null)[];
  /** The rule's name when some model has a map (the rules that take one), else null. */
  readonly spatialRule: SpatialRule | null;
  /** Mapped models' deviation steps are restricted to their maps. */
  readonly spatialDeviation: boolean;
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
  const windows = resolveWindows(opts.windows, N, target, T, s);
  const spatial = resolveSpatial(opts, N, target, rule);
  const steps = planSteps(opts, {
    windows,
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
    windows,
    ...spatial,
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
  /** Per model [start, end): the target's is [0, T]. */
  windows: readonly (readonly [number, number])[];
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

/** Each model's window [start, end): the given ones (checked), [0, s) by default, the target's [0, T]. */
function resolveWindows(
  given: AMDMOptions['windows'],
  N: number,
  target: number,
  T: number,
  s: number,
): [number, number][] {
  const windows = Array.from({ length: N }, (_, k): [number, number] => (k === target ? [0, T] : [0, s]));
  if (given === undefined) return windows;
  if (!Array.isArray(given) || given.length !== N - 1)
    throw new RangeError(
      `windows must hold ${N - 1} entr${N === 2 ? 'y' : 'ies'} (one per non-target model: [start, end) or null), got ${describe(given)}`,
    );
  let j = 0;
  for (let k = 0; k < N; k++) {
    if (k === target) continue;
    const w = given[j];
    const name = `windows[${j++}]`;
    if (w === null) continue;
    if (!Array.isArray(w) || w.length !== 2)
      throw new TypeError(
        `${name} must be [start, end) (integers, 0 ≤ start ≤ end ≤ T = ${T}) or null, got ${describe(w)}`,
      );
    const end = checkInt(`${name}[1] (end)`, w[1], 0, T);
    windows[k] = [checkInt(`${name}[0] (start)`, w[0], 0, end), end];
  }
  return windows;
}

/** The checked maps per model index, the rule that applies them, and the restricted deviation. */
function resolveSpatial(
  opts: AMDMPlanOptions,
  N: number,
  target: number,
  rule: AggregationRule,
): Pick<AMDMPlan, 'maps' | 'spatialRule' | 'spatialDeviation'> {
  if (opts.spatialDeviation !== undefined && typeof opts.spatialDeviation !== 'boolean')
    throw new TypeError(`spatialDeviation must be a boolean, got ${describe(opts.spatialDeviation)}`);
  const maps = new Array<Float32Array | null>(N).fill(null);
  const given = opts.spatialWeights;
  if (given !== undefined) {
    if (!Array.isArray(given) || given.length !== N - 1)
      throw new RangeError(
        `spatialWeights must hold ${N - 1} entr${N === 2 ? 'y' : 'ies'} (one per non-target model: a map or null), got ${describe(given)}`,
      );
    const cells = mapCells(opts.shape);
    let j = 0;
    for (let k = 0; k < N; k++) {
      if (k === target) continue;
      const m = given[j];
      if (m !== null) maps[k] = checkSpatialMap(`spatialWeights[${j}]`, m, cells);
      j++;
    }
  }
  const mapped = maps.some((m) => m !== null);
  const name = rule.ruleName ?? rule.name;
  if (mapped && (rule.symmetric || !(SPATIAL_RULES as readonly string[]).includes(name)))
    throw new RangeError(
      `spatialWeights need a rule that takes a per-cell weight: ${SPATIAL_RULES.map((r) => `'${r}'`).join(', ')}; got rule '${name}'`,
    );
  if (opts.spatialDeviation === true && !mapped)
    throw new RangeError('spatialDeviation restricts the deviation step to the spatial maps: give spatialWeights');
  return { maps, spatialRule: mapped ? (name as SpatialRule) : null, spatialDeviation: opts.spatialDeviation === true };
}

/**
 * w per non-target model at a step: a number, an array (numbers or schedules, one per model), a
 * schedule for all, or a function of the step; each checked against [0, 1].
 */
function makeWeights(spec: AMDMOptions['weights'], c: StepContext): (step: number) => number[] {
  const others: number[] = [];
  for (let k = 0; k < c.N; k++) if (k !== c.target) others.push(k);
  const count = others.length;
  if (typeof spec === 'function') {
    return (step) => fixedWeights(spec(step), count, ` (step ${step} of ${c.T})`);
  }
  if (isSchedule(spec) || (Array.isArray(spec) && spec.some(isSchedule))) {
    if (Array.isArray(spec) && spec.length !== count)
      throw new RangeError(
        `weights must hold ${count} entr${count === 1 ? 'y' : 'ies'} (one per non-target model), got ${spec.length}`,
      );
    const each = others.map((k, j) => {
      const item = (Array.isArray(spec) ? spec[j] : spec) as number | WeightSchedule;
      const where = Array.isArray(spec) ? `weights[${j}]` : 'weights';
      return typeof item === 'number' ? () => checkNumber(where, item, 0, 1) : scheduleAt(item, c.windows[k], where);
    });
    return (step) => each.map((f) => f(step));
  }
  const w = fixedWeights(spec ?? AMDM_DEFAULTS.weight, count, '');
  return () => w;
}

function fixedWeights(v: unknown, count: number, where: string): number[] {
  if (typeof v === 'number') return new Array<number>(count).fill(checkNumber(`weights${where}`, v, 0, 1));
  if (!Array.isArray(v))
    throw new TypeError(
      `weights${where} must be a number or an array of ${count} numbers in [0, 1], got ${describe(v)}`,
    );
  if (v.length !== count)
    throw new RangeError(`weights${where} must hold ${count} number(s) (one per non-target model), got ${v.length}`);
  return v.map((x, j) => checkNumber(`weights${where}[${j}]`, x, 0, 1));
}

const SCHEDULE_KINDS = ['constant', 'linear', 'cosine', 'list'] as const;

function isSchedule(v: unknown): v is WeightSchedule {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A schedule's weight at step i of the window [start, end), checked once here (sampler-types.ts). */
function scheduleAt(sch: WeightSchedule, window: readonly [number, number], name: string): (step: number) => number {
  const kind = checkOneOf(`${name}.kind`, (sch as { kind?: unknown }).kind, SCHEDULE_KINDS);
  const [start, end] = window;
  const keys: Record<(typeof SCHEDULE_KINDS)[number], string[]> = {
    constant: ['kind', 'value'],
    linear: ['kind', 'from', 'to'],
    cosine: ['kind', 'from', 'to'],
    list: ['kind', 'values'],
  };
  const unknown = Object.keys(sch).find((key) => !keys[kind].includes(key));
  if (unknown !== undefined)
    throw new RangeError(`${name}: unknown field '${unknown}'; a '${kind}' schedule has ${keys[kind].join(', ')}`);
  if (sch.kind === 'list') {
    const values = sch.values;
    if (!Array.isArray(values) || values.length !== end - start)
      throw new RangeError(
        `${name}.values must hold one weight per step of the model's window [${start}, ${end}) (${end - start}), got ${describe(values)}`,
      );
    const v = values.map((x, n) => checkNumber(`${name}.values[${n}]`, x, 0, 1));
    return (i) => v[i - start];
  }
  if (sch.kind === 'constant') {
    const v = checkNumber(`${name}.value`, sch.value, 0, 1);
    return () => v;
  }
  const from = checkNumber(`${name}.from`, sch.from, 0, 1),
    to = checkNumber(`${name}.to`, sch.to, 0, 1);
  const span = Math.max(end - start - 1, 1);
  return sch.kind === 'linear'
    ? (i) => (1 - (i - start) / span) * from + ((i - start) / span) * to
    : (i) => to + (from - to) * 0.5 * (1 + Math.cos(Math.PI * ((i - start) / span)));
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
