/**
 * The types the kernel backends share, apart from the modules that pick a backend (backend.ts)
 * or use one (ddim.ts, rules.ts, deviation.ts), so that no module imports its own importer.
 */
import type { SphereScratch } from './kernel-math.ts';

export type BackendName = 'js' | 'wasm';

/** The per-step DDIM coefficients of t → tPrev (`ddimCoefficients`, eq. 4/6). */
export interface DDIMCoefficients {
  readonly t: number;
  readonly tPrev: number;
  readonly alphaBar: number;
  readonly alphaBarPrev: number;
  /** σ_t for the given η_ddim. */
  readonly sigma: number;
  /** x̂₀ = x0FromX·x + x0FromEps·ε. */
  readonly x0FromX: number;
  readonly x0FromEps: number;
  /** μ = meanFromX0·x̂₀ + meanFromEps·ε. */
  readonly meanFromX0: number;
  readonly meanFromEps: number;
  /** μ = A·x + B·ε (closed form, for reference and tests). */
  readonly A: number;
  readonly B: number;
}

/**
 * The contract between the checked kernels (ddim.ts, rules.ts, deviation.ts) and a backend that
 * runs their element loops. Its methods take positional arguments on purpose, unlike the public
 * kernels' options objects: the arguments are checked once by the caller and passed straight on,
 * the WASM backend hands them to exports whose parameters are positional by nature (pointers and
 * numbers), and a record per call would be an allocation in the hot loop or one more mutable
 * object shared across the backends.
 */
export interface KernelBackend {
  readonly name: BackendName;
  /** `count` zeroed Float32Arrays of `n` values that this backend's kernels use without copying. */
  buffers(count: number, n: number): Float32Array[];
  /** Whether the kernels use `x` in place (true for every array on `js`). */
  owns(x: Float32Array): boolean;
  /** DDIM step (eq. 4/6, see `ddimStepInto`): mean, and optionally prev (= mean + σ·noise) and x̂₀. */
  ddim(
    c: DDIMCoefficients,
    x: Float32Array,
    eps: Float32Array,
    mean: Float32Array,
    prev: Float32Array | null,
    x0: Float32Array | null,
    noise: Float32Array | null,
  ): void;
  /** out = ca·a + cb·b (lerp, vp). */
  combine(a: Float32Array, b: Float32Array, ca: number, cb: number, out: Float32Array): void;
  /** Eq. 8 per sample of `dim` values. */
  slerp(a: Float32Array, b: Float32Array, w: number, out: Float32Array, dim: number): void;
  /** Normalized lerp per sample. */
  nlerp(a: Float32Array, b: Float32Array, w: number, out: Float32Array, dim: number): void;
  /** The weighted spherical (Karcher) mean per sample, on the calling rule's float64 scratch. */
  sphericalMean(
    xs: readonly Float32Array[],
    weights: readonly number[],
    out: Float32Array,
    dim: number,
    tol: number,
    maxIt: number,
    scratch: SphereScratch,
  ): void;
  /** Eq. 9 per sample; per-sample distances into `distances` when given. */
  deviate(
    x: Float32Array,
    mu: Float32Array,
    eta: number,
    out: Float32Array,
    dim: number,
    distances: Float64Array | undefined,
    clip: boolean,
  ): void;
  /** Index of the first NaN or ±∞, or −1. */
  firstNonFinite(x: Float32Array): number;
  /** ‖a‖² over one sample block, float64. */
  sqNormAt(a: Float32Array, offset: number, dim: number): number;
}
