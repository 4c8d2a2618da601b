// Deno: the core runs unchanged and a seeded AMDM run gives the same bits as under Node on each
// kernel backend (test/core/golden.test.ts checks the same constants).
import { BACKEND_NAMES } from '../src/core/backend.ts';
import { wasmSupported } from '../src/core/backend-wasm.ts';
import { fnv1a, GOLDEN, goldenRun, SPATIAL_GOLDEN, spatialGoldenRun } from '../test/helpers/golden-run.ts';

Deno.test('Deno runs the wasm kernels (WebAssembly SIMD validates)', () => {
  if (!wasmSupported()) throw new Error('WebAssembly SIMD kernels do not validate under Deno');
});

for (const backend of BACKEND_NAMES) {
  Deno.test(`seeded 3-model AMDM run on the ${backend} kernels matches the Node result bit for bit`, async () => {
    const r = await goldenRun(backend);
    const g = GOLDEN[backend];
    if (r.length !== 384) throw new Error(`length ${r.length}`);
    if (r[0] !== g.first || r[383] !== g.last)
      throw new Error(`values ${r[0]} ${r[383]}, expected ${g.first} ${g.last}`);
    const h = fnv1a(r);
    if (h !== g.hash) throw new Error(`hash ${h} differs from the Node run (${g.hash})`);
  });
}

for (const backend of BACKEND_NAMES) {
  Deno.test(
    `seeded run with windows, schedules and spatial maps on the ${backend} kernels matches the Node result`,
    async () => {
      const h = fnv1a(await spatialGoldenRun(backend));
      if (h !== SPATIAL_GOLDEN[backend])
        throw new Error(`hash ${h} differs from the Node run (${SPATIAL_GOLDEN[backend]})`);
    },
  );
}
