/**
 * The AMDM sampler (paper Algorithm 1) and plain DDIM as its one-model case.
 *
 * Step i (0-based) of T, at timestep tᵢ → tᵢ₊₁ (DESIGN "Semantics"):
 *  1. every *active* model k predicts εₖ = model_k(xₖ, tᵢ) and takes its DDIM step (eq. 4),
 *     giving its step mean μₖ (eq. 6) and proposal yₖ = μₖ + σz (yₖ = μₖ when η_ddim = 0).
 *     For i < s all models are active; afterwards only the target.
 *  2. if i < s and N ≥ 2: x′ = fold of the rule over the proposals, target first (eq. 8):
 *     x′ = rule(…rule(rule(y_target, y_a, w_a), y_b, w_b)…), or a symmetric rule over all.
 *  3. deviation optimization (eq. 9): every model continues from
 *     xₖ = x′ − ηₖ (x′ − μₖ)/‖x′ − μₖ‖, per sample; or, with `deviation: 'relative'` (not in
 *     the paper), xₖ = x′ + λₖ (μₖ − x′) with λₖ = ηₖ ∈ [0, 1], which never passes μₖ.
 * Otherwise each active model continues from its own proposal. The result is the target's x₀.
 *
 * Differences from the official code (sources M§2.4), none of which are the default here:
 * its merge is `vp`, its μ is a one-step DDPM posterior mean from the previous step's ε, its step
 * length is absolute over the whole batch, it never aggregates at i = 0, and it keeps running
 * every model for all T steps (which does not change the target's result).
 *
 * Random numbers: model k draws from `gaussianRng(seed, stream)` where the target uses stream 0
 * and the other models streams 1, 2, … in model order — first its initial latent, then its DDIM
 * noise (η_ddim > 0). So with s = 0 (or N = 1) the target's result equals `sampleDDIM` of the
 * target alone with the same seed, bit for bit.
 */
import type { AggregationRule, Denoiser } from './types.ts';
import type { NoiseSchedule, TimestepSpacing } from './schedule.ts';
import { makeSchedule, prevTimestep, timesteps as makeTimesteps } from './schedule.ts';
import { ddimCoefficients, ddimStepInto, type DDIMCoefficients } from './ddim.ts';
import { DEVIATION_MODES, deviate, deviateRelative, type DeviationMode } from './deviation.ts';
import { foldWeightsToSymmetric, resolveRule, type RuleName } from './rules.ts';
import { angleAt, firstNonFinite, sqNormAt } from './tensor.ts';
import { resolveBackend, type BackendName, type KernelBackend } from './backend.ts';
import { gaussianRng, type GaussianRng } from './rng.ts';
import { checkInt, checkNumber, checkOneOf, describe } from './validate.ts';

export type PerStep<T> = T | ((step: number) => T);

