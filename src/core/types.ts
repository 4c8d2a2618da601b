/**
 * Core types shared by every layer.
 *
 * Tensors are flat `Float32Array`s holding a batch of B samples, each of `dim` elements
 * (for an SD latent, dim = 4·h·w, laid out C×H×W). Reductions (norms, dots) use float64.
 */
import type { KernelBackend } from './backend.ts';

/**
 * One conditional diffusion model with its condition already bound (classifier-free guidance,
 * if any, happens inside). `eps` returns the noise prediction ε(x, t) for `batch` samples laid
 * out back to back in `x` (length batch·dim). It may return a fresh array or a buffer it
 * reuses between calls: the sampler copies what it needs before the next call.
 */
export interface Denoiser {
  readonly name?: string;
  eps(x: Float32Array, t: number, batch: number): Promise<Float32Array> | Float32Array;
}

/**
 * An aggregation rule merges the DDIM proposals of several models into one latent x′.
 *
 * - A *pairwise* rule (the default) receives `xs = [a, b]` and `weights = [w]`, where `w` is
 *   the paper's weight of the *other* model b (w = 0 keeps a, w = 1 gives b). The sampler folds
 *   it over N models, target first: rule(rule(y_target, y_1, w₁), y_2, w₂) …
 * - A *symmetric* rule (`symmetric: true`) receives all N proposals, target first, and N
 *   non-negative weights that sum to 1.
 *
 * Every rule works per sample: `xs[k]` and `out` hold B·dim values, and each block of `dim`
 * values is one sample. `out` may alias `xs[0]`; the rule writes `out` and returns it.
 * `kernels` is the backend the caller runs on (the sampler passes its own); a rule may use it
 * for its element passes or ignore it.
 */
export type AggregationRule = ((
  xs: readonly Float32Array[],
  weights: readonly number[],
  out: Float32Array,
  dim: number,
  kernels?: KernelBackend,
) => Float32Array) & {
  readonly symmetric?: boolean;
  readonly ruleName?: string;
};
