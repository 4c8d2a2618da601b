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
 * The options are checked and resolved once, before anything runs, into a frozen plan
 * (sampler-plan.ts: timesteps, DDIM coefficients, per-step w and η); the loop below reads it and
 * works in buffers allocated once, so a step allocates nothing (unless `onStep` traces it).
 *
 * Differences from the official code (sources M§2.4), none of which are the default here:
 * its merge is `vp`, its μ is a one-step DDPM posterior mean from the previous step's ε, its step
 * length is absolute over the whole batch, it never aggregates at i = 0, and it keeps running
 * every model for all T steps (which does not change the target's result).
 *
 * Random numbers: model k draws from `gaussianRng(seed, stream)` where the target uses stream 0
 * and the other models streams 1, 2, … in model order — first its initial latent, then its DDIM
 * noise (η_ddim > 0); `streams` chooses others. So with s = 0 (or N = 1) the target's result
 * equals `sampleDDIM` of the target alone with the same seed, bit for bit.
 */
import { throwIfAborted } from './abort.ts';
import type { Denoiser } from './types.ts';
import type { NoiseSchedule, TimestepSpacing } from './schedule.ts';
import { ddimStepInto } from './ddim.ts';
import { deviate, deviateRelative, type DeviationMode } from './deviation.ts';
import type { RuleRef } from './rule-registry.ts';
import { angleAt, sqNormAt } from './tensor.ts';
import { describe } from './validate.ts';
import type { BackendName, KernelBackend } from './backend.ts';
import { gaussianRng, type GaussianRng } from './rng.ts';
import { resolveAMDMPlan, type AMDMPlan, type PlannedStep } from './sampler-plan.ts';

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
   * step gives per-step weights. Default 0.5 (`AMDM_DEFAULTS.weight`).
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
   * Default 0.3 (`AMDM_DEFAULTS.eta`). With `deviation: 'relative'` it is λ and must lie in [0, 1].
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
  /** Aggregation rule: a registered name (`registerRule`) or a rule. Default 'slerp'. */
  rule?: RuleRef;
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
  /**
   * The T timesteps to visit, in sampling (decreasing) order, instead of the schedule's (then
   * without `spacing` and `offset`); e.g. an earlier run's `timesteps`, to continue it.
   */
  timesteps?: readonly number[];
  /**
   * The first step taken, in [0, T] (default 0): the latents are at `timesteps[startStep]`, as a
   * model's latent is after an AMDM run left it at step s. Steps before it are not taken.
   */
  startStep?: number;
  /** Each model's RNG stream (default: the target 0, the others 1, 2, … in model order). */
  streams?: readonly number[];
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

/** Algorithm 1 of the paper over N denoisers. */
export async function sampleAMDM(opts: AMDMOptions): Promise<AMDMResult> {
  const plan = resolveAMDMPlan(opts);
  const run = startRun(plan, opts);
  const initialLatents = run.xs.map((x) => x.slice());
  for (const step of plan.steps) {
    const trace = run.tracing ? openTrace(step) : null;
    // 1. each active model predicts ε and takes its DDIM step: μₖ (eq. 6) and the proposal yₖ (eq. 4)
    const pending = predict(run, step, trace);
    if (pending) await pending;
    if (step.aggregate) {
      // 2. the proposals are merged into x′ (eq. 8) …
      merge(run, step, trace);
      // 3. … and every model continues from x′ moved toward its own μₖ (eq. 9)
      deviateAll(run, step, trace);
    }
    if (trace) opts.onStep!(trace);
  }
  // copies: the buffers may live in the backend's memory, which the result should not pin
  const modelLatents = run.xs.map((x) => x.slice());
  return {
    latents: modelLatents[plan.target],
    modelLatents,
    initialLatents,
    calls: run.calls,
    totalCalls: run.calls.reduce((a, b) => a + b, 0),
    timesteps: [...plan.timesteps],
    shape: [...plan.shape],
    batch: plan.batch,
  };
}

export type DDIMOptions = Omit<
  AMDMOptions,
  | 'models'
  | 'target'
  | 'aggregateSteps'
  | 'weights'
  | 'deviation'
  | 'eta'
  | 'etaScale'
  | 'clipDeviation'
  | 'rule'
  | 'latents'
  | 'streams'
> & {
  latents?: Float32Array;
  /** The RNG stream of the initial latent and the DDIM noise (default 0, the target's). */
  stream?: number;
};

/** Plain DDIM sampling of one model (AMDM with N = 1). */
export function sampleDDIM(model: Denoiser, opts: DDIMOptions): Promise<AMDMResult> {
  const { stream, ...rest } = opts;
  return sampleAMDM({
    ...rest,
    models: [model],
    target: 0,
    aggregateSteps: 0,
    ...(stream === undefined ? {} : { streams: [stream] }),
  });
}

/** What a run holds besides its plan: buffers allocated once, RNGs, call counts. */
interface Run {
  readonly plan: AMDMPlan;
  readonly models: readonly Denoiser[];
  readonly signal: AbortSignal | undefined;
  readonly tracing: boolean;
  /** Per model: its latent xₖ, step mean μₖ and proposal yₖ (only aggregated steps use yₖ; the others step xₖ in place). */
  readonly xs: Float32Array[];
  readonly mus: Float32Array[];
  readonly ys: Float32Array[];
  /** The proposals in fold order: the target's, then the others' in model order. */
  readonly proposals: Float32Array[];
  /** x′, the DDIM noise (η_ddim > 0), and a staging buffer for an ε the backend cannot read in place. */
  readonly mixed: Float32Array;
  readonly noise: Float32Array | null;
  readonly epsStage: Float32Array;
  readonly rngs: (GaussianRng | null)[];
  readonly calls: number[];
  /** Per model: per-sample ‖x′ − μₖ‖ of the last deviation step. */
  readonly distances: Float64Array[];
  /** A pairwise rule's arguments [x′, yₖ] and [w], and the concurrent mode's pending ε. */
  readonly pair: Float32Array[];
  readonly pairWeight: number[];
  readonly pending: (Float32Array | Promise<Float32Array>)[];
}

/**
 * The run's buffers, allocated once where the backend's kernels use them in place, each model's
 * RNG stream, and the initial latents: given, or drawn from the model's stream (target = 0).
 */
function startRun(plan: AMDMPlan, opts: AMDMOptions): Run {
  const { N, size, kernels, seed } = plan;
  const rngs = plan.streams.map((stream) => (seed === null ? null : gaussianRng(seed, stream)));
  const pool = kernels.buffers(3 * N + 3, size);
  const xs = pool.slice(0, N),
    ys = pool.slice(2 * N, 3 * N);
  const [mixed, noiseBuf, epsStage] = pool.slice(3 * N);
  for (let k = 0; k < N; k++) {
    if (plan.latents) xs[k].set(plan.latents[k]);
    else rngs[k]!.fillNormal(xs[k]);
  }
  return {
    plan,
    models: opts.models,
    signal: opts.signal,
    tracing: typeof opts.onStep === 'function',
    xs,
    mus: pool.slice(N, 2 * N),
    ys,
    proposals: [plan.target, ...plan.others].map((k) => ys[k]),
    mixed,
    noise: plan.ddimEta > 0 ? noiseBuf : null,
    epsStage,
    rngs,
    calls: new Array<number>(N).fill(0),
    distances: xs.map(() => new Float64Array(plan.batch)),
    pair: [mixed, mixed],
    pairWeight: [0],
    pending: new Array(N),
  };
}

function openTrace(step: PlannedStep): StepTrace {
  return {
    step: step.index,
    t: step.ddim.t,
    tPrev: step.ddim.tPrev,
    evaluated: [],
    aggregated: step.aggregate,
    inputNorms: [],
    proposalNorms: [],
  };
}

/**
 * Step 1: every active model predicts ε at t — one after the other, or, with `concurrent`, all
 * started together and awaited — and takes its DDIM step. Returns a promise only when a denoiser
 * answers with one: awaiting a plain value would still cost a microtask and garbage every step.
 */
function predict(run: Run, step: PlannedStep, trace: StepTrace | null): Promise<void> | null {
  if (run.plan.concurrent && step.active.length > 1) return predictTogether(run, step, trace);
  return predictInTurn(run, step, trace, 0);
}

/** The active models from the `from`-th on, one after the other. */
function predictInTurn(run: Run, step: PlannedStep, trace: StepTrace | null, from: number): Promise<void> | null {
  const active = step.active;
  for (let a = from; a < active.length; a++) {
    throwIfAborted(run.signal);
    const eps = evaluate(run, active[a], step, trace);
    if (eps instanceof Promise) {
      return eps.then(async (e) => {
        takeStep(run, active[a], e, step, trace);
        await predictInTurn(run, step, trace, a + 1);
      });
    }
    takeStep(run, active[a], eps, step, trace);
  }
  return null;
}

/** Every active model's ε started together, then their DDIM steps in model order. */
async function predictTogether(run: Run, step: PlannedStep, trace: StepTrace | null): Promise<void> {
  const active = step.active;
  throwIfAborted(run.signal);
  for (let a = 0; a < active.length; a++) run.pending[a] = evaluate(run, active[a], step, trace);
  const eps = await Promise.all(run.pending);
  for (let a = 0; a < active.length; a++) takeStep(run, active[a], eps[a], step, trace);
}

/** Model k's ε at this step: the denoiser's answer, a failure named ({@link modelFailure}). */
function evaluate(
  run: Run,
  k: number,
  step: PlannedStep,
  trace: StepTrace | null,
): Float32Array | Promise<Float32Array> {
  const { plan, xs } = run;
  if (trace) {
    trace.evaluated.push(k);
    trace.inputNorms.push(norms(xs[k], plan.batch, plan.dim));
  }
  return epsOf(run.models[k], k, xs[k], step.index, step.ddim.t, plan.batch);
}

/**
 * Checks model k's ε and takes its DDIM step (eq. 4/6): μₖ, and the proposal into yₖ when the
 * step aggregates, else into xₖ itself.
 */
function takeStep(run: Run, k: number, eps: unknown, step: PlannedStep, trace: StepTrace | null): void {
  const { plan, models, epsStage, noise } = run;
  const { kernels, size } = plan;
  const c = step.ddim;
  run.calls[k]++;
  if (!(eps instanceof Float32Array) || eps.length !== size) {
    throw new RangeError(
      `models[${k}] (${models[k].name ?? 'unnamed'}) returned ${describe(eps)} at step ${step.index} (t = ${c.t}); expected a Float32Array of length ${size}`,
    );
  }
  const e = kernels.owns(eps) ? eps : (epsStage.set(eps), epsStage);
  const bad = kernels.firstNonFinite(e);
  if (bad >= 0)
    throw new RangeError(
      `models[${k}] (${models[k].name ?? 'unnamed'}) returned a non-finite value (${eps[bad]}) at index ${bad}, step ${step.index} (t = ${c.t})`,
    );
  if (noise) run.rngs[k]!.fillNormal(noise);
  const proposal = step.aggregate ? run.ys[k] : run.xs[k];
  ddimStepInto(c, run.xs[k], e, run.mus[k], proposal, null, noise, kernels);
  if (trace) trace.proposalNorms.push(norms(proposal, plan.batch, plan.dim));
}

/**
 * Step 2, eq. 8: x′ = the fold of a pairwise rule over the proposals, target first,
 * rule(…rule(rule(y_target, y_a, w_a), y_b, w_b)…), or one symmetric rule over all of them.
 */
function merge(run: Run, step: PlannedStep, trace: StepTrace | null): void {
  const { plan, proposals, mixed, pair, pairWeight } = run;
  const { rule, kernels, batch, dim } = plan;
  if (trace) {
    trace.weights = step.weights.slice();
    trace.angles = [];
  }
  if (rule.symmetric) {
    if (trace)
      for (let j = 1; j < proposals.length; j++) trace.angles!.push(angles(proposals[0], proposals[j], batch, dim));
    const out = rule(proposals, step.symmetricWeights, mixed, dim, kernels);
    if (out !== mixed) mixed.set(out);
  } else {
    mixed.set(proposals[0]);
    for (let j = 1; j < proposals.length; j++) {
      if (trace) trace.angles!.push(angles(mixed, proposals[j], batch, dim));
      pair[1] = proposals[j];
      pairWeight[0] = step.weights[j - 1];
      const out = rule(pair, pairWeight, mixed, dim, kernels);
      if (out !== mixed) mixed.set(out);
    }
  }
  const bad = kernels.firstNonFinite(mixed);
  if (bad >= 0)
    throw new RangeError(
      `rule '${rule.ruleName ?? rule.name}' produced a non-finite value at index ${bad}, step ${step.index}`,
    );
  if (trace) trace.mixedNorms = norms(mixed, batch, dim);
}

/**
 * Step 3, deviation optimization (eq. 9): every model continues from xₖ = x′ − ηₖ (x′ − μₖ)/‖x′ − μₖ‖,
 * per sample; with deviation 'relative', from xₖ = x′ + λₖ (μₖ − x′).
 */
function deviateAll(run: Run, step: PlannedStep, trace: StepTrace | null): void {
  const { plan, mixed, mus, xs, distances } = run;
  if (trace) {
    trace.deviations = [];
    trace.etas = [];
  }
  for (let k = 0; k < plan.N; k++) {
    const eta = step.etas[k];
    if (plan.deviation === 'relative') deviateRelative(mixed, mus[k], eta, xs[k], plan.dim, distances[k]);
    else deviate(mixed, mus[k], eta, xs[k], plan.dim, distances[k], plan.clip, plan.kernels);
    if (trace) {
      trace.deviations!.push(distances[k].slice());
      trace.etas!.push(eta);
    }
  }
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

/**
 * The error of a denoiser that threw or rejected at step `step`: names the model and the step,
 * keeps the original as `cause`. An abort passes through unchanged.
 */
export function modelFailure(model: Denoiser, k: number, step: number, t: number, e: unknown): unknown {
  if (e instanceof Error && e.name === 'AbortError') return e;
  const why = e instanceof Error ? e.message : String(e);
  return new Error(`models[${k}] (${model.name ?? 'unnamed'}) failed at step ${step} (t = ${t}): ${why}`, { cause: e });
}

/**
 * `model.eps(x, t, batch)` with a throw or a rejection turned into {@link modelFailure}: the value
 * itself when the denoiser answers synchronously, else a promise.
 */
function epsOf(
  model: Denoiser,
  k: number,
  x: Float32Array,
  step: number,
  t: number,
  batch: number,
): Float32Array | Promise<Float32Array> {
  let ret: Float32Array | Promise<Float32Array>;
  try {
    ret = model.eps(x, t, batch);
  } catch (e) {
    return Promise.reject(modelFailure(model, k, step, t, e));
  }
  return ret instanceof Promise
    ? ret.catch((e: unknown) => {
        throw modelFailure(model, k, step, t, e);
      })
    : ret;
}

/** `model.eps(…)` as a promise whose failure is {@link modelFailure}. */
export async function callModel(
  model: Denoiser,
  k: number,
  x: Float32Array,
  step: number,
  t: number,
  batch: number,
): Promise<Float32Array> {
  return epsOf(model, k, x, step, t, batch);
}
