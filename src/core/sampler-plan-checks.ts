/**
 * The checks of an AMDM plan's options (sampler-plan.ts): each one read, checked against what it
 * allows (an error names the option and the allowed values) and resolved to the value the plan holds.
 */
import type { AggregationRule, Denoiser } from './types.ts';
import type { AMDMOptions } from './sampler-types.ts';
import type { AMDMPlan, AMDMPlanOptions } from './sampler-plan-types.ts';
import { timesteps as makeTimesteps, type NoiseSchedule } from './schedule.ts';
import { DEVIATION_MODES, type DeviationMode } from './deviation.ts';
import { AMDM_DEFAULTS } from './defaults.ts';
import { firstNonFinite } from './tensor.ts';
import { checkInt, checkOneOf, describe } from './validate.ts';
import { SPATIAL_RULES, checkSpatialMap, mapCells, type SpatialRule } from './spatial.ts';

const ETA_SCALES = ['absolute', 'sqrtDim'] as const;

/** The shape of one sample, checked; returns its number of values d. */
export function checkShape(shape: unknown): number {
  if (!Array.isArray(shape) || shape.length < 1)
    throw new TypeError(`shape must be a non-empty array of positive integers, got ${describe(shape)}`);
  shape.forEach((d, i) => checkInt(`shape[${i}]`, d, 1));
  return (shape as number[]).reduce((a, b) => a * b, 1);
}

/** N, from the denoisers or their number. */
export function checkModels(models: AMDMPlanOptions['models']): number {
  if (typeof models === 'number') return checkInt('models', models, 1);
  if (!Array.isArray(models) || models.length < 1)
    throw new RangeError(`models must be an array of ≥ 1 Denoiser, got ${describe(models)}`);
  models.forEach((m, k) => {
    if (!m || typeof (m as Denoiser).eps !== 'function')
      throw new TypeError(`models[${k}] must be a Denoiser with an eps(x, t, batch) method`);
  });
  return models.length;
}

/** `concurrent`, a boolean; true needs distinct denoiser objects. */
export function checkConcurrent(opts: AMDMPlanOptions): boolean {
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

export interface DeviationSettings {
  mode: DeviationMode;
  /** ×√d for eq. 9 with etaScale 'sqrtDim', else 1. */
  etaFactor: number;
  clip: boolean;
}

/** The deviation step (eq. 9 or the relative variant) and what scales and clips its η. */
export function resolveDeviation(opts: AMDMPlanOptions, dim: number): DeviationSettings {
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
export function resolveTimesteps(opts: AMDMPlanOptions, schedule: NoiseSchedule, T: number): number[] {
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

/** Each model's window [start, end): the given ones (checked), [0, s) by default, the target's [0, T]. */
export function resolveWindows(
  given: AMDMOptions['windows'],
  { N, target, T, s }: { N: number; target: number; T: number; s: number },
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
export function resolveSpatial(
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

/** The given initial latents as one tensor per model (a single tensor serves every model), or null. */
export function checkLatents(
  given: AMDMOptions['latents'],
  N: number,
  batch: number,
  dim: number,
): Float32Array[] | null {
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
export function resolveStreams(
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
