/**
 * Runs a test file's tests once per kernel backend (js, the reference, and wasm), with that
 * backend active, so every property of the core is checked on both.
 */
import { afterAll, beforeAll, describe } from 'vitest';
import {
  BACKEND_NAMES,
  kernelBackend,
  setKernelBackend,
  type BackendName,
  type KernelBackend,
} from '../../src/core/backend.ts';

export function forEachBackend(body: (name: BackendName) => void): void {
  for (const name of BACKEND_NAMES) {
    describe(`${name} kernels`, () => {
      let before: KernelBackend;
      beforeAll(() => {
        before = kernelBackend();
        setKernelBackend(name);
      });
      afterAll(() => {
        setKernelBackend(before);
      });
      body(name);
    });
  }
}
