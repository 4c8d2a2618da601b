/**
 * The per-sample scalar math shared by every kernel backend: what a rule or eq. 9 does with the
 * reductions of one sample (dots, norms, distances) before its element-wise pass. Both backends
 * call these, so the JS reference and the WASM kernels make the same decisions (thresholds,
 * errors) and differ only in how the passes over the elements round. Like `KernelBackend`'s
 * methods they take positional numbers: they run once per sample inside the backends' loops.
 */
import { clampUnit } from './tensor.ts';

/** Below this angle (radians) slerp's sin θ in the denominator loses precision: use lerp. */
export const SLERP_LERP_THRESHOLD = 1e-4;
/** Within this distance of π the great circle through a and b is not unique. */
export const SLERP_ANTIPODAL_TOLERANCE = 1e-6;

/**
 * Eq. 8's coefficients of one sample from ⟨a, b⟩, ‖a‖², ‖b‖²: writes [c_a, c_b] into `out`.
 * θ = arccos of the normalized dot product; lerp's coefficients below SLERP_LERP_THRESHOLD or
 * for a zero input; a RangeError naming the sample for antipodal inputs.
 */
export function slerpCoefficients(
  dot: number,
  aa: number,
  bb: number,
  w: number,
  sample: number,
  out: Float64Array,
): void {
  const na = Math.sqrt(aa),
    nb = Math.sqrt(bb);
  let ca = 1 - w,
    cb = w;
  if (na > 0 && nb > 0) {
    const theta = Math.acos(clampUnit(dot / (na * nb)));
    if (Math.PI - theta < SLERP_ANTIPODAL_TOLERANCE) {
      throw new RangeError(
        `slerp: sample ${sample} has antipodal inputs (θ = π): the interpolation path is not unique`,
      );
    }
    if (theta >= SLERP_LERP_THRESHOLD) {
      const st = Math.sin(theta);
      ca = Math.sin((1 - w) * theta) / st;
      cb = Math.sin(w * theta) / st;
    }
  }
  out[0] = ca;
  out[1] = cb;
}

/**
 * nlerp's factor for one sample: the interpolated norm (1 − w)‖a‖ + w‖b‖ over the norm of the
 * lerp, from ‖a‖², ‖b‖², ‖lerp‖². 0 means "write zeros" (both inputs zero); a zero lerp of
 * non-zero inputs throws.
 */
export function nlerpFactor(aa: number, bb: number, vv: number, w: number, sample: number): number {
  const target = (1 - w) * Math.sqrt(aa) + w * Math.sqrt(bb);
  if (vv === 0) {
    if (target === 0) return 0;
    throw new RangeError(
      `nlerp: sample ${sample}: the linear interpolation is zero (antipodal inputs), its direction is undefined`,
    );
  }
  return target / Math.sqrt(vv);
}

/**
 * Eq. 9's factor k in x′ − k·(x′ − μ) for one sample at distance `dist` = ‖x′ − μ‖: η/dist, or
 * 1 when clipping and η > dist; 0 means "leave the sample unchanged" (dist = 0 or η = 0).
 */
export function deviationFactor(dist: number, eta: number, clip: boolean): number {
  if (dist === 0 || eta === 0) return 0;
  return clip && eta > dist ? 1 : eta / dist;
}

/**
 * The spherical mean's float64 scratch: the input norms of one sample and, for a backend that
 * iterates in JS memory, the mean direction q and the tangent vector u. Each spherical-mean rule
 * owns one (`makeSphericalMean`) and hands it to the backend, which grows it on demand.
 */
export class SphereScratch {
  norms: Float64Array<ArrayBuffer> = new Float64Array(0);
  q: Float64Array<ArrayBuffer> = new Float64Array(0);
  u: Float64Array<ArrayBuffer> = new Float64Array(0);
  /** The norms, with room for `n` inputs. */
  normsFor(n: number): Float64Array {
    if (this.norms.length < n) this.norms = new Float64Array(n);
    return this.norms;
  }
  /** Makes room for q and u of `dim` values. */
  reserve(dim: number): void {
    if (this.q.length < dim) {
      this.q = new Float64Array(dim);
      this.u = new Float64Array(dim);
    }
  }
}

