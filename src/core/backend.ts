/**
 * Kernel backends: the hot per-element passes of the core (DDIM step, the aggregation rules'
 * passes, eq. 9, non-finite scans) behind one small interface, so the same sampler runs on the
 * pure-JS reference loops or on WebAssembly SIMD kernels.
 *
 * - `js`: the reference (`backend-js.ts`); the seeded golden runs pin its bits in Node and Deno.
 * - `wasm`: 128-bit SIMD kernels compiled from `wasm/kernels.ts` (`backend-wasm.ts`); agrees with
 *   `js` to ≤ 1e-6 relative and is itself bit-identical across runtimes.
 *
 * The active backend is chosen on first use: `AMDM_BACKEND=js|wasm` when set, else `wasm` when
 * this runtime validates the module (WebAssembly with SIMD), else `js`. `setKernelBackend`
 * changes it; the sampler's `backend` option picks one for a single run. Kernels accept any
 * Float32Arrays; arrays from `buffers()` are used in place, others are copied in and out, so a
 * hot loop allocates its buffers through the backend it runs on.
 *
 * Validation (lengths, ranges) happens in the public functions before they call a backend; a
 * backend trusts its arguments.
 */
import type { DDIMCoefficients } from './ddim.ts';
import type { SphereScratch } from './kernel-math.ts';
import { jsBackend } from './backend-js.ts';
import { wasmBackend, wasmSupported } from './backend-wasm.ts';
import { describe } from './validate.ts';

export type BackendName = 'js' | 'wasm';
export const BACKEND_NAMES: readonly BackendName[] = ['js', 'wasm'];

export interface KernelBackend {
  readonly name: BackendName;
  /** `count` zeroed Float32Arrays of `n` values that this backend's kernels use without copying. */
  buffers(count: number, n: number): Float32Array[];
  /** Whether the kernels use `x` in place (true for every array on `js`). */
  owns(x: Float32Array): boolean;
  /** DDIM step (eq. 4/6, see `ddimStepInto`): mean, and optionally prev (= mean + σ·noise) and x̂₀. */
  ddim(
    c: DDIMCoefficients,
    x: Float32Array,
    eps: Float32Array,
    mean: Float32Array,
    prev: Float32Array | null,
    x0: Float32Array | null,
    noise: Float32Array | null,
  ): void;
  /** out = ca·a + cb·b (lerp, vp). */
  combine(a: Float32Array, b: Float32Array, ca: number, cb: number, out: Float32Array): void;
  /** Eq. 8 per sample of `dim` values. */
  slerp(a: Float32Array, b: Float32Array, w: number, out: Float32Array, dim: number): void;
  /** Normalized lerp per sample. */
  nlerp(a: Float32Array, b: Float32Array, w: number, out: Float32Array, dim: number): void;
  /** The weighted spherical (Karcher) mean per sample, on the calling rule's float64 scratch. */
  sphericalMean(
    xs: readonly Float32Array[],
    weights: readonly number[],
    out: Float32Array,
    dim: number,
    tol: number,
    maxIt: number,
    scratch: SphereScratch,
  ): void;
  /** Eq. 9 per sample; per-sample distances into `distances` when given. */
  deviate(
    x: Float32Array,
    mu: Float32Array,
    eta: number,
    out: Float32Array,
    dim: number,
    distances: Float64Array | undefined,
    clip: boolean,
  ): void;
  /** Index of the first NaN or ±∞, or −1. */
  firstNonFinite(x: Float32Array): number;
  /** ‖a‖² over one sample block, float64. */
  sqNormAt(a: Float32Array, offset: number, dim: number): number;
}

const BACKENDS: Record<BackendName, () => KernelBackend> = {
  js: () => jsBackend,
  wasm: () => {
    if (!wasmSupported())
      throw new Error(
        'the wasm kernel backend needs WebAssembly with 128-bit SIMD, which this runtime lacks; use the js backend',
      );
    return wasmBackend();
  },
};

let active: KernelBackend | null = null;

/** AMDM_BACKEND from the environment (Node, Deno with --allow-env), or undefined. */
function envChoice(): string | undefined {
  try {
    const g = globalThis as {
      process?: { env?: Record<string, string | undefined> };
      Deno?: { env: { get(k: string): string | undefined } };
    };
    return g.process?.env?.AMDM_BACKEND ?? g.Deno?.env.get('AMDM_BACKEND');
  } catch {
    return undefined; // Deno without permission to read the environment
  }
}

/** A backend by name ('auto': wasm when supported, else js), or the given backend itself. */
export function resolveBackend(
  spec: BackendName | 'auto' | KernelBackend | undefined,
  param = 'backend',
): KernelBackend {
  if (spec === undefined) return kernelBackend();
  if (typeof spec === 'object' && spec !== null && typeof spec.ddim === 'function') return spec;
  if (spec === 'auto') return wasmSupported() ? BACKENDS.wasm() : jsBackend;
  if (typeof spec === 'string' && Object.hasOwn(BACKENDS, spec)) return BACKENDS[spec as BackendName]();
  throw new RangeError(
    `${param} must be one of 'auto', ${BACKEND_NAMES.map((b) => `'${b}'`).join(', ')} or a KernelBackend, got ${describe(spec)}`,
  );
}

/** The active backend (chosen on first use from AMDM_BACKEND, else automatically). */
export function kernelBackend(): KernelBackend {
  if (active === null) {
    const env = envChoice();
    active = resolveBackend(env === undefined || env === '' ? 'auto' : (env as BackendName), 'AMDM_BACKEND');
  }
  return active;
}

/** Makes `spec` the active backend for every later call that does not name one; returns it. */
export function setKernelBackend(spec: BackendName | 'auto' | KernelBackend): KernelBackend {
  active = resolveBackend(spec);
  return active;
}
