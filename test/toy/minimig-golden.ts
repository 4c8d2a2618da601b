/**
 * A MiniMIG golden run checked under Node (minimig-world.test.ts) and Deno
 * (test-deno/minimig_test.ts): the scenes of seed 7, streams 0..49, rendered with marks, their
 * style references, and the evaluator's instance mIoU terms on 3×3-blurred renders, as one
 * FNV-1a hash. Recorded once under Node.
 */
import { gaussianRng } from '../../src/core/rng.ts';
import {
  bytesToUnit,
  evaluateScene,
  renderScene,
  renderStyle,
  sampleReferencePhase,
  sampleSceneFrom,
} from '../../src/toy/minimig/index.ts';
import { fnv1a } from '../helpers/golden-run.ts';

export const MINIMIG_GOLDEN_HASH = '76698ae5';

function blur(x: Float32Array): Float32Array {
  const o = new Float32Array(x.length);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < 32; y++) {
      for (let xx = 0; xx < 32; xx++) {
        let s = 0;
        for (let dy = -1; dy <= 1; dy++)
          for (let dx = -1; dx <= 1; dx++)
            s += x[c * 1024 + Math.min(31, Math.max(0, y + dy)) * 32 + Math.min(31, Math.max(0, xx + dx))];
        o[c * 1024 + y * 32 + xx] = s / 9;
      }
    }
  }
  return o;
}

export function minimigGoldenHash(): string {
  const values: number[] = [];
  for (let i = 0; i < 50; i++) {
    const rng = gaussianRng(7, i);
    const scene = sampleSceneFrom(rng);
    const img = renderScene(scene);
    values.push(...img, ...renderStyle({ ...scene.style, phase: sampleReferencePhase(rng, scene.style) }));
    const e = evaluateScene(scene, blur(bytesToUnit(img)));
    values.push(...e.instances.map((r) => r.miou), e.clean.rms, ...e.relations.map((r) => r.evidence));
  }
  return fnv1a(Float32Array.from(values));
}
