/** The options and results of the AMDM sampler (sampler.ts) and of plain DDIM, and the per-step trace. */
import type { Denoiser } from './types.ts';
import type { NoiseSchedule, TimestepSpacing } from './schedule.ts';
import type { DeviationMode } from './deviation.ts';
import type { RuleRef } from './rule-registry.ts';
import type { BackendName, KernelBackend } from './backend.ts';
import type { SpatialMapInput } from './spatial.ts';

export type PerStep<T> = T | ((step: number) => T);

export interface AMDMOptions {
  /** The N ≥ 1 models; all share the schedule and latent shape. */
  models: readonly Denoiser[];
  /** Index of the target model (the one whose sample is returned). Default 0. */
  target?: number;
  /** T: number of DDIM steps. */
  steps: number;
  /** s: aggregation happens in steps 0 … s−1 (0 ≤ s ≤ T): the default window of every non-target model (`windows`). */
  aggregateSteps: number;
  /**
   * The paper's w for each non-target model, in model order (target skipped): the weight of the
   * other model in the fold (0 keeps the target). A number applies to all; a function of the
   * step gives per-step weights. Default 0.5 (`AMDM_DEFAULTS.weight`).
   */
  weights?: PerStep<number | readonly number[]> | WeightSchedule | readonly (number | WeightSchedule)[];
  /**
   * Not in the paper: when each non-target model is merged, one entry per non-target model in
   * model order (target skipped): [start, end) merges it on steps start … end − 1 (0 ≤ start ≤
   * end ≤ T), null keeps the default [0, s). A model is evaluated only inside its window; one
   * whose window starts after the run's first step starts from the target's latent there (it
   * joins the sample the target has made so far), one that starts at step 0 from its own noise
   * draw (Algorithm 1). A step merges the models whose windows hold it; the target always runs.
   */
  windows?: readonly (readonly [number, number] | null)[];
  /**
   * Not in the paper: a weight map per non-target model (model order, target skipped; null for
   * none), one value in [0, 1] per latent cell of the last two axes of `shape` (H·W, row-major),
   * shared by the leading axes; the model's weight at a cell is w·m (see spatial.ts for how it
   * composes with slerp's angle). Only for the rules slerp, lerp and vp. `boxWeightMap` derives
   * one from boxes with a feathered edge.
   */
  spatialWeights?: readonly (SpatialMapInput | null)[];
  /**
   * Restrict each mapped model's deviation step to its map (spatial.ts; default false: the
   * step of eq. 9 over the whole sample). The target's step is never restricted: where no map
   * is, x′ is its own proposal, so its pull is already 0 there when η_ddim = 0.
   */
  spatialDeviation?: boolean;
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

/**
 * A weight over the steps of a model's window [start, end) (not in the paper), at the position
 * u = (i − start)/(end − start − 1) ∈ [0, 1] of step i (u = 0 for a one-step window):
 * 'constant' is `value`; 'linear' (1 − u)·from + u·to (exact at both ends); 'cosine' to + (from − to)·(1 + cos πu)/2
 * (starts at `from`, ends at `to`, flat at both ends); 'list' gives the weight of every step of
 * the window (its length must equal the window's). Every weight lies in [0, 1].
 */
export type WeightSchedule =
  | { readonly kind: 'constant'; readonly value: number }
  | { readonly kind: 'linear'; readonly from: number; readonly to: number }
  | { readonly kind: 'cosine'; readonly from: number; readonly to: number }
  | { readonly kind: 'list'; readonly values: readonly number[] };

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
   * running merge and the j-th merged model's proposal (θ_m where the model has a spatial map,
   * spatial.ts); for a symmetric rule, between the target and each other proposal.
   */
  angles?: Float64Array[];
  /**
   * Per evaluated model (the order of `evaluated`): per-sample ‖x′ − μₖ‖, or ‖m⊙(x′ − μₖ)‖ for a
   * deviation restricted by a map (aggregated steps only).
   */
  deviations?: Float64Array[];
  /**
   * Per evaluated model: the absolute step length used in eq. 9 (after √d scaling); with
   * `deviation: 'relative'`, the fraction λ (the step length is λ·`deviations`).
   */
  etas?: number[];
  /** The weights used (one per non-target model; 0 for a model outside its window). */
  weights?: number[];
}

export interface AMDMResult {
  /** The target's final latent (B·d values). */
  latents: Float32Array;
  /** Every model's latent where it stopped (the target's equals `latents`). */
  modelLatents: Float32Array[];
  /** The initial latents each model started from. */
  initialLatents: Float32Array[];
  /** Model calls per model: T for the target, s (or its window's length) for the others. */
  calls: number[];
  totalCalls: number;
  timesteps: number[];
  shape: number[];
  batch: number;
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
  | 'windows'
  | 'spatialWeights'
  | 'spatialDeviation'
> & {
  latents?: Float32Array;
  /** The RNG stream of the initial latent and the DDIM noise (default 0, the target's). */
  stream?: number;
};
