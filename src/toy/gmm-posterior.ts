/**
 * The state of one Gaussian-mixture denoiser (gmm.ts; sources C§7): the mixture's constants, the
 * constants of the last ᾱ, and the per-batch buffers, which the kernels (gmm-kernels.ts) read as
 * their `MixtureTables`. Built once per denoiser; a level is prepared only when ᾱ changes and the
 * buffers grow only with the batch, so a call at a fixed batch size allocates nothing.
 */
import type { GaussianMixture } from './mixture.ts';
import {
  diagonalLogLik,
  diagonalNegScore,
  isotropicLogLik,
  isotropicNegScore,
  logSumExpRows,
  rowNorms2,
  type MixtureTables,
} from './gmm-kernels.ts';

const LOG_2PI = Math.log(2 * Math.PI);

export class MixturePosterior implements MixtureTables {
  readonly dim: number;
  readonly K: number;
  readonly active: Int32Array;
  readonly means: Float32Array;
  readonly muNorm2: Float64Array;
  /** log πₖ. */
  private readonly logPi: Float64Array;
  private readonly diagonal: boolean;
  // per ᾱ (see `prepare`)
  a = 0;
  /** s = √(1 − ᾱ). */
  s = 0;
  readonly invC: Float64Array;
  readonly aMeans: Float64Array;
  readonly logNorm: Float64Array;
  private cachedAbar = NaN;
  // per batch, grown only when the batch grows
  private capacity = 0;
  R = new Float64Array(0);
  /** B: log q_t(x_b). */
  logQ = new Float64Array(0);
  xNorm2 = new Float64Array(0);
  acc = new Float64Array(0);
  private epsBuf = new Float32Array(0);
  private epsView = this.epsBuf;

  private readonly m: GaussianMixture;

  constructor(m: GaussianMixture) {
    this.m = m;
    const { dim, means } = m;
    const K = m.weights.length;
    this.dim = dim;
    this.K = K;
    this.means = means;
    this.diagonal = m.kind === 'diagonal';
    // constant per mixture: log πₖ, ‖μₖ‖², and the components that carry weight
    this.logPi = new Float64Array(K);
    this.muNorm2 = new Float64Array(K);
    const active: number[] = [];
    for (let k = 0; k < K; k++) {
      this.logPi[k] = Math.log(m.weights[k]);
      if (m.weights[k] > 0) active.push(k);
      let n2 = 0;
      for (let j = 0; j < dim; j++) n2 += means[k * dim + j] * means[k * dim + j];
      this.muNorm2[k] = n2;
    }
    this.active = Int32Array.from(active);
    this.invC = new Float64Array(this.diagonal ? K * dim : K);
    this.aMeans = new Float64Array(this.diagonal ? K * dim : 0); // a·μₖ (diagonal only)
    this.logNorm = new Float64Array(K);
  }

  /** The constants of ᾱ: a, s, 1/cₖ (isotropic) or 1/c_kj (diagonal), and log πₖ − ½ log det(2π Cₖ). */
  prepare(abar: number, t: number): void {
    if (abar === this.cachedAbar) return;
    this.cachedAbar = NaN; // stays invalid if a component below throws
    const { m, dim, means, invC, aMeans, logNorm, logPi } = this;
    const s2 = 1 - abar;
    for (const k of this.active) {
      if (this.diagonal) {
        let logDet = 0;
        for (let j = 0; j < dim; j++) {
          const c = abar * m.variances[k * dim + j] + s2;
          if (!(c > 0 && 1 / c < Infinity)) throw pointMassError(k, abar, t, c);
          invC[k * dim + j] = 1 / c;
          aMeans[k * dim + j] = Math.sqrt(abar) * means[k * dim + j];
          logDet += Math.log(2 * Math.PI * c);
        }
        logNorm[k] = logPi[k] - 0.5 * logDet;
      } else {
        const c = abar * m.variances[k] + s2;
        if (!(c > 0 && 1 / c < Infinity)) throw pointMassError(k, abar, t, c);
        invC[k] = 1 / c;
        logNorm[k] = logPi[k] - 0.5 * dim * (LOG_2PI + Math.log(c));
      }
    }
    this.a = Math.sqrt(abar);
    this.s = Math.sqrt(s2);
    this.cachedAbar = abar;
  }

  /** Room for `batch` samples. */
  private ensure(batch: number): void {
    if (batch <= this.capacity) return;
    this.capacity = batch;
    this.R = new Float64Array(batch * this.K);
    this.logQ = new Float64Array(batch);
    this.xNorm2 = new Float64Array(batch);
    this.acc = new Float64Array(batch * this.dim);
    this.epsBuf = new Float32Array(batch * this.dim);
    this.epsView = this.epsBuf;
  }

  /** Fills logQ[0..B) and R (B×K responsibilities) for x at timestep t (ᾱ = `abar`, checked). */
  posterior(x: Float32Array, t: number, abar: number, batch: number): void {
    this.prepare(abar, t);
    this.ensure(batch);
    const { dim, K, R } = this;
    const bad = rowNorms2(x, batch, dim, this.xNorm2);
    if (bad >= 0) throw nonFiniteError(x, bad, dim);
    R.fill(-Infinity, 0, batch * K);
    if (this.diagonal) diagonalLogLik(this, x, batch);
    else isotropicLogLik(this, x, batch);
    const failed = logSumExpRows(R, batch, K, this.logQ);
    if (failed >= 0) {
      throw new RangeError(
        `log q_t(x) is not finite for sample ${failed} at t = ${t} (ᾱ = ${abar}): ` +
          'the variances ᾱσ² + 1 − ᾱ are too small for this x',
      );
    }
  }

  /** acc ← Σₖ rₖ Cₖ⁻¹(x − aμₖ) = −∇log q_t(x), per sample, in float64 (call after `posterior`). */
  negScore(x: Float32Array, batch: number): void {
    if (this.diagonal) diagonalNegScore(this, x, batch);
    else isotropicNegScore(this, x, batch);
  }

  /** ε* = s·acc into the denoiser's own buffer (call after `negScore`). */
  eps(batch: number): Float32Array {
    const n = batch * this.dim;
    if (this.epsView.length !== n) this.epsView = this.epsBuf.subarray(0, n);
    const { epsView, acc, s } = this;
    for (let i = 0; i < n; i++) epsView[i] = s * acc[i];
    return epsView;
  }
}

function pointMassError(k: number, abar: number, t: number, c: number): RangeError {
  return new RangeError(
    `mixture component ${k} has variance ᾱσ² + 1 − ᾱ = ${c} (must be > 0 and invertible) at t = ${t} (ᾱ = ${abar}; σ² = 0 is a point mass), ` +
      'so q_t has no density there: evaluate at ᾱ < 1 or give the component a positive variance',
  );
}

function nonFiniteError(x: Float32Array, b: number, dim: number): RangeError {
  for (let i = b * dim; i < (b + 1) * dim; i++) {
    if (!Number.isFinite(x[i])) return new RangeError(`x[${i}] must be finite, got ${x[i]} (sample ${b})`);
  }
  return new RangeError(`‖x‖² overflows for sample ${b}`);
}
