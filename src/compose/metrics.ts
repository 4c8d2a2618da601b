/**
 * Sample-quality metrics for the composition worlds (sources C§6; AMDM Table 6
 * reports ln(MMD) ↓, LL ↑, Var ↓ without code, so the definitions here are stated):
 *
 * - LL: mean log-density of the samples under the exact normalized target (the Sjöberg et al.
 *   re-run of RRR, `metrics.py:79-112`).
 * - MMD²: the biased V-statistic with the RBF mix k(x, y) = Σ_σ exp(−‖x−y‖²/(2σ²)),
 *   σ ∈ {0.01, 0.1, 1, 10, 100} (FKC `mix_rbf_mmd2`); reported as ln MMD².
 * - Var (our choice, candidate C-like): ‖Cov(samples) − Cov(target)‖_F, the Frobenius error of
 *   the sample covariance against the target's exact covariance. Lower is better; 0 for exact
 *   moments.
 * - Mode-weight error: ½ Σₖ |p̂ₖ − πₖ| (total variation), p̂ₖ the fraction of samples whose most
 *   probable target component is k.
 * - W2: exact (optimal assignment, Hungarian, equal sizes, small n) or sliced (sorted 1-D
 *   projections, averaged over fixed directions).
 * All reductions are float64.
 */
import { gaussianRng } from '../core/rng.ts';
import { checkInt, checkNumber, describe } from '../core/validate.ts';
import type { GaussianMixture } from '../toy/mixture.ts';
import {
  mixtureLogDensity,
  mixtureMoments,
  mixtureResponsibilities,
  toFullMixture,
  type FullMixture,
} from './full-mixture.ts';

export const MMD_SIGMAS: readonly number[] = Object.freeze([0.01, 0.1, 1, 10, 100]);

function points(name: string, x: unknown, dim: number): number {
  if (!(x instanceof Float32Array) && !(x instanceof Float64Array))
    throw new TypeError(`${name} must be a Float32Array or Float64Array, got ${describe(x)}`);
  if (x.length === 0 || x.length % dim !== 0)
    throw new RangeError(`${name} must hold a positive multiple of dim = ${dim} values, got ${x.length}`);
  for (let i = 0; i < x.length; i++)
    if (!Number.isFinite(x[i])) throw new RangeError(`${name}[${i}] must be finite, got ${x[i]}`);
  return x.length / dim;
}

/** LL = mean log p_target(x) over the samples. */
export function meanLogLikelihood(samples: Float32Array | Float64Array, target: GaussianMixture | FullMixture): number {
  const t = toFullMixture(target);
  const n = points('samples', samples, t.dim);
  const lp = mixtureLogDensity(t, samples);
  let s = 0;
  for (let i = 0; i < n; i++) s += lp[i];
  return s / n;
}

/** Biased MMD² with the RBF mix over `sigmas` (default σ ∈ {0.01, 0.1, 1, 10, 100}). */
export function mmd2(
  x: Float32Array | Float64Array,
  y: Float32Array | Float64Array,
  dim: number,
  sigmas: readonly number[] = MMD_SIGMAS,
): number {
  checkInt('dim', dim, 1);
  const n = points('x', x, dim);
  const m = points('y', y, dim);
  if (!Array.isArray(sigmas) || sigmas.length < 1)
    throw new RangeError(`sigmas must be a non-empty array of numbers > 0, got ${describe(sigmas)}`);
  const coef = sigmas.map(
    (s, i) => -1 / (2 * checkNumber(`sigmas[${i}]`, s, 0, Infinity, { minExclusive: true }) ** 2),
  );
  const meanK = (a: ArrayLike<number>, na: number, b: ArrayLike<number>, nb: number): number => {
    let total = 0;
    for (let i = 0; i < na; i++) {
      let row = 0;
      for (let j = 0; j < nb; j++) {
        let d2 = 0;
        for (let k = 0; k < dim; k++) {
          const d = a[i * dim + k] - b[j * dim + k];
          d2 += d * d;
        }
        for (let s = 0; s < coef.length; s++) row += Math.exp(coef[s] * d2);
      }
      total += row;
    }
    return total / (na * nb);
  };
  return meanK(x, n, x, n) + meanK(y, m, y, m) - 2 * meanK(x, n, y, m);
}

/** ln of the biased MMD² (−∞ when the sets coincide). */
export function lnMmd2(
  x: Float32Array | Float64Array,
  y: Float32Array | Float64Array,
  dim: number,
  sigmas?: readonly number[],
): number {
  return Math.log(Math.max(0, mmd2(x, y, dim, sigmas)));
}

/** Sample mean and covariance (1/n normalization), float64. */
export function sampleMoments(
  x: Float32Array | Float64Array,
  dim: number,
): { mean: Float64Array; covariance: Float64Array } {
  checkInt('dim', dim, 1);
  const n = points('x', x, dim);
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j] += x[i * dim + j];
  for (let j = 0; j < dim; j++) mean[j] /= n;
  const cov = new Float64Array(dim * dim);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < dim; a++) {
      const da = x[i * dim + a] - mean[a];
      for (let b = 0; b < dim; b++) cov[a * dim + b] += da * (x[i * dim + b] - mean[b]);
    }
  }
  for (let k = 0; k < dim * dim; k++) cov[k] /= n;
  return { mean, covariance: cov };
}

