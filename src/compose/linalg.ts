/**
 * Small dense symmetric-positive-definite routines for d×d matrices (row-major Float64Array),
 * used by the full-covariance Gaussian mixtures. d is small (2-D worlds), so plain loops. They
 * keep LAPACK's positional (array, offset) pairs: they run per component and per particle inside
 * the evaluation loops, on blocks of shared buffers, where a view or an options record per call
 * would allocate.
 */

/** log 2π, of every Gaussian normalizer −½ log det(2πΣ). */
export const LOG_2PI = Math.log(2 * Math.PI);

/**
 * Cholesky factor L (lower, row-major) of the SPD matrix A (d×d, read at offset `aOffset`), written
 * to `L` at offset `lOffset`. Returns false when A is not positive definite (a pivot ≤ 0).
 */
export function choleskyInto(
  A: ArrayLike<number>,
  aOffset: number,
  d: number,
  L: Float64Array,
  lOffset: number,
): boolean {
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[aOffset + i * d + j];
      for (let k = 0; k < j; k++) s -= L[lOffset + i * d + k] * L[lOffset + j * d + k];
      if (i === j) {
        if (!(s > 0) || !Number.isFinite(s)) return false;
        L[lOffset + i * d + i] = Math.sqrt(s);
      } else {
        L[lOffset + i * d + j] = s / L[lOffset + j * d + j];
      }
    }
    for (let j = i + 1; j < d; j++) L[lOffset + i * d + j] = 0;
  }
  return true;
}

/** log det A = 2 Σ log L_jj from a Cholesky factor at offset `lOffset`. */
export function logDetFromCholesky(L: Float64Array, lOffset: number, d: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) s += Math.log(L[lOffset + j * d + j]);
  return 2 * s;
}

/** Solves L u = r in place (forward substitution), r of length d at offset `rOffset`. */
export function forwardSolveInPlace(
  L: Float64Array,
  lOffset: number,
  d: number,
  r: Float64Array,
  rOffset: number,
): void {
  for (let i = 0; i < d; i++) {
    let s = r[rOffset + i];
    for (let k = 0; k < i; k++) s -= L[lOffset + i * d + k] * r[rOffset + k];
    r[rOffset + i] = s / L[lOffset + i * d + i];
  }
}

/** Solves Lᵀ y = u in place (back substitution). */
export function backSolveInPlace(L: Float64Array, lOffset: number, d: number, u: Float64Array, uOffset: number): void {
  for (let i = d - 1; i >= 0; i--) {
    let s = u[uOffset + i];
    for (let k = i + 1; k < d; k++) s -= L[lOffset + k * d + i] * u[uOffset + k];
    u[uOffset + i] = s / L[lOffset + i * d + i];
  }
}

/** A⁻¹ of an SPD matrix (allocating; for setup code), or null when A is not PD. */
export function invertSPD(A: ArrayLike<number>, d: number): Float64Array | null {
  const L = new Float64Array(d * d);
  if (!choleskyInto(A, 0, d, L, 0)) return null;
  const inv = new Float64Array(d * d);
  const col = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    col.fill(0);
    col[j] = 1;
    forwardSolveInPlace(L, 0, d, col, 0);
    backSolveInPlace(L, 0, d, col, 0);
    for (let i = 0; i < d; i++) inv[i * d + j] = col[i];
  }
  // Symmetrize against rounding.
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < i; j++) {
      const m = 0.5 * (inv[i * d + j] + inv[j * d + i]);
      inv[i * d + j] = m;
      inv[j * d + i] = m;
    }
  }
  return inv;
}

/** log det of an SPD matrix, or NaN when it is not PD (callers check). */
export function logDetSPD(A: ArrayLike<number>, d: number): number {
  const L = new Float64Array(d * d);
  return choleskyInto(A, 0, d, L, 0) ? logDetFromCholesky(L, 0, d) : NaN;
}

/** out = A·v for a d×d matrix A (offset aOffset) and vector v (offset vOffset). */
export function matVecInto(
  A: ArrayLike<number>,
  aOffset: number,
  d: number,
  v: ArrayLike<number>,
  vOffset: number,
  out: Float64Array,
  outOffset: number,
): void {
  for (let i = 0; i < d; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += A[aOffset + i * d + j] * v[vOffset + j];
    out[outOffset + i] = s;
  }
}

/** log Σ exp(vᵢ) with the max subtracted (−∞ for an empty or all −∞ input). */
export function logSumExp(v: ArrayLike<number>, start = 0, end = v.length): number {
  let max = -Infinity;
  for (let i = start; i < end; i++) if (v[i] > max) max = v[i];
  if (max === -Infinity || !Number.isFinite(max)) return max;
  let s = 0;
  for (let i = start; i < end; i++) s += Math.exp(v[i] - max);
  return max + Math.log(s);
}
