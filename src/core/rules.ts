/**
 * Aggregation rules (AMDM paper §3.2, eq. 8, and its ablations). Every rule works per sample
 * (blocks of `dim` elements) and writes `out`, which may alias `xs[0]`.
 *
 * Weight convention (DESIGN): a pairwise rule's `w` is the weight of the *other* model b:
 * w = 0 returns a, w = 1 returns b. The official code's `ω` weights the *target* in its `vp`
 * merge; `vp` with weight w here equals the official ω = √(1 − w²).
 */
import type { AggregationRule } from './types.ts';
import { clampUnit, sqNormAt, batchOf } from './tensor.ts';
import { checkNumber } from './validate.ts';

/** Below this angle (radians) slerp's sin θ in the denominator loses precision: use lerp. */
export const SLERP_LERP_THRESHOLD = 1e-4;
/** Within this distance of π the great circle through a and b is not unique. */
export const SLERP_ANTIPODAL_TOLERANCE = 1e-6;

function checkPair(name: string, xs: readonly Float32Array[], weights: readonly number[], out: Float32Array, dim: number): number {
  if (xs.length !== 2) throw new RangeError(`${name}: xs must hold exactly 2 tensors (a pairwise rule), got ${xs.length}`);
  if (weights.length !== 1) throw new RangeError(`${name}: weights must hold exactly 1 weight, got ${weights.length}`);
  const w = weights[0];
  if (!(typeof w === 'number' && w >= 0 && w <= 1)) checkNumber(`${name}: weight`, w, 0, 1);
  const batch = batchOf(`${name}: xs[0]`, xs[0], dim);
  if (xs[1].length !== xs[0].length) throw new RangeError(`${name}: xs[1] must have length ${xs[0].length}, got ${xs[1].length}`);
  if (out.length !== xs[0].length) throw new RangeError(`${name}: out must have length ${xs[0].length}, got ${out.length}`);
  return batch;
}

function named<F extends (...a: never[]) => unknown>(fn: F, ruleName: string, symmetric = false): F & { ruleName: string; symmetric: boolean } {
  return Object.assign(fn, { ruleName, symmetric });
}

/**
 * Linear interpolation (the paper's "linear" ablation, §4.4): (1 − w)·a + w·b. Shrinks the norm:
 * for orthogonal a, b of equal norm r, ‖lerp‖ = r·√((1−w)² + w²).
 */
export const lerp: AggregationRule = named((xs, weights, out, dim) => {
  checkPair('lerp', xs, weights, out, dim);
  const w = weights[0];
  const a = xs[0], b = xs[1];
  for (let i = 0; i < out.length; i++) out[i] = (1 - w) * a[i] + w * b[i];
  return out;
}, 'lerp');

/**
 * Spherical linear interpolation, paper eq. 8:
 *   slerp(a, b; w) = sin((1−w)θ)/sin θ · a + sin(wθ)/sin θ · b,  θ = arccos(⟨a, b⟩ / (‖a‖‖b‖)).
 * θ comes from the *normalized* dot product (the paper writes x₁·x₂ for unit vectors).
 * - θ < SLERP_LERP_THRESHOLD (or a zero input): falls back to lerp (the limit of the formula).
 * - θ within SLERP_ANTIPODAL_TOLERANCE of π: the great circle is not unique; throws a RangeError
 *   naming the sample instead of returning a huge or NaN result.
 * With ‖a‖ = ‖b‖ the result keeps that norm and makes the angle w·θ with a.
 * Near θ = π with *unequal* norms the coefficients grow like 1/sin θ and no longer cancel, so
 * ‖slerp‖ grows like |‖a‖ − ‖b‖|·sin(wπ)/sin θ: that is eq. 8 as written. In high dimension
 * two latents are almost never near-antipodal; in 2-D toys they are (the composition benchmark
 * shows it). `sphericalMean` — slerp of the unit directions with the norm interpolated
 * linearly — stays bounded there and equals this rule when the norms are equal.
 * The official code does not use this formula (see `vp`).
 */