/**
 * The passes of the spherical mean over one sample, on a float64 mean direction q and tangent
 * vector u of `dim` values; input k is the k-th tensor's block at `offset`. A backend provides
 * them; {@link sphericalMeanSample} drives them.
 */
export interface SpherePasses {
  /** ‖x_k‖² of the block. */
  sqNorm(k: number): number;
  /** q ← 0. */
  zeroQ(): void;
  /** q += c·x_k. */
  addQ(k: number, c: number): void;
  /** ‖q‖. */
  normQ(): number;
  /** q ← q / d. */
  divQ(d: number): void;
  /** u ← 0. */
  zeroU(): void;
  /** ⟨q, x_k⟩. */
  dotQ(k: number): number;
  /** ‖inv·x_k − c·q‖². */
  sinSq(k: number, inv: number, c: number): number;
  /** u += f·(inv·x_k − c·q). */
  addLog(k: number, inv: number, c: number, f: number): void;
  /** ‖u‖. */
  normU(): number;
  /** q ← a·q + b·u. */
  expStep(a: number, b: number): void;
  /** out block ← r·q (rounded to float32). */
  writeOut(r: number): void;
}

/**
 * One sample of the weighted spherical (Karcher) mean, AMDM's symmetric N-way rule (see
 * `makeSphericalMean`): start from the normalized weighted mean of the unit inputs, iterate
 * q ← exp_q(Σ wₖ log_q(x̂ₖ)) until ‖Σ wₖ log_q(x̂ₖ)‖ < tol, write Σ wₖ‖xₖ‖ · q.
 * `norms` is scratch of ≥ n entries.
 */
export function sphericalMeanSample(
  p: SpherePasses,
  n: number,
  weights: readonly number[],
  norms: Float64Array,
  sample: number,
  tol: number,
  maxIt: number,
): void {
  let radius = 0;
  for (let k = 0; k < n; k++) {
    norms[k] = Math.sqrt(p.sqNorm(k));
    radius += weights[k] * norms[k];
  }
  p.zeroQ();
  for (let k = 0; k < n; k++) {
    if (norms[k] === 0 || weights[k] === 0) continue;
    p.addQ(k, weights[k] / norms[k]);
  }
  const qn = p.normQ();
  if (qn === 0)
    throw new RangeError(
      `sphericalMean: sample ${sample}: the weighted directions cancel; the spherical mean is not unique`,
    );
  p.divQ(qn);
  for (let it = 0; it < maxIt; it++) {
    p.zeroU();
    for (let k = 0; k < n; k++) {
      if (norms[k] === 0 || weights[k] === 0) continue;
      const inv = 1 / norms[k];
      const c = p.dotQ(k) * inv;
      // sin θ = ‖x̂ − cos θ·q‖ and θ = atan2(sin θ, cos θ): accurate for small θ, where
      // acos(cos θ) loses half the digits
      const sinT = Math.sqrt(p.sinSq(k, inv, c));
      if (sinT < 1e-300) continue;
      const theta = Math.atan2(sinT, c);
      // log_q(x̂) = θ/sin θ · (x̂ − cos θ · q)
      p.addLog(k, inv, c, (weights[k] * theta) / sinT);
    }
    const un = p.normU();
    if (un < tol) {
      p.writeOut(radius);
      return;
    }
    // q ← exp_q(u) = cos‖u‖·q + sin‖u‖·u/‖u‖, renormalized against drift
    p.expStep(Math.cos(un), Math.sin(un) / un);
    p.divQ(p.normQ());
  }
  throw new RangeError(
    `sphericalMean: sample ${sample} did not converge to tolerance ${tol} in ${maxIt} iterations (inputs spread over more than a hemisphere?)`,
  );
}
