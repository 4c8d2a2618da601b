// Deno: the core runs unchanged and a seeded AMDM run gives the same bits as under Node
// (test/core/golden.test.ts checks the same constants).
import { fnv1a, goldenRun } from '../test/helpers/golden-run.ts';

Deno.test('seeded 3-model AMDM run matches the Node result bit for bit', async () => {
  const r = await goldenRun();
  if (r.length !== 384) throw new Error(`length ${r.length}`);
  if (r[0] !== 1.302933692932129 || r[383] !== -0.23839053511619568) throw new Error(`values ${r[0]} ${r[383]}`);
  const h = fnv1a(r);
  if (h !== '5768720a') throw new Error(`hash ${h} differs from the Node run (5768720a)`);
});
