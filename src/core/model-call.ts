/** A denoiser's ε at one step, with a throw or a rejection turned into an error that names the model and the step. */
import type { Denoiser } from './types.ts';

/**
 * The error of a denoiser that threw or rejected at step `step`: names the model and the step,
 * keeps the original as `cause`. An abort passes through unchanged.
 */
export function modelFailure(model: Denoiser, k: number, step: number, t: number, e: unknown): unknown {
  if (e instanceof Error && e.name === 'AbortError') return e;
  const why = e instanceof Error ? e.message : String(e);
  return new Error(`models[${k}] (${model.name ?? 'unnamed'}) failed at step ${step} (t = ${t}): ${why}`, { cause: e });
}

/**
 * `model.eps(x, t, batch)` with a throw or a rejection turned into {@link modelFailure}: the value
 * itself when the denoiser answers synchronously, else a promise.
 */
export function epsOf(
  model: Denoiser,
  k: number,
  x: Float32Array,
  step: number,
  t: number,
  batch: number,
): Float32Array | Promise<Float32Array> {
  let ret: Float32Array | Promise<Float32Array>;
  try {
    ret = model.eps(x, t, batch);
  } catch (e) {
    return Promise.reject(modelFailure(model, k, step, t, e));
  }
  return ret instanceof Promise
    ? ret.catch((e: unknown) => {
        throw modelFailure(model, k, step, t, e);
      })
    : ret;
}

/** `model.eps(…)` as a promise whose failure is {@link modelFailure}; the arguments are `epsOf`'s. */
export async function callModel(...args: Parameters<typeof epsOf>): Promise<Float32Array> {
  return epsOf(...args);
}