export const slerp: AggregationRule = named((xs, weights, out, dim) => {
  const batch = checkPair('slerp', xs, weights, out, dim);
  const w = weights[0];
  const a = xs[0], b = xs[1];
  for (let s = 0; s < batch; s++) {
    const o = s * dim;
    // one pass for ⟨a, b⟩, ‖a‖², ‖b‖²; acos of the normalized dot product is accurate to
    // ~1e-16/sin θ, ample above the lerp threshold (θ ≥ 1e-4) and below the antipodal one
    let dot = 0, aa = 0, bb = 0;
    for (let i = o; i < o + dim; i++) {
      const u = a[i], v = b[i];
      dot += u * v;
      aa += u * u;
      bb += v * v;
    }
    const na = Math.sqrt(aa), nb = Math.sqrt(bb);
    let ca = 1 - w, cb = w;
    if (na > 0 && nb > 0) {
      const theta = Math.acos(clampUnit(dot / (na * nb)));
      if (Math.PI - theta < SLERP_ANTIPODAL_TOLERANCE) {
        throw new RangeError(`slerp: sample ${s} has antipodal inputs (θ = π): the interpolation path is not unique`);
      }
      if (theta >= SLERP_LERP_THRESHOLD) {
        const st = Math.sin(theta);
        ca = Math.sin((1 - w) * theta) / st;
        cb = Math.sin(w * theta) / st;
      }
    }
    for (let i = o; i < o + dim; i++) out[i] = ca * a[i] + cb * b[i];
  }
  return out;
}, 'slerp');

/**
 * Normalized lerp: the lerp direction rescaled to the interpolated norm (1 − w)‖a‖ + w‖b‖.
 * Cheaper than slerp and norm-preserving, but does not move at constant angular speed.
 * Throws when the lerp is the zero vector (antipodal inputs of equal norm at w = ½).
 */
export const nlerp: AggregationRule = named((xs, weights, out, dim) => {
  const batch = checkPair('nlerp', xs, weights, out, dim);
  const w = weights[0];
  const a = xs[0], b = xs[1];
  for (let s = 0; s < batch; s++) {
    const o = s * dim;
    const target = (1 - w) * Math.sqrt(sqNormAt(a, o, dim)) + w * Math.sqrt(sqNormAt(b, o, dim));
    let sq = 0;
    for (let i = o; i < o + dim; i++) {
      const v = (1 - w) * a[i] + w * b[i];
      sq += v * v;
    }
    if (sq === 0) {
      if (target === 0) { for (let i = o; i < o + dim; i++) out[i] = 0; continue; }
      throw new RangeError(`nlerp: sample ${s}: the linear interpolation is zero (antipodal inputs), its direction is undefined`);
    }
    const k = target / Math.sqrt(sq);
    for (let i = o; i < o + dim; i++) out[i] = k * ((1 - w) * a[i] + w * b[i]);
  }
  return out;
}, 'nlerp');

/**
 * The official code's "spherical" merge (`interactmigc.py:431`): ω·a + √(1 − ω²)·b with ω the
 * weight of the target. Here with the paper's w (weight of b): √(1 − w²)·a + w·b, i.e.
 * ω = √(1 − w²). Variance-preserving for independent inputs; equals slerp only at θ = 90°.
 */
export const vp: AggregationRule = named((xs, weights, out, dim) => {
  checkPair('vp', xs, weights, out, dim);
  const w = weights[0];
  const ca = Math.sqrt(1 - w * w);
  const a = xs[0], b = xs[1];
  for (let i = 0; i < out.length; i++) out[i] = ca * a[i] + w * b[i];
  return out;
}, 'vp');

export interface SphericalMeanOptions {
  /** Stop when the tangent-space update ‖u‖ (radians) falls below this. Default 1e-10. */
  tolerance?: number;
  /** Throw when not converged after this many iterations. Default 100. */
  maxIterations?: number;
}

