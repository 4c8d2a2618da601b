// Deno: the MiniMIG sampler, renderer and evaluator give the same bits as under Node
// (test/toy/minimig-world.test.ts checks the same hash).
import { MINIMIG_GOLDEN_HASH, minimigGoldenHash } from '../test/toy/minimig-golden.ts';

Deno.test('MiniMIG scenes, renders and evaluations match the Node run bit for bit', () => {
  const h = minimigGoldenHash();
  if (h !== MINIMIG_GOLDEN_HASH) throw new Error(`hash ${h} differs from the Node run (${MINIMIG_GOLDEN_HASH})`);
});
