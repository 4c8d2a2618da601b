/**
 * Inner loops of the Gaussian-mixture denoiser (sources C§7), written as plain
 * functions over typed arrays so that they stay monomorphic. No validation here: `gmm.ts`
 * checks every input. Layouts: x is B×dim, means K×dim, L/R are B×K (row per sample), and
 * `active` lists the components with πₖ > 0 (the others keep ℓₖ = −∞, rₖ = 0). The ℓₖ and
 * score kernels read one `MixtureTables` (the denoiser's, gmm-posterior.ts, built once and
 * updated in place per level and batch size) instead of a dozen positional arrays.
 */

/** The tables the ℓₖ and score kernels read and write: per mixture, per level, per batch. */
export interface MixtureTables {
  readonly dim: number;
  /** K components; `active` lists those with πₖ > 0. */
  readonly K: number;
  readonly active: Int32Array;
  /** K×dim means μₖ, and ‖μₖ‖² (isotropic). */
  readonly means: Float32Array;
  readonly muNorm2: Float64Array;
  /** Per level: a = √ᾱ; log πₖ − ½ log det(2π Cₖ); 1/cₖ (K, isotropic) or 1/c_kj (K×dim, diagonal); a·μₖ (diagonal). */
  readonly a: number;
  readonly logNorm: Float64Array;
  readonly invC: Float64Array;
  readonly aMeans: Float64Array;
  /** Per batch: ‖x_b‖², the B×K ℓₖ then rₖ, and the B×dim float64 −∇log q_t. */
  readonly xNorm2: Float64Array;
  readonly R: Float64Array;
  readonly acc: Float64Array;
}

/** xNorm2[b] = ‖x_b‖² in float64; returns the first sample whose norm is not finite, or −1. */
export function rowNorms2(x: Float32Array, batch: number, dim: number, xNorm2: Float64Array): number {
  for (let b = 0; b < batch; b++) {
    const xo = b * dim;
    let n2 = 0;
    for (let j = 0; j < dim; j++) {
      const v = x[xo + j];
      n2 += v * v;
    }
    if (!(n2 < Infinity)) return b;
    xNorm2[b] = n2;
  }
  return -1;
}

/**
 * Isotropic ℓₖ(x) = logNormₖ − ‖x − aμₖ‖²/(2cₖ), with ‖x − aμₖ‖² = ‖x‖² − 2a⟨x, μₖ⟩ + a²‖μₖ‖²:
 * one B×K product, each mean streamed against every sample. Where the expansion cancels
 * (x ≈ aμₖ, the case in which a small cₖ amplifies the error) the distance is recomputed directly.
 */
export function isotropicLogLik(p: MixtureTables, x: Float32Array, batch: number): void {
  const { dim, means, muNorm2, active, a, logNorm, invC, xNorm2, R: L, K } = p;
  const twoA = 2 * a;
  for (let ai = 0; ai < active.length; ai++) {
    const k = active[ai];
    const o = k * dim;
    const am2 = a * a * muNorm2[k];
    const ln = logNorm[k];
    const half = 0.5 * invC[k];
    let b = 0;
    // four samples per pass over the mean: each mean value is loaded once for four dot products
    for (; b + 3 < batch; b += 4) {
      const x0 = b * dim,
        x1 = x0 + dim,
        x2 = x1 + dim,
        x3 = x2 + dim;
      let d0 = 0,
        d1 = 0,
        d2 = 0,
        d3 = 0;
      for (let j = 0; j < dim; j++) {
        const m = means[o + j];
        d0 += x[x0 + j] * m;
        d1 += x[x1 + j] * m;
        d2 += x[x2 + j] * m;
        d3 += x[x3 + j] * m;
      }
      L[b * K + k] = ln - half * dist2(x, x0, means, o, dim, a, xNorm2[b], twoA * d0, am2);
      L[(b + 1) * K + k] = ln - half * dist2(x, x1, means, o, dim, a, xNorm2[b + 1], twoA * d1, am2);
      L[(b + 2) * K + k] = ln - half * dist2(x, x2, means, o, dim, a, xNorm2[b + 2], twoA * d2, am2);
      L[(b + 3) * K + k] = ln - half * dist2(x, x3, means, o, dim, a, xNorm2[b + 3], twoA * d3, am2);
    }
    for (; b < batch; b++) {
      const xo = b * dim;
      let dot = 0;
      for (let j = 0; j < dim; j++) dot += x[xo + j] * means[o + j];
      L[b * K + k] = ln - half * dist2(x, xo, means, o, dim, a, xNorm2[b], twoA * dot, am2);
    }
  }
}

/**
 * ‖x − aμ‖² from the expansion ‖x‖² − 2a⟨x, μ⟩ + a²‖μ‖², recomputed directly where it cancels
 * (positional: it runs once per sample and component inside the loop above).
 */