/** Var: ‖Cov(samples) − Cov(target)‖_F. */
export function covarianceError(samples: Float32Array | Float64Array, target: GaussianMixture | FullMixture): number {
  const t = toFullMixture(target);
  const s = sampleMoments(samples, t.dim).covariance;
  const c = mixtureMoments(t).covariance;
  let e = 0;
  for (let k = 0; k < s.length; k++) e += (s[k] - c[k]) ** 2;
  return Math.sqrt(e);
}

/** p̂ₖ: the fraction of samples whose most probable target component is k. */
export function modeFractions(
  samples: Float32Array | Float64Array,
  target: GaussianMixture | FullMixture,
): Float64Array {
  const t = toFullMixture(target);
  const n = points('samples', samples, t.dim);
  const K = t.weights.length;
  const R = mixtureResponsibilities(t, samples);
  const out = new Float64Array(K);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let k = 1; k < K; k++) if (R[i * K + k] > R[i * K + best]) best = k;
    out[best] += 1 / n;
  }
  return out;
}

/** ½ Σₖ |p̂ₖ − πₖ| over the target's components. */
export function modeWeightError(samples: Float32Array | Float64Array, target: GaussianMixture | FullMixture): number {
  const t = toFullMixture(target);
  const p = modeFractions(samples, t);
  let e = 0;
  for (let k = 0; k < p.length; k++) e += Math.abs(p[k] - t.weights[k]);
  return e / 2;
}

/** Largest n accepted by `w2Exact` (the assignment is O(n³)). */
export const W2_EXACT_MAX = 2000;

/**
 * Exact W2 between two equal-size empirical measures: √(min over permutations of the mean
 * squared distance), by the Hungarian algorithm with potentials (O(n³)).
 */
// Over 60 lines: the Hungarian algorithm with potentials, one algorithm kept in the form of its textbook statement.
export function w2Exact(x: Float32Array | Float64Array, y: Float32Array | Float64Array, dim: number): number {
  checkInt('dim', dim, 1);
  const n = points('x', x, dim);
  const m = points('y', y, dim);
  if (n !== m) throw new RangeError(`x and y must hold the same number of points, got ${n} and ${m}`);
  if (n > W2_EXACT_MAX)
    throw new RangeError(`w2Exact supports at most ${W2_EXACT_MAX} points (O(n³)), got ${n}; use slicedW2`);
  const cost = (i: number, j: number) => {
    let d2 = 0;
    for (let k = 0; k < dim; k++) {
      const d = x[i * dim + k] - y[j * dim + k];
      d2 += d * d;
    }
    return d2;
  };
  // Hungarian algorithm (rows 1..n, columns 1..n; p[j] = row matched to column j).
  const u = new Float64Array(n + 1);
  const v = new Float64Array(n + 1);
  const p = new Int32Array(n + 1);
  const way = new Int32Array(n + 1);
  const minv = new Float64Array(n + 1);
  const used = new Uint8Array(n + 1);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    minv.fill(Infinity);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = p[j0];
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= n; j++) {
        if (used[j]) continue;
        const cur = cost(i0 - 1, j - 1) - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (let j = 0; j <= n; j++) {
        if (used[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else minv[j] -= delta;
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0 !== 0);
  }
  let total = 0;
  for (let j = 1; j <= n; j++) total += cost(p[j] - 1, j - 1);
  return Math.sqrt(total / n);
}

/**
 * Sliced W2: √(mean over `projections` random unit directions of W2² of the 1-D projections),
 * each 1-D W2² exact by sorting (equal sizes). Directions come from gaussianRng(seed).
 */
export function slicedW2(
  x: Float32Array | Float64Array,
  y: Float32Array | Float64Array,
  dim: number,
  projections = 64,
  seed = 0,
): number {
  checkInt('dim', dim, 1);
  const n = points('x', x, dim);
  const m = points('y', y, dim);
  if (n !== m) throw new RangeError(`x and y must hold the same number of points, got ${n} and ${m}`);
  checkInt('projections', projections, 1);
  const rng = gaussianRng(checkInt('seed', seed, 0, Number.MAX_SAFE_INTEGER), 0);
  const dir = new Float64Array(dim);
  const px = new Float64Array(n);
  const py = new Float64Array(n);
  let total = 0;
  for (let p = 0; p < projections; p++) {
    let norm = 0;
    for (let k = 0; k < dim; k++) {
      dir[k] = rng.normal();
      norm += dir[k] * dir[k];
    }
    norm = Math.sqrt(norm);
    for (let k = 0; k < dim; k++) dir[k] /= norm;
    for (let i = 0; i < n; i++) {
      let a = 0;
      let b = 0;
      for (let k = 0; k < dim; k++) {
        a += x[i * dim + k] * dir[k];
        b += y[i * dim + k] * dir[k];
      }
      px[i] = a;
      py[i] = b;
    }
    px.sort();
    py.sort();
    let s = 0;
    for (let i = 0; i < n; i++) s += (px[i] - py[i]) ** 2;
    total += s / n;
  }
  return Math.sqrt(total / projections);
}

/** Mean and sample standard deviation (n − 1; 0 for one value). */
export function meanStd(values: readonly number[]): { mean: number; std: number; n: number } {
  if (!Array.isArray(values) || values.length < 1)
    throw new RangeError(`values must be a non-empty array of numbers, got ${describe(values)}`);
  values.forEach((v, i) => checkNumber(`values[${i}]`, v));
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std, n };
}
