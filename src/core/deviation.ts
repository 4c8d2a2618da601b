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
 */
import { batchOf } from './tensor.ts';
import { checkNumber } from './validate.ts';
import { kernelBackend, type KernelBackend } from './backend.ts';

/**
 * Writes the deviated latent into `out` (may alias `xMixed`) and, when given, the per-sample
 * distances ‖x′ − μ‖ into `distances`. `eta` is an absolute L2 length (scale by √dim yourself
 * for the per-dimension reading; the sampler's `etaScale: 'sqrtDim'` does). Runs on `kernels`
 * (default: the active backend, `backend.ts`).
 */
export function deviate(
  xMixed: Float32Array,
  mu: Float32Array,
  eta: number,
  out: Float32Array,
  dim: number,
  distances?: Float64Array,
  clip = false,
  kernels?: KernelBackend,
): Float32Array {
  checkNumber('eta', eta, 0);
  const batch = batchOf('xMixed', xMixed, dim);
  if (mu.length !== xMixed.length) throw new RangeError(`mu must have the length of xMixed (${xMixed.length}), got ${mu.length}`);
  if (out.length !== xMixed.length) throw new RangeError(`out must have the length of xMixed (${xMixed.length}), got ${out.length}`);
  if (distances && distances.length < batch) throw new RangeError(`distances must have length ≥ ${batch}, got ${distances.length}`);
  (kernels ?? kernelBackend()).deviate(xMixed, mu, eta, out, dim, distances, clip);
  return out;
}