export interface AMDMOptions {
  /** The N ≥ 1 models; all share the schedule and latent shape. */
  models: readonly Denoiser[];
  /** Index of the target model (the one whose sample is returned). Default 0. */
  target?: number;
  /** T: number of DDIM steps. */
  steps: number;
  /** s: aggregation happens in steps 0 … s−1 (0 ≤ s ≤ T). */
  aggregateSteps: number;
  /**
   * The paper's w for each non-target model, in model order (target skipped): the weight of the
   * other model in the fold (0 keeps the target). A number applies to all; a function of the
   * step gives per-step weights. Default 0.5.
   */
  weights?: PerStep<number | readonly number[]>;
  /**
   * The deviation step (default 'eq9', the paper's and the `paper` preset's):
   * - 'eq9': eq. 9 as written, a step of length η (see `etaScale`) from x′ toward μₖ, which
   *   passes μₖ when η > ‖x′ − μₖ‖;
   * - 'relative' (not in the paper): xₖ = x′ + λ (μₖ − x′) with λ = `eta` ∈ [0, 1], the fraction
   *   of the way to μₖ. It never overshoots and means the same at any latent size, so it takes
   *   no `etaScale` and no `clipDeviation`: setting either is an error (rather than silently
   *   ignoring a length the caller thought would apply).
   */
  deviation?: DeviationMode;
  /**
   * η of the deviation step per model (number, one per model, or a function of (step, model)).
   * Default 0.3. With `deviation: 'relative'` it is λ and must lie in [0, 1].
   */
  eta?: number | readonly number[] | ((step: number, model: number) => number);
  /**
   * 'sqrtDim' (default): the eq. 9 step is η·√d, d = elements per sample; 'absolute': η itself.
   * Only for `deviation: 'eq9'`.
   */
  etaScale?: 'absolute' | 'sqrtDim';
  /**
   * Not in the paper: stop the eq. 9 step at μₖ (length min(η, ‖x′ − μₖ‖)) instead of passing
   * it when η is longer than the distance. Default false (eq. 9 as written). Only for
   * `deviation: 'eq9'`.
   */
  clipDeviation?: boolean;
  /** Aggregation rule (name or function). Default 'slerp'. */
  rule?: AggregationRule | RuleName;
  /** Shape of one sample, e.g. [4, 64, 64]. */
  shape: readonly number[];
  /** B: samples per model. Default 1. */
  batch?: number;
  /** Seed of the initial noise and of the DDIM noise. Default 0. Ignored for latents given. */
  seed?: number;
  /** Initial latents: one tensor for all models, or one per model (B·d values each). */
  latents?: Float32Array | readonly Float32Array[];
  /** η of DDIM (0 = deterministic, the paper's and the official code's setting). */
  ddimEta?: number;
  /** Noise schedule (default SD 1.x). */
  schedule?: NoiseSchedule;
  /** Timestep spacing and offset (default: the schedule's). */
  spacing?: TimestepSpacing;
  offset?: number;
  /** How the previous timestep is chosen: diffusers' t − T//steps (default) or the next listed. */
  prevTimestep?: 'diffusers' | 'next';
  /**
   * Start the active models' `eps` calls of a step together and await them all (default
   * false: one after the other). Only helps denoisers that compute off the main thread (e.g.
   * ONNX sessions in worker threads, or a remote model); the result is identical either way.
   * Requires distinct denoiser objects, since a denoiser may reuse its output buffer.
   */
  concurrent?: boolean;
  /**
   * Kernel backend of this run's step math: 'js' (the reference loops), 'wasm' (SIMD kernels,
   * ≤ 1e-6 relative from 'js'), 'auto' (wasm when supported) or a backend object. Default: the
   * active backend (`AMDM_BACKEND`, else automatic; see `setKernelBackend`).
   */
  backend?: BackendName | 'auto' | KernelBackend;
  /** Called after each step with what happened in it (allocates only when given). */
  onStep?: (trace: StepTrace) => void;
  /** Aborts between model calls. */
  signal?: AbortSignal;
}

export interface StepTrace {
  step: number;
  t: number;
  tPrev: number;
  /** Indices of the models evaluated in this step. */
  evaluated: number[];
  aggregated: boolean;
  /** Per evaluated model: per-sample ‖xₖ‖ entering the step. */
  inputNorms: Float64Array[];
  /** Per evaluated model: per-sample ‖yₖ‖ of its DDIM proposal. */
  proposalNorms: Float64Array[];
  /** Per-sample ‖x′‖ of the merged latent (aggregated steps only). */
  mixedNorms?: Float64Array;
  /**
   * Angles (radians) aggregated, per fold stage per sample: stage j is the angle between the
   * running merge and the j-th other model's proposal; for a symmetric rule, between the target
   * and each other proposal.
   */
  angles?: Float64Array[];
  /** Per model: per-sample ‖x′ − μₖ‖ (aggregated steps only). */
  deviations?: Float64Array[];
  /**
   * Per model: the absolute step length used in eq. 9 (after √d scaling); with
   * `deviation: 'relative'`, the fraction λ (the step length is λ·`deviations`).
   */
  etas?: number[];
  /** The weights used (one per non-target model). */
  weights?: number[];
}

