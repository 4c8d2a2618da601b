import { expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { compileKernels, MODULE, renderModule } from '../../scripts/build-wasm.ts';

it('the committed WebAssembly module is the compiled wasm/kernels.ts (npm run build:wasm)', async () => {
  const bytes = await compileKernels();
  const committed = readFileSync(new URL(`../../${MODULE}`, import.meta.url), 'utf8');
  expect(committed, 'src/core/wasm-module.ts is stale: run npm run build:wasm').toBe(renderModule(bytes));
  // browsers compile modules over 4 KiB only asynchronously on the main thread; the backend
  // compiles synchronously, so the module must stay under that limit
  expect(bytes.length).toBeLessThan(4096);
});
