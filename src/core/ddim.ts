/**
 * DDIM (Song et al. 2021; AMDM paper eq. 4 and 6), exactly as diffusers' `DDIMScheduler.step`
 * for ε-prediction (`scheduling_ddim.py:342-468`, v0.27.0) without clipping or thresholding:
 *
 *   x̂₀   = (x_t − √(1−ᾱ_t) ε) / √ᾱ_t
 *   σ_t  = η_ddim · √((1−ᾱ_prev)/(1−ᾱ_t) · (1 − ᾱ_t/ᾱ_prev))
 *   μ    = √ᾱ_prev · x̂₀ + √(1 − ᾱ_prev − σ_t²) · ε          (the step mean, eq. 6)
 *   x_prev = μ + σ_t z,  z ~ N(0, I)
 *
 * With η_ddim = 0, x_prev = μ = A x_t + B ε with A = √(ᾱ_prev/ᾱ_t) and
 * B = √(1−ᾱ_prev) − √ᾱ_prev √(1−ᾱ_t)/√ᾱ_t. Arithmetic is float64 per element, rounded once to
 * float32 on store (diffusers computes in the latents' dtype, float32 or float16).
 */
import type { NoiseSchedule } from './schedule.ts';
import { alphaBar } from './schedule.ts';
import { checkNumber } from './validate.ts';
import { kernelBackend, type KernelBackend } from './backend.ts';
import type { DDIMCoefficients } from './kernel-types.ts';

export type { DDIMCoefficients } from './kernel-types.ts';

export function ddimCoefficients(schedule: NoiseSchedule, t: number, tPrev: number, eta = 0): DDIMCoefficients {
  checkNumber('eta', eta, 0, Infinity);
  if (!(tPrev < t)) throw new RangeError(`tPrev must be smaller than t (${t}), got ${tPrev}`);
  const a = alphaBar(schedule, t);
  const ap = alphaBar(schedule, tPrev);
  if (t < 0) throw new RangeError(`t must be a training timestep ≥ 0, got ${t}`);
  const variance = ((1 - ap) / (1 - a)) * (1 - a / ap);
  const sigma = eta * Math.sqrt(variance);
  const dirSq = 1 - ap - sigma * sigma;
  if (dirSq < 0) {
    throw new RangeError(`eta (η_ddim) = ${eta} is too large at t = ${t}: 1 − ᾱ_prev − σ² < 0; use η_ddim in [0, 1]`);
  }
  const sa = Math.sqrt(a);
  const x0FromX = 1 / sa;
  const x0FromEps = -Math.sqrt(1 - a) / sa;
  const meanFromX0 = Math.sqrt(ap);
  const meanFromEps = Math.sqrt(dirSq);
  return {
    t,
    tPrev,
    alphaBar: a,
    alphaBarPrev: ap,
    sigma,
    x0FromX,
    x0FromEps,
    meanFromX0,
    meanFromEps,
    A: meanFromX0 * x0FromX,
    B: meanFromX0 * x0FromEps + meanFromEps,
  };
}

/** What `ddimStepInto` writes besides the step mean μ, and what it draws on. */
export interface DDIMStepOptions {
  /** x_prev = μ + σ·noise (eq. 4); may alias `mean`. */
  prev?: Float32Array | null;
  /** x̂₀. */
  x0?: Float32Array | null;
  /** z ~ N(0, I) of the step, required with `prev` when σ > 0 (η_ddim > 0). */
  noise?: Float32Array | null;
  /** The kernel backend (default: the active one, see `backend.ts`). */
  kernels?: KernelBackend;
}

const NO_STEP_OPTIONS: DDIMStepOptions = Object.freeze({});

/**
 * One DDIM step into caller-owned buffers (no allocation). Writes the step mean μ into `mean`;
 * when `opts.prev` is given, writes x_prev = μ + σ·noise (noise required when σ > 0; `prev` may
 * alias `mean`); when `opts.x0` is given, writes x̂₀. `mean` may alias `x` or `eps`. Runs on
 * `opts.kernels` (default: the active backend, see `backend.ts`); the `js` backend computes as
 * described above, `wasm` computes μ = A·x + B·ε in float32 (a few ulps from it). A loop that
 * steps every iteration builds `opts` once and updates its fields in place.
 */
export function ddimStepInto(
  c: DDIMCoefficients,
  x: Float32Array,
  eps: Float32Array,
  mean: Float32Array,
  opts: DDIMStepOptions = NO_STEP_OPTIONS,
): void {
  const { prev = null, x0 = null, noise = null, kernels } = opts;
  const n = x.length;
  if (eps.length !== n) throw new RangeError(`eps must have the length of x (${n}), got ${eps.length}`);
  if (mean.length !== n) throw new RangeError(`mean must have the length of x (${n}), got ${mean.length}`);
  if (prev && prev.length !== n) throw new RangeError(`prev must have the length of x (${n}), got ${prev.length}`);
  if (x0 && x0.length !== n) throw new RangeError(`x0 must have the length of x (${n}), got ${x0.length}`);
  const needNoise = prev && c.sigma > 0;
  if (needNoise && (!noise || noise.length !== n)) {
    throw new RangeError(`noise must be a Float32Array of length ${n} when η_ddim > 0`);
  }
  (kernels ?? kernelBackend()).ddim(c, x, eps, mean, prev, x0, noise);
}

export interface DDIMStepResult {
  prev: Float32Array;
  mean: Float32Array;
  x0: Float32Array;
}

/** One DDIM step (allocating form of {@link ddimStepInto}). */
export function ddimStep(
  schedule: NoiseSchedule,
  x: Float32Array,
  eps: Float32Array,
  t: number,
  tPrev: number,
  opts: { eta?: number; noise?: Float32Array } = {},
): DDIMStepResult {
  const c = ddimCoefficients(schedule, t, tPrev, opts.eta ?? 0);
  const mean = new Float32Array(x.length);
  const prev = new Float32Array(x.length);
  const x0 = new Float32Array(x.length);
  ddimStepInto(c, x, eps, mean, { prev, x0, noise: opts.noise ?? null });
  return { prev, mean, x0 };
}

/**
 * Classifier-free guidance (Ho & Salimans 2022): ε = ε_u + g·(ε_c − ε_u), the convention of
 * every model here (sources M§2.7). `out` may alias either input.
 */
export function cfgCombine(uncond: Float32Array, cond: Float32Array, scale: number, out?: Float32Array): Float32Array {
  checkNumber('scale', scale);
  if (cond.length !== uncond.length)
    throw new RangeError(`cond must have the length of uncond (${uncond.length}), got ${cond.length}`);
  const res = out ?? new Float32Array(uncond.length);
  if (res.length !== uncond.length) throw new RangeError(`out must have length ${uncond.length}, got ${res.length}`);
  for (let i = 0; i < res.length; i++) {
    const u = uncond[i];
    res[i] = u + scale * (cond[i] - u);
  }
  return res;
}