let scratchQ = new Float64Array(0);
let scratchN = new Float64Array(0);
let scratchU = new Float64Array(0);

/**
 * A symmetric N-way weighted spherical mean (a weighted Fréchet/Karcher mean on the sphere,
 * Buss & Fillmore 2001): the direction q minimizing Σ wₖ·arccos(⟨q, x̂ₖ⟩)², found by the fixed
 * point q ← exp_q(Σ wₖ log_q(x̂ₖ)) from the normalized Euclidean mean, until ‖Σ wₖ log_q(x̂ₖ)‖ <
 * tolerance; the radius is Σ wₖ‖xₖ‖. For two inputs of equal norm it equals slerp(a, b; w₂).
 * Unlike a fold of pairwise slerps it does not depend on the order of the models.
 * Weights: N non-negative numbers summing to 1 (the sampler derives them from the paper's w's).
 */
export function makeSphericalMean(opts: SphericalMeanOptions = {}): AggregationRule {
  const tol = checkNumber('tolerance', opts.tolerance ?? 1e-10, 0, 1, { minExclusive: true });
  const maxIt = checkNumber('maxIterations', opts.maxIterations ?? 100, 1, 1e6);
  const fn = (xs: readonly Float32Array[], weights: readonly number[], out: Float32Array, dim: number): Float32Array => {
    const n = xs.length;
    if (n < 1) throw new RangeError('sphericalMean: xs must hold at least 1 tensor');
    if (weights.length !== n) throw new RangeError(`sphericalMean: weights must hold ${n} weights (one per tensor), got ${weights.length}`);
    let sum = 0;
    for (let k = 0; k < n; k++) {
      const wk = weights[k];
      sum += typeof wk === 'number' && wk >= 0 && wk <= 1 ? wk : checkNumber(`sphericalMean: weights[${k}]`, wk, 0, 1);
    }
    if (Math.abs(sum - 1) > 1e-9) throw new RangeError(`sphericalMean: weights must sum to 1, got ${sum}`);
    const batch = batchOf('sphericalMean: xs[0]', xs[0], dim);
    for (let k = 1; k < n; k++) {
      if (xs[k].length !== xs[0].length) throw new RangeError(`sphericalMean: xs[${k}] must have length ${xs[0].length}, got ${xs[k].length}`);
    }
    if (out.length !== xs[0].length) throw new RangeError(`sphericalMean: out must have length ${xs[0].length}, got ${out.length}`);
    if (scratchQ.length < dim) { scratchQ = new Float64Array(dim); scratchU = new Float64Array(dim); }
    const q = scratchQ, u = scratchU;
    if (scratchN.length < n) scratchN = new Float64Array(n);
    const norms = scratchN;
    for (let s = 0; s < batch; s++) {
      const o = s * dim;
      let radius = 0;
      for (let k = 0; k < n; k++) {
        norms[k] = Math.sqrt(sqNormAt(xs[k], o, dim));
        radius += weights[k] * norms[k];
      }
      // start: normalized weighted mean of the unit vectors
      q.fill(0, 0, dim);
      for (let k = 0; k < n; k++) {
        if (norms[k] === 0 || weights[k] === 0) continue;
        const c = weights[k] / norms[k];
        const x = xs[k];
        for (let i = 0; i < dim; i++) q[i] += c * x[o + i];
      }
      let qn = norm64(q, dim);
      if (qn === 0) throw new RangeError(`sphericalMean: sample ${s}: the weighted directions cancel; the spherical mean is not unique`);
      for (let i = 0; i < dim; i++) q[i] /= qn;
      let converged = false;
      for (let it = 0; it < maxIt; it++) {
        u.fill(0, 0, dim);
        for (let k = 0; k < n; k++) {
          if (norms[k] === 0 || weights[k] === 0) continue;
          const x = xs[k];
          const inv = 1 / norms[k];
          let c = 0;
          for (let i = 0; i < dim; i++) c += q[i] * x[o + i];
          c *= inv;
          // sin θ = ‖x̂ − cos θ·q‖ and θ = atan2(sin θ, cos θ): accurate for small θ, where
          // acos(cos θ) loses half the digits
          let ss = 0;
          for (let i = 0; i < dim; i++) {
            const p = x[o + i] * inv - c * q[i];
            ss += p * p;
          }
          const sinT = Math.sqrt(ss);
          if (sinT < 1e-300) continue;
          const theta = Math.atan2(sinT, c);
          // log_q(x̂) = θ/sin θ · (x̂ − cos θ · q)
          const f = (weights[k] * theta) / sinT;
          for (let i = 0; i < dim; i++) u[i] += f * (x[o + i] * inv - c * q[i]);
        }
        const un = norm64(u, dim);
        if (un < tol) { converged = true; break; }
        // q ← exp_q(u) = cos‖u‖·q + sin‖u‖·u/‖u‖, renormalized against drift
        const cu = Math.cos(un), su = Math.sin(un) / un;
        for (let i = 0; i < dim; i++) q[i] = cu * q[i] + su * u[i];
        qn = norm64(q, dim);
        for (let i = 0; i < dim; i++) q[i] /= qn;
      }
      if (!converged) {
        throw new RangeError(`sphericalMean: sample ${s} did not converge to tolerance ${tol} in ${maxIt} iterations (inputs spread over more than a hemisphere?)`);
      }
      for (let i = 0; i < dim; i++) out[o + i] = radius * q[i];
    }
    return out;
  };
  return named(fn, 'sphericalMean', true);
}

