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
 *
 * The seeded normal stream (rng.ts) does not follow this choice: its WebAssembly path gives the
 * JS path's bits (under Node 20), so it runs wherever WebAssembly SIMD validates.
 */
import type { BackendName, KernelBackend } from './kernel-types.ts';
import { jsBackend } from './backend-js.ts';
import { wasmBackend, wasmSupported } from './backend-wasm.ts';
import { describe } from './validate.ts';

export type { BackendName, KernelBackend } from './kernel-types.ts';

export const BACKEND_NAMES: readonly BackendName[] = ['js', 'wasm'];

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
