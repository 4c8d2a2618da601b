import { expect, it } from 'vitest';
import { fnv1a, goldenRun } from '../helpers/golden-run.ts';

// The same constants are checked under Deno by test-deno/golden_test.ts, so a seeded run gives
// identical bits in Node and Deno.
export const GOLDEN_HASH = '5768720a';

it('a seeded 3-model AMDM run is bit-identical to the recorded one', async () => {
  const r = await goldenRun();
  expect(r.length).toBe(384);
  expect(r[0]).toBe(1.302933692932129);
  expect(r[383]).toBe(-0.23839053511619568);
  expect(fnv1a(r)).toBe(GOLDEN_HASH);
});
