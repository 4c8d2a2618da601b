import { expect, it } from 'vitest';
import { BACKEND_NAMES } from '../../src/core/backend.ts';
import { fnv1a, GOLDEN, goldenRun, SPATIAL_GOLDEN, spatialGoldenRun } from '../helpers/golden-run.ts';

// test-deno/golden_test.ts checks the same constants under Deno, so a seeded run gives
// identical bits in Node and Deno on each backend.
for (const backend of BACKEND_NAMES) {
  it(`a seeded 3-model AMDM run on the ${backend} kernels is bit-identical to the recorded one`, async () => {
    const r = await goldenRun(backend);
    const g = GOLDEN[backend];
    expect(r.length).toBe(384);
    expect(r[0]).toBe(g.first);
    expect(r[383]).toBe(g.last);
    expect(fnv1a(r)).toBe(g.hash);
  });
}

it('the two backends differ by float32 rounding only', async () => {
  const [js, wasm] = await Promise.all([goldenRun('js'), goldenRun('wasm')]);
  let worst = 0;
  for (let i = 0; i < js.length; i++)
    worst = Math.max(worst, Math.abs(wasm[i] - js[i]) / Math.max(Math.abs(js[i]), 1e-3));
  expect(worst).toBeGreaterThan(0);
  expect(worst).toBeLessThan(1e-5);
});

for (const backend of BACKEND_NAMES) {
  it(`a seeded run with windows, schedules, spatial maps and the restricted deviation on the ${backend} kernels is bit-identical to the recorded one`, async () => {
    expect(fnv1a(await spatialGoldenRun(backend))).toBe(SPATIAL_GOLDEN[backend]);
  });
}
