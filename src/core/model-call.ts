/** A denoiser's ε at one step, with a throw or a rejection turned into an error that names the model and the step. */
import type { Denoiser } from './types.ts';

/** Which call an ε answers: the model's index, the step's index and timestep, and the batch. */
export interface ModelCall {
  /** The model's index in the run (`models[k]`). */
  k: number;
  /** The step's index i of T. */
  step: number;
  /** The step's timestep tᵢ, as the denoiser receives it. */
  t: number;
  /** Samples in the latent. */
  batch: number;
}

/**
 * The error of a denoiser that threw or rejected at step `call.step`: names the model and the
 * step, keeps the original as `cause`. An abort passes through unchanged.
 */
export function modelFailure(model: Denoiser, call: Omit<ModelCall, 'batch'>, e: unknown): unknown {
  if (e instanceof Error && e.name === 'AbortError') return e;
  const why = e instanceof Error ? e.message : String(e);
  return new Error(
    `models[${call.k}] (${model.name ?? 'unnamed'}) failed at step ${call.step} (t = ${call.t}): ${why}`,
    {
      cause: e,
    },
  );
}

/**
 * `model.eps(x, call.t, call.batch)` with a throw or a rejection turned into {@link modelFailure}:
 * the value itself when the denoiser answers synchronously, else a promise. A loop that calls
 * every step may pass one `call` record and update it in place: a pending call keeps a copy.
 */
export function epsOf(model: Denoiser, x: Float32Array, call: ModelCall): Float32Array | Promise<Float32Array> {
  let ret: Float32Array | Promise<Float32Array>;
  try {
    ret = model.eps(x, call.t, call.batch);
  } catch (e) {
    return Promise.reject(modelFailure(model, call, e));
  }
  if (!(ret instanceof Promise)) return ret;
  // the caller may update `call` before this settles
  const at = { k: call.k, step: call.step, t: call.t };
  return ret.catch((e: unknown) => {
    throw modelFailure(model, at, e);
  });
}

/** `model.eps(…)` as a promise whose failure is {@link modelFailure}; the arguments are `epsOf`'s. */
export async function callModel(model: Denoiser, x: Float32Array, call: ModelCall): Promise<Float32Array> {
  return epsOf(model, x, call);
}