export interface AMDMResult {
  /** The target's final latent (B·d values). */
  latents: Float32Array;
  /** Every model's latent where it stopped (the target's equals `latents`). */
  modelLatents: Float32Array[];
  /** The initial latents each model started from. */
  initialLatents: Float32Array[];
  /** Model calls per model: T for the target, s for the others. */
  calls: number[];
  totalCalls: number;
  timesteps: number[];
  shape: number[];
  batch: number;
}

const ETA_SCALES = ['absolute', 'sqrtDim'] as const;

/** Algorithm 1 of the paper over N denoisers. */
export async function sampleAMDM(opts: AMDMOptions): Promise<AMDMResult> {
  const models = opts.models;
  if (!Array.isArray(models) || models.length < 1) throw new RangeError(`models must be an array of ≥ 1 Denoiser, got ${describe(models)}`);
  models.forEach((m, k) => {
    if (!m || typeof (m as Denoiser).eps !== 'function') throw new TypeError(`models[${k}] must be a Denoiser with an eps(x, t, batch) method`);
  });
  const N = models.length;
  const target = checkInt('target', opts.target ?? 0, 0, N - 1);
  const schedule = opts.schedule ?? makeSchedule();
  const T = checkInt('steps', opts.steps, 1, schedule.alphasCumprod.length);
  const s = checkInt('aggregateSteps', opts.aggregateSteps, 0, T);
  const batch = checkInt('batch', opts.batch ?? 1, 1);
  if (!Array.isArray(opts.shape) || opts.shape.length < 1) throw new TypeError(`shape must be a non-empty array of positive integers, got ${describe(opts.shape)}`);
  opts.shape.forEach((d, i) => checkInt(`shape[${i}]`, d, 1));
  const dim = opts.shape.reduce((a, b) => a * b, 1);
  const n = batch * dim;
  const ddimEta = checkNumber('ddimEta', opts.ddimEta ?? 0, 0, 1);
  const deviation = checkOneOf('deviation', opts.deviation ?? 'eq9', DEVIATION_MODES);
  const relative = deviation === 'relative';
  if (relative && opts.etaScale !== undefined) {
    throw new TypeError(`etaScale applies only to deviation 'eq9'; with deviation 'relative' eta is the fraction λ ∈ [0, 1] of the way to μ, whatever the latent's size: leave etaScale unset, got ${describe(opts.etaScale)}`);
  }
  if (relative && opts.clipDeviation !== undefined) {
    throw new TypeError(`clipDeviation applies only to deviation 'eq9' (the relative step never passes μ): leave it unset, got ${describe(opts.clipDeviation)}`);
  }
  const etaScale = checkOneOf('etaScale', opts.etaScale ?? 'sqrtDim', ETA_SCALES);
  const etaFactor = !relative && etaScale === 'sqrtDim' ? Math.sqrt(dim) : 1;
  const rule = resolveRule(opts.rule);
  const kernels = resolveBackend(opts.backend);
  if (opts.clipDeviation !== undefined && typeof opts.clipDeviation !== 'boolean') throw new TypeError(`clipDeviation must be a boolean, got ${describe(opts.clipDeviation)}`);
  const clip = opts.clipDeviation ?? false;
  const seed = opts.seed ?? 0;
  const prevMode = checkOneOf('prevTimestep', opts.prevTimestep ?? 'diffusers', ['diffusers', 'next'] as const);
  const ts = makeTimesteps(schedule, T, { spacing: opts.spacing, offset: opts.offset });
  const others: number[] = [];
  for (let k = 0; k < N; k++) if (k !== target) others.push(k);

  if (opts.concurrent !== undefined && typeof opts.concurrent !== 'boolean') throw new TypeError(`concurrent must be a boolean, got ${describe(opts.concurrent)}`);
  const concurrent = opts.concurrent ?? false;
  if (concurrent && new Set(models).size !== N) {
    throw new RangeError('concurrent: true needs distinct denoiser objects (one may reuse its output buffer between calls); pass separate instances');
  }
  const weightsAt = makeWeights(opts.weights, N - 1, T);
  const etaAt = makeEta(opts.eta, N, T, relative);
  // Validate per-step parameters up front so bad input fails before any model runs.
  for (let i = 0; i < s; i++) {
    weightsAt(i);
    for (let k = 0; k < N; k++) etaAt(i, k);
  }

  // Precompute the DDIM coefficients of every step (once per run).
  const coeffs: DDIMCoefficients[] = ts.map((t, i) => ddimCoefficients(schedule, t, prevTimestep(schedule, ts, i, prevMode), ddimEta));

  // Initial latents and per-model RNG streams (target = stream 0).
  const streamOf = (k: number) => (k === target ? 0 : 1 + others.indexOf(k));
  const rngs: (GaussianRng | null)[] = models.map((_, k) =>
    opts.latents === undefined || ddimEta > 0 ? gaussianRng(checkInt('seed', seed, 0, Number.MAX_SAFE_INTEGER), streamOf(k)) : null,
  );
  // The run's buffers, allocated once where the backend's kernels use them in place: per model
  // its latent x, step mean μ and proposal y; the merged latent; the DDIM noise; a staging
  // buffer for ε when the backend cannot read the denoiser's array in place.
  const pool = kernels.buffers(3 * N + 3, n);
  const xs = pool.slice(0, N), mus = pool.slice(N, 2 * N), ys = pool.slice(2 * N, 3 * N);
  const [mixed, noiseBuf, epsStage] = pool.slice(3 * N);
  const noise = ddimEta > 0 ? noiseBuf : null;
  if (opts.latents !== undefined) {
    const given = opts.latents;
    if (given instanceof Float32Array) {
      if (given.length !== n) throw new RangeError(`latents must have length batch·dim = ${batch}·${dim} = ${n}, got ${given.length}`);
      for (let k = 0; k < N; k++) xs[k].set(given);
    } else if (Array.isArray(given)) {
      if (given.length !== N) throw new RangeError(`latents must hold one tensor per model (${N}), got ${given.length}`);
      given.forEach((l, k) => {
        if (!(l instanceof Float32Array)) throw new TypeError(`latents[${k}] must be a Float32Array`);
        if (l.length !== n) throw new RangeError(`latents[${k}] must have length batch·dim = ${n}, got ${l.length}`);
        if (firstNonFinite(l) >= 0) throw new RangeError(`latents[${k}] holds a non-finite value at index ${firstNonFinite(l)}`);
        xs[k].set(l);
      });
    } else {
      throw new TypeError(`latents must be a Float32Array or an array of them, got ${describe(given)}`);
    }
  } else {
    for (let k = 0; k < N; k++) rngs[k]!.fillNormal(xs[k]);
  }
  const initialLatents = xs.map((x) => x.slice());

  const pair: Float32Array[] = [mixed, mixed];
  const pairW = [0];
  const symXs: Float32Array[] = [ys[target], ...others.map((k) => ys[k])];
  const symW = new Array<number>(N).fill(0);
  const calls = new Array<number>(N).fill(0);
  const tracing = typeof opts.onStep === 'function';
  const dists = models.map(() => new Float64Array(batch));

  /** Checks model k's ε and takes its DDIM step into (μₖ, yₖ). */
  const stepModel = (k: number, eps: unknown, i: number, c: DDIMCoefficients): void => {
    if (!(eps instanceof Float32Array) || eps.length !== n) {
      throw new RangeError(`models[${k}] (${models[k].name ?? 'unnamed'}) returned ${describe(eps)} at step ${i} (t = ${c.t}); expected a Float32Array of length ${n}`);
    }
    const e = kernels.owns(eps) ? eps : (epsStage.set(eps), epsStage);
    const bad = kernels.firstNonFinite(e);
    if (bad >= 0) throw new RangeError(`models[${k}] (${models[k].name ?? 'unnamed'}) returned a non-finite value (${eps[bad]}) at index ${bad}, step ${i} (t = ${c.t})`);
    if (noise) rngs[k]!.fillNormal(noise);
    ddimStepInto(c, xs[k], e, mus[k], ys[k], null, noise, kernels);
  };

  for (let i = 0; i < T; i++) {
    const active = i < s ? N : 1;
    const aggregate = i < s && N >= 2;
    const c = coeffs[i];
    const trace: StepTrace | null = tracing
      ? { step: i, t: c.t, tPrev: c.tPrev, evaluated: [], aggregated: aggregate, inputNorms: [], proposalNorms: [] }
      : null;
    if (concurrent && active > 1) {
      throwIfAborted(opts.signal);
      if (trace) for (let k = 0; k < N; k++) { trace.evaluated.push(k); trace.inputNorms.push(norms(xs[k], batch, dim)); }
      const outs = await Promise.all(models.map((m, k) => callModel(m, k, xs[k], i, c.t, batch)));
      for (let k = 0; k < N; k++) {
        calls[k]++;
        stepModel(k, outs[k], i, c);
        if (trace) trace.proposalNorms.push(norms(ys[k], batch, dim));
      }
    } else {
      for (let a = 0; a < active; a++) {
        const k = active === 1 ? target : a;
        throwIfAborted(opts.signal);
        if (trace) {
          trace.evaluated.push(k);
          trace.inputNorms.push(norms(xs[k], batch, dim));
        }
        let eps;
        try {
          const ret = models[k].eps(xs[k], c.t, batch);
          // await only real promises: awaiting a plain value still costs a microtask and garbage
          eps = ret instanceof Promise ? await ret : ret;
        } catch (e) {
          throw modelFailure(models[k], k, i, c.t, e);
        }
        calls[k]++;
        stepModel(k, eps, i, c);
        if (trace) trace.proposalNorms.push(norms(ys[k], batch, dim));
      }
    }
    if (aggregate) {
      const w = weightsAt(i);
      if (trace) { trace.weights = w.slice(); trace.angles = []; }
      if (rule.symmetric) {
        foldWeightsToSymmetric(w, symW);
        if (trace) for (const k of others) trace.angles!.push(angles(ys[target], ys[k], batch, dim));
        const out = rule(symXs, symW, mixed, dim, kernels);
        if (out !== mixed) mixed.set(out);
      } else {
        mixed.set(ys[target]);
        for (let j = 0; j < others.length; j++) {
          const k = others[j];
          if (trace) trace.angles!.push(angles(mixed, ys[k], batch, dim));
          pair[1] = ys[k];
          pairW[0] = w[j];
          const out = rule(pair, pairW, mixed, dim, kernels);
          if (out !== mixed) mixed.set(out);
        }
      }
      const bad = kernels.firstNonFinite(mixed);
      if (bad >= 0) throw new RangeError(`rule '${rule.ruleName ?? rule.name}' produced a non-finite value at index ${bad}, step ${i}`);
      if (trace) { trace.mixedNorms = norms(mixed, batch, dim); trace.deviations = []; trace.etas = []; }
      for (let k = 0; k < N; k++) {
        const eta = etaAt(i, k) * etaFactor;
        if (relative) deviateRelative(mixed, mus[k], eta, xs[k], dim, dists[k]);
        else deviate(mixed, mus[k], eta, xs[k], dim, dists[k], clip, kernels);
        if (trace) { trace.deviations!.push(dists[k].slice()); trace.etas!.push(eta); }
      }
    } else {
      for (let a = 0; a < active; a++) {
        const k = active === 1 ? target : a;
        const tmp = xs[k]; xs[k] = ys[k]; ys[k] = tmp;
        if (k === target) symXs[0] = ys[k];
        else symXs[1 + others.indexOf(k)] = ys[k];
      }
    }
    if (trace) opts.onStep!(trace);
  }
  // copies: the buffers may live in the backend's memory, which the result should not pin
  const modelLatents = xs.map((x) => x.slice());
  return {
    latents: modelLatents[target],
    modelLatents,
    initialLatents,
    calls,
    totalCalls: calls.reduce((a, b) => a + b, 0),
    timesteps: ts,
    shape: [...opts.shape],
    batch,
  };
}

