/**
 * Deviation optimization, AMDM paper eq. 9: after aggregation each model k continues from
 *   x_k = x′ − η · (x′ − μ_k) / ‖x′ − μ_k‖
 * a step of length exactly η from the merged latent x′ toward the model's own DDIM step mean μ_k
 * (eq. 6). Norms are per sample (the official code takes one Frobenius norm over the whole batch,
 * sources M§2.1; we do not). When ‖x′ − μ_k‖ = 0 the direction is undefined and x′ already
 * equals μ_k: the sample is left unchanged. Like eq. 9, the step is not clipped by default: when
 * η exceeds ‖x′ − μ_k‖ it passes μ_k and ends up on the far side of μ_k, *away* from the merged
 * latent (the distances are reported so a caller can see it). `clip: true` is an explicit
 * variant that is not in the paper: the step becomes min(η, ‖x′ − μ_k‖), so it stops at μ_k.
 *
 * `deviateRelative` is a second variant, also not in the paper: a step of a fixed *fraction*
 * λ ∈ [0, 1] of the way from x′ to μ_k,
 *   x_k = x′ + λ (μ_k − x′)
 * which is eq. 9 with η = λ‖x′ − μ_k‖. It never passes μ_k (‖x_k − μ_k‖ = (1 − λ)‖x′ − μ_k‖) and
 * has no length to scale with the latent's dimension, so one λ means the same at 3×16×16 and at
 * 4×64×64. λ = 0 keeps the merged latent, λ = 1 returns each model to its own step mean (no
 * aggregation survives the step).
 */
import { batchOf } from './tensor.ts';
import { checkNumber } from './validate.ts';
import { kernelBackend, type KernelBackend } from './backend.ts';

/** How the deviation step is taken: eq. 9 as written (default) or the relative variant. */
export const DEVIATION_MODES = ['eq9', 'relative'] as const;
export type DeviationMode = (typeof DEVIATION_MODES)[number];

/** The step of {@link deviate}: its length, the sample size, and what it reports. */
export interface DeviateOptions {
  /** η: the step's absolute L2 length (≥ 0); scale by √dim yourself for the per-dimension reading. */
  eta: number;
  /** Values per sample (the norms are per sample). */
  dim: number;
  /** When given, receives the per-sample distances ‖x′ − μ‖ (≥ batch entries). */
  distances?: Float64Array | null;
  /** Stop the step at μ: min(η, ‖x′ − μ‖), not in the paper (see the header). Default false. */
  clip?: boolean;
  /** The kernel backend (default: the active one, `backend.ts`). */
  kernels?: KernelBackend;
}

/**
 * Writes the deviated latent into `out` (may alias `xMixed`) and, when asked, the per-sample
 * distances ‖x′ − μ‖ into `opts.distances`. `opts.eta` is an absolute L2 length (the sampler's
 * `etaScale: 'sqrtDim'` scales it by √dim). A loop that deviates every step builds `opts` once
 * and updates `eta` and `distances` in place.
 */
export function deviate(xMixed: Float32Array, mu: Float32Array, out: Float32Array, opts: DeviateOptions): Float32Array {
  const { eta, dim, distances = null, clip = false, kernels } = opts;
  checkNumber('eta', eta, 0);
  checkDeviationArgs(xMixed, mu, out, dim, distances);
  (kernels ?? kernelBackend()).deviate(xMixed, mu, eta, out, dim, distances ?? undefined, clip);
  return out;
}

/** The step of {@link deviateRelative}: its fraction λ, the sample size, and what it reports. */
export interface DeviateRelativeOptions {
  /** λ ∈ [0, 1]: the fraction of the way from x′ to μ. */
  lambda: number;
  /** Values per sample. */
  dim: number;
  /** When given, receives the per-sample distances ‖x′ − μ‖ (≥ batch entries). */
  distances?: Float64Array | null;
}

/**
 * The relative deviation step x_k = x′ + λ (μ_k − x′), per sample (see the header): writes into
 * `out` (may alias `xMixed`) and, when asked, the per-sample distances ‖x′ − μ‖ into
 * `opts.distances`. `opts.lambda` must lie in [0, 1]: beyond 1 the step would pass μ, below 0 it
 * would push away from it.
 */
export function deviateRelative(
  xMixed: Float32Array,
  mu: Float32Array,
  out: Float32Array,
  opts: DeviateRelativeOptions,
): Float32Array {
  const { lambda, dim, distances = null } = opts;
  checkNumber('lambda', lambda, 0, 1);
  const batch = checkDeviationArgs(xMixed, mu, out, dim, distances);
  for (let s = 0; s < batch; s++) {
    const o = s * dim,
      end = o + dim;
    if (distances) {
      let sq = 0;
      for (let i = o; i < end; i++) {
        const d = xMixed[i] - mu[i];
        sq += d * d;
      }
      distances[s] = Math.sqrt(sq);
    }
    for (let i = o; i < end; i++) {
      const xm = xMixed[i];
      out[i] = xm + lambda * (mu[i] - xm);
    }
  }
  return out;
}

/** Shared size checks of both deviation steps; returns the batch. */
function checkDeviationArgs(
  xMixed: Float32Array,
  mu: Float32Array,
  out: Float32Array,
  dim: number,
  distances: Float64Array | null,
): number {
  const batch = batchOf('xMixed', xMixed, dim);
  if (mu.length !== xMixed.length)
    throw new RangeError(`mu must have the length of xMixed (${xMixed.length}), got ${mu.length}`);
  if (out.length !== xMixed.length)
    throw new RangeError(`out must have the length of xMixed (${xMixed.length}), got ${out.length}`);
  if (distances && distances.length < batch)
    throw new RangeError(`distances must have length ≥ ${batch}, got ${distances.length}`);
  return batch;
}
