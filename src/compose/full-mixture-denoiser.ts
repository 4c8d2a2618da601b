/**
 * The exact denoiser of a full-covariance Gaussian mixture under a noise schedule (sources C§7,
 * "Full"), with its exact log density and score.
 */
import { alphaBar as scheduleAlphaBar, type NoiseSchedule } from '../core/schedule.ts';
import { checkInt, describe } from '../core/validate.ts';
import type { GaussianMixture } from '../toy/mixture.ts';
import type { ExactModel } from './types.ts';
import { toFullMixture, type FullMixture } from './full-mixture.ts';
import { checkPoints, compile, evaluate, uncompiled, type MixtureEvaluation } from './full-mixture-eval.ts';

/** t → ᾱ: a NoiseSchedule (integer t, negative = final ᾱ) or `{ alphaBar(t) }`. */
export type AlphaBarSource = NoiseSchedule | { readonly alphaBar: (t: number) => number };

export function alphaBarOf(schedule: AlphaBarSource): (t: number) => number {
  if (typeof schedule === 'object' && schedule !== null && 'alphasCumprod' in schedule) {
    return (t) => scheduleAlphaBar(schedule, t);
  }
  if (typeof schedule === 'object' && schedule !== null && typeof schedule.alphaBar === 'function') {
    const f = schedule.alphaBar;
    return (t) => {
      const a = f(t);
      if (typeof a !== 'number' || !(a >= 0 && a <= 1))
        throw new RangeError(`schedule.alphaBar(t) must return a number in [0, 1], got ${describe(a)} at t = ${t}`);
      return a;
    };
  }
  throw new TypeError(`schedule must be a NoiseSchedule or { alphaBar: (t) => number }, got ${describe(schedule)}`);
}

export interface FullMixtureDenoiser extends ExactModel {
  readonly mixture: FullMixture;
  /** ε*(x, t) = −√(1−ᾱ) ∇log q_t(x); a buffer owned by the denoiser, overwritten by the next call. */
  eps(x: Float32Array, t: number, batch: number): Float32Array;
  /** Exact normalized log q_t(x) per sample. */
  logDensity(x: Float32Array, t: number, batch: number, out?: Float64Array): Float64Array;
  /** ∇log q_t(x), batch·dim values. */
  score(x: Float32Array, t: number, batch: number, out?: Float32Array): Float32Array;
}

/**
 * The exact denoiser of a full-covariance mixture (sources C§7, "Full"):
 * q_t = Σₖ πₖ N(aμₖ, Cₖ), Cₖ = a²Σₖ + s²I, ε* = s Σₖ rₖ Cₖ⁻¹(x − aμₖ). Cholesky factors are
 * recomputed only when ᾱ changes; buffers grow only with the batch.
 */
// Over 60 lines: a closure over its evaluation state, whose three methods (ε, log density, score) share one evaluation.
export function fullMixtureDenoiser(
  mix: GaussianMixture | FullMixture,
  schedule: AlphaBarSource,
  opts: { name?: string } = {},
): FullMixtureDenoiser {
  const m = toFullMixture(mix);
  const ab = alphaBarOf(schedule);
  const d = m.dim;
  const K = m.weights.length;
  let cap = 0;
  let acc = new Float64Array(0);
  let epsBuf = new Float32Array(0);
  const state: MixtureEvaluation = {
    mix: m,
    compiled: uncompiled(m),
    L: new Float64Array(0),
    logQ: new Float64Array(0),
    work: new Float64Array(K * d),
    acc: null,
  };

  /** Checks x, batch and t, compiles the level when ᾱ changed, grows the buffers, and evaluates; returns ᾱ. */
  function run(x: Float32Array, t: number, batch: number, withScore: boolean): number {
    checkInt('batch', batch, 1);
    checkPoints('x', x, d, batch);
    if (!(x instanceof Float32Array)) throw new TypeError(`x must be a Float32Array, got ${describe(x)}`);
    const abar = ab(t);
    if (state.compiled.abar !== abar) compile(m, abar, state.compiled);
    if (batch > cap) {
      cap = batch;
      state.L = new Float64Array(batch * K);
      state.logQ = new Float64Array(batch);
      acc = new Float64Array(batch * d);
      epsBuf = new Float32Array(batch * d);
    }
    state.acc = withScore ? acc : null;
    evaluate(state, x, batch);
    return abar;
  }

  return {
    name: opts.name ?? `full-gmm(K=${K}, dim=${d})`,
    mixture: m,
    eps(x, t, batch) {
      const abar = run(x, t, batch, true);
      const s = Math.sqrt(1 - abar);
      const out = epsBuf.length === batch * d ? epsBuf : epsBuf.subarray(0, batch * d);
      for (let i = 0; i < batch * d; i++) out[i] = s * acc[i];
      return out;
    },
    logDensity(x, t, batch, out) {
      run(x, t, batch, false);
      const res = out ?? new Float64Array(batch);
      if (!(res instanceof Float64Array) || res.length !== batch)
        throw new RangeError(`out must be a Float64Array of length batch = ${batch}`);
      res.set(state.logQ.subarray(0, batch));
      return res;
    },
    score(x, t, batch, out) {
      run(x, t, batch, true);
      const res = out ?? new Float32Array(batch * d);
      if (!(res instanceof Float32Array) || res.length !== batch * d)
        throw new RangeError(`out must be a Float32Array of length batch·dim = ${batch * d}`);
      for (let i = 0; i < batch * d; i++) res[i] = -acc[i];
      return res;
    },
  };
}
