/**
 * Inner loops of the Gaussian-mixture denoiser (research/composition.md §7), written as plain
 * functions over typed arrays so that they stay monomorphic. No validation here: `gmm.ts`
 * checks every input. Layouts: x is B×dim, means K×dim, L/R are B×K (row per sample), and
 * `active` lists the components with πₖ > 0 (the others keep ℓₖ = −∞, rₖ = 0).
 */

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
export function isotropicLogLik(
  x: Float32Array, batch: number, dim: number,
  means: Float32Array, muNorm2: Float64Array, active: Int32Array,
  a: number, logNorm: Float64Array, invC: Float64Array, xNorm2: Float64Array,
  L: Float64Array, K: number,
): void {
  for (let ai = 0; ai < active.length; ai++) {
    const k = active[ai];
    const o = k * dim;
    const am2 = a * a * muNorm2[k];
    const twoA = 2 * a;
    const ln = logNorm[k];
    const half = 0.5 * invC[k];
    for (let b = 0; b < batch; b++) {
      const xo = b * dim;
      let dot = 0;
      for (let j = 0; j < dim; j++) dot += x[xo + j] * means[o + j];
      const scale = xNorm2[b] + am2;
      let d2 = xNorm2[b] - twoA * dot + am2;
      if (d2 < 1e-6 * scale) {
        d2 = 0;
        for (let j = 0; j < dim; j++) {
          const d = x[xo + j] - a * means[o + j];
          d2 += d * d;
        }
      }
      L[b * K + k] = ln - half * d2;
    }
  }
}

/** Diagonal ℓₖ(x) = logNormₖ − ½ Σⱼ (xⱼ − aμₖⱼ)²/c_kj, component k streamed against every sample. */
export function diagonalLogLik(
  x: Float32Array, batch: number, dim: number,
  aMeans: Float64Array, active: Int32Array,
  logNorm: Float64Array, invC: Float64Array,
  L: Float64Array, K: number,
): void {
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
export function isotropicNegScore(
  x: Float32Array, batch: number, dim: number,
  means: Float32Array, active: Int32Array, a: number, invC: Float64Array,
  R: Float64Array, K: number, acc: Float64Array,
): void {
  for (let b = 0; b < batch; b++) {
    const xo = b * dim;
    acc.fill(0, xo, xo + dim);
    for (let ai = 0; ai < active.length; ai++) {
      const k = active[ai];
      const w = R[b * K + k] * invC[k];
      if (w === 0) continue;
      const o = k * dim;
      for (let j = 0; j < dim; j++) acc[xo + j] += w * (x[xo + j] - a * means[o + j]);
    }
  }
}

/** Diagonal: acc_b = Σₖ rₖ Cₖ⁻¹ (x_b − aμₖ) = −∇log q_t(x_b). */
export function diagonalNegScore(
  x: Float32Array, batch: number, dim: number,
  aMeans: Float64Array, active: Int32Array, invC: Float64Array,
  R: Float64Array, K: number, acc: Float64Array,
): void {
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