export type DDIMOptions = Omit<AMDMOptions, 'models' | 'target' | 'aggregateSteps' | 'weights' | 'deviation' | 'eta' | 'etaScale' | 'clipDeviation' | 'rule' | 'latents'> & {
  latents?: Float32Array;
};

/** Plain DDIM sampling of one model (AMDM with N = 1). */
export function sampleDDIM(model: Denoiser, opts: DDIMOptions): Promise<AMDMResult> {
  return sampleAMDM({ ...opts, models: [model], target: 0, aggregateSteps: 0 });
}

function makeWeights(spec: AMDMOptions['weights'], count: number, T: number): (step: number) => number[] {
  const fixed = (v: number | readonly number[], where: string): number[] => {
    if (typeof v === 'number') return new Array<number>(count).fill(checkNumber(`weights${where}`, v, 0, 1));
    if (!Array.isArray(v)) throw new TypeError(`weights${where} must be a number or an array of ${count} numbers in [0, 1], got ${describe(v)}`);
    if (v.length !== count) throw new RangeError(`weights${where} must hold ${count} number(s) (one per non-target model), got ${v.length}`);
    return v.map((x, j) => checkNumber(`weights${where}[${j}]`, x, 0, 1));
  };
  if (spec === undefined) {
    const half = new Array<number>(count).fill(0.5);
    return () => half;
  }
  if (typeof spec === 'function') {
    return (step) => fixed(spec(step), ` (step ${step} of ${T})`);
  }
  const w = fixed(spec, '');
  return () => w;
}