function norm64(v: Float64Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

/** The symmetric spherical mean with default tolerance 1e-10. */
export const sphericalMean: AggregationRule = makeSphericalMean();

export const RULES = { slerp, lerp, nlerp, vp, sphericalMean } as const;
export type RuleName = keyof typeof RULES;
export const RULE_NAMES = Object.keys(RULES) as RuleName[];

/** A rule by name, or the given function. */
export function resolveRule(rule: AggregationRule | RuleName | undefined): AggregationRule {
  if (rule === undefined) return slerp;
  if (typeof rule === 'function') return rule;
  if (typeof rule === 'string' && Object.hasOwn(RULES, rule)) return RULES[rule as RuleName];
  throw new RangeError(`rule must be one of ${RULE_NAMES.map((r) => `'${r}'`).join(', ')} or a function, got ${JSON.stringify(rule)}`);
}

/**
 * Write a pairwise rule from a per-sample function: `fn(a, b, w, out)` gets subarray views of
 * one sample each. Convenient for prototyping; the built-in rules avoid the views for speed.
 */
export function pairwiseRule(
  name: string,
  fn: (a: Float32Array, b: Float32Array, w: number, out: Float32Array) => void,
): AggregationRule {
  return named((xs: readonly Float32Array[], weights: readonly number[], out: Float32Array, dim: number) => {
    const batch = checkPair(name, xs, weights, out, dim);
    for (let s = 0; s < batch; s++) {
      const o = s * dim;
      fn(xs[0].subarray(o, o + dim), xs[1].subarray(o, o + dim), weights[0], out.subarray(o, o + dim));
    }
    return out;
  }, name);
}

/**
 * The weights a symmetric rule receives, derived from the fold weights so that a fold of
 * `lerp` and the symmetric weighted mean agree: target Π(1 − wⱼ), model j: wⱼ Π_{k>j}(1 − w_k).
 */
export function foldWeightsToSymmetric(w: readonly number[], out?: number[]): number[] {
  const n = w.length + 1;
  const res = out ?? new Array<number>(n);
  let tail = 1;
  for (let j = w.length - 1; j >= 0; j--) {
    res[j + 1] = w[j] * tail;
    tail *= 1 - w[j];
  }
  res[0] = tail;
  return res;
}