function dist2(
  x: Float32Array,
  xo: number,
  means: Float32Array,
  o: number,
  dim: number,
  a: number,
  xn2: number,
  twoADot: number,
  am2: number,
): number {
  const d2 = xn2 - twoADot + am2;
  if (d2 >= 1e-6 * (xn2 + am2)) return d2;
  let s = 0;
  for (let j = 0; j < dim; j++) {
    const d = x[xo + j] - a * means[o + j];
    s += d * d;
  }
  return s;
}

/** Diagonal ℓₖ(x) = logNormₖ − ½ Σⱼ (xⱼ − aμₖⱼ)²/c_kj, component k streamed against every sample. */
export function diagonalLogLik(p: MixtureTables, x: Float32Array, batch: number): void {
  const { dim, aMeans, active, logNorm, invC, R: L, K } = p;
  for (let ai = 0; ai < active.length; ai++) {
    const k = active[ai];
    const o = k * dim;
    const ln = logNorm[k];
    for (let b = 0; b < batch; b++) {
      const xo = b * dim;
      let q = 0;
      for (let j = 0; j < dim; j++) {
        const d = x[xo + j] - aMeans[o + j];
        q += d * d * invC[o + j];
      }
      L[b * K + k] = ln - 0.5 * q;
    }
  }
}

/**
 * Per row: logQ[b] = LSEₖ ℓₖ = max + log Σₖ exp(ℓₖ − max), then ℓₖ ← rₖ = exp(ℓₖ − logQ[b])
 * in place (inactive components hold ℓₖ = −∞ and become 0). Returns the first row whose
 * maximum is not finite (no density can be formed), or −1.
 */
export function logSumExpRows(L: Float64Array, batch: number, K: number, logQ: Float64Array): number {
  for (let b = 0; b < batch; b++) {
    const row = b * K;
    let max = -Infinity;
    for (let k = 0; k < K; k++) if (L[row + k] > max) max = L[row + k];
    if (!(max > -Infinity && max < Infinity)) return b;
    let sum = 0;
    for (let k = 0; k < K; k++) sum += Math.exp(L[row + k] - max);
    const lq = max + Math.log(sum);
    logQ[b] = lq;
    for (let k = 0; k < K; k++) L[row + k] = Math.exp(L[row + k] - lq);
  }
  return -1;
}

/**
 * Isotropic: acc_b = Σₖ (rₖ/cₖ)(x_b − aμₖ) = −∇log q_t(x_b). Summed in the direct form, not as
 * x_b Σₖ rₖ/cₖ − a Σₖ (rₖ/cₖ)μₖ, whose two terms cancel when cₖ is small and x ≈ aμₖ.
 * Sample-major: one accumulator row stays in cache while the means stream past it.
 */
export function isotropicNegScore(p: MixtureTables, x: Float32Array, batch: number): void {
  const { dim, means, active, a, invC, R, K, acc } = p;
  for (let b = 0; b < batch; b++) {
    const xo = b * dim;
    acc.fill(0, xo, xo + dim);
    // Σₖ wₖ (x − aμₖ) = (Σₖ wₖ) x − a Σₖ wₖ μₖ: one pass over the means of the components that
    // carry weight. Responsibilities below RESPONSIBILITY_FLOOR are skipped: together they change
    // the result by < K·1e-13 relative, far below float32 resolution.
    let wsum = 0;
    for (let ai = 0; ai < active.length; ai++) {
      const k = active[ai];
      const r = R[b * K + k];
      if (r < RESPONSIBILITY_FLOOR) continue;
      const w = r * invC[k];
      wsum += w;
      const o = k * dim;
      const aw = a * w;
      for (let j = 0; j < dim; j++) acc[xo + j] -= aw * means[o + j];
    }
    for (let j = 0; j < dim; j++) acc[xo + j] += wsum * x[xo + j];
  }
}

/** Responsibilities below this are left out of the score sum (see isotropicNegScore). */
export const RESPONSIBILITY_FLOOR = 1e-13;

/** Diagonal: acc_b = Σₖ rₖ Cₖ⁻¹ (x_b − aμₖ) = −∇log q_t(x_b). */
export function diagonalNegScore(p: MixtureTables, x: Float32Array, batch: number): void {
  const { dim, aMeans, active, invC, R, K, acc } = p;
  for (let b = 0; b < batch; b++) {
    const xo = b * dim;
    acc.fill(0, xo, xo + dim);
    for (let ai = 0; ai < active.length; ai++) {
      const k = active[ai];
      const r = R[b * K + k];
      if (r === 0) continue;
      const o = k * dim;
      for (let j = 0; j < dim; j++) acc[xo + j] += r * invC[o + j] * (x[xo + j] - aMeans[o + j]);
    }
  }
}