/**
 * η per (step, model), each checked against [0, ∞), or against [0, 1] when it is the relative
 * step's λ (the error then says so).
 */
function makeEta(spec: AMDMOptions['eta'], N: number, T: number, relative: boolean): (step: number, model: number) => number {
  const max = relative ? 1 : Infinity;
  const what = relative ? " (λ of deviation 'relative')" : '';
  if (spec === undefined) return () => 0.3;
  if (typeof spec === 'number') {
    const v = checkNumber(`eta${what}`, spec, 0, max);
    return () => v;
  }
  if (typeof spec === 'function') {
    return (step, k) => checkNumber(`eta${what} (step ${step} of ${T}, model ${k})`, spec(step, k), 0, max);
  }
  if (!Array.isArray(spec)) throw new TypeError(`eta must be a number, an array of ${N} numbers or a function, got ${describe(spec)}`);
  if (spec.length !== N) throw new RangeError(`eta must hold ${N} number(s) (one per model), got ${spec.length}`);
  const v = spec.map((x, k) => checkNumber(`eta[${k}]${what}`, x, 0, max));
  return (_, k) => v[k];
}

function norms(x: Float32Array, batch: number, dim: number): Float64Array {
  const out = new Float64Array(batch);
  for (let b = 0; b < batch; b++) out[b] = Math.sqrt(sqNormAt(x, b * dim, dim));
  return out;
}

function angles(a: Float32Array, b: Float32Array, batch: number, dim: number): Float64Array {
  const out = new Float64Array(batch);
  for (let s = 0; s < batch; s++) out[s] = angleAt(a, b, s * dim, dim);
  return out;
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw signal.reason instanceof Error ? signal.reason : new DOMException('sampling aborted', 'AbortError');
  }
}

/**
 * The error of a denoiser that threw or rejected at step `step`: names the model and the step,
 * keeps the original as `cause`. An abort passes through unchanged.
 */
export function modelFailure(model: Denoiser, k: number, step: number, t: number, e: unknown): unknown {
  if (e instanceof Error && e.name === 'AbortError') return e;
  const why = e instanceof Error ? e.message : String(e);
  return new Error(`models[${k}] (${model.name ?? 'unnamed'}) failed at step ${step} (t = ${t}): ${why}`, { cause: e });
}

/** `model.eps(…)` as a promise whose failure is {@link modelFailure}. */
export async function callModel(model: Denoiser, k: number, x: Float32Array, step: number, t: number, batch: number): Promise<Float32Array> {
  try {
    return await model.eps(x, t, batch);
  } catch (e) {
    throw modelFailure(model, k, step, t, e);
  }
}
