/**
 * Particle weights and systematic resampling (sources C§4.4, FKC's
 * `sample_cat_sys`): p = softmax(log w); u ~ U(0, 1); targets (u + i)/N; index i is the first j
 * with cumsum(p)_j > target (clamped to N − 1). ESS = 1/Σ pᵢ².
 */
import { checkNumber, describe } from '../core/validate.ts';

function checkLogWeights(logw: unknown): Float64Array {
  if (!(logw instanceof Float64Array) || logw.length < 1)
    throw new TypeError(`logWeights must be a non-empty Float64Array, got ${describe(logw)}`);
  let finite = false;
  for (let i = 0; i < logw.length; i++) {
    const v = logw[i];
    if (Number.isNaN(v) || v === Infinity) throw new RangeError(`logWeights[${i}] must be a number < +∞, got ${v}`);
    if (v > -Infinity) finite = true;
  }
  if (!finite) throw new RangeError('logWeights must have at least one finite entry (every particle has weight 0)');
  return logw;
}

/** Normalized weights p = softmax(log w) into `out` (log-sum-exp stabilized); returns `out`. */
export function normalizeWeights(logw: Float64Array, out?: Float64Array): Float64Array {
  checkLogWeights(logw);
  const n = logw.length;
  const p = out ?? new Float64Array(n);
  if (p.length !== n) throw new RangeError(`out must have length ${n}, got ${p.length}`);
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (logw[i] > max) max = logw[i];
  let s = 0;
  for (let i = 0; i < n; i++) {
    p[i] = Math.exp(logw[i] - max);
    s += p[i];
  }
  for (let i = 0; i < n; i++) p[i] /= s;
  return p;
}

/** Effective sample size 1/Σ pᵢ² of log-weights, in [1, N]. */
export function effectiveSampleSize(logw: Float64Array): number {
  checkLogWeights(logw);
  let max = -Infinity;
  for (let i = 0; i < logw.length; i++) if (logw[i] > max) max = logw[i];
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < logw.length; i++) {
    const w = Math.exp(logw[i] - max);
    s += w;
    s2 += w * w;
  }
  return (s * s) / s2;
}

/**
 * Systematic resampling: out[i] = the index of the particle that slot i copies. `u` in [0, 1)
 * is the single uniform; `scratch` (N entries) avoids an allocation.
 */
export function systematicResample(
  logw: Float64Array,
  u: number,
  out?: Int32Array,
  scratch?: Float64Array,
): Int32Array {
  checkLogWeights(logw);
  checkNumber('u', u, 0, 1);
  if (u === 1) throw new RangeError('u must be in [0, 1), got 1');
  const n = logw.length;
  const idx = out ?? new Int32Array(n);
  if (idx.length !== n) throw new RangeError(`out must have length ${n}, got ${idx.length}`);
  const p = normalizeWeights(logw, scratch && scratch.length === n ? scratch : undefined);
  let j = 0;
  let cum = p[0];
  for (let i = 0; i < n; i++) {
    const target = (u + i) / n;
    while (j < n - 1 && !(cum > target)) cum += p[++j];
    idx[i] = j;
  }
  return idx;
}

/** x ← x[idx] per particle of `dim` values, through `scratch` (same length as x). */
export function gatherInto(x: Float32Array, dim: number, idx: Int32Array, scratch: Float32Array): void {
  for (let i = 0; i < idx.length; i++) {
    const src = idx[i] * dim;
    for (let j = 0; j < dim; j++) scratch[i * dim + j] = x[src + j];
  }
  x.set(scratch);
}

/** v ← v[idx] for a per-particle scalar array. */
export function gatherScalars(v: Float64Array, idx: Int32Array, scratch: Float64Array): void {
  for (let i = 0; i < idx.length; i++) scratch[i] = v[idx[i]];
  for (let i = 0; i < idx.length; i++) v[i] = scratch[i];
}

/**
 * `kept` of `N` equally weighted particles (each `dim` values) at evenly spaced slots
 * ⌊(b + ½)·N / kept⌋: a stratified pick, since after resampling the particles are in ancestor
 * order and the first ones would share ancestors. Kept particles may still share an ancestor.
 * Returns `samples` itself when kept = N.
 */
export function evenlySpacedParticles(samples: Float32Array, N: number, kept: number, dim: number): Float32Array {
  if (kept === N) return samples;
  const out = new Float32Array(kept * dim);
  for (let b = 0; b < kept; b++) {
    const slot = Math.floor(((b + 0.5) * N) / kept);
    out.set(samples.subarray(slot * dim, (slot + 1) * dim), b * dim);
  }
  return out;
}

export const RESAMPLE_POLICIES = ['always', 'ess', 'never'] as const;
export type ResamplePolicy = (typeof RESAMPLE_POLICIES)[number];
