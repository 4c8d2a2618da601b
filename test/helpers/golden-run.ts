/**
 * One fixed AMDM run used to check that Node and Deno produce the same bits: three exact
 * Gaussian denoisers, slerp, √d-scaled η, seeded noise, η_ddim > 0. Both `test/core/golden.test.ts`
 * (vitest, Node) and `test-deno/golden_test.ts` (Deno) compare it with the same constants.
 */
import { sampleAMDM } from '../../src/core/sampler.ts';
import { makeSchedule, alphaBar } from '../../src/core/schedule.ts';
import type { Denoiser } from '../../src/core/types.ts';

export async function goldenRun(): Promise<Float32Array> {
  const schedule = makeSchedule();
  const dim = 3 * 8 * 8;
  const model = (offset: number, sigma: number): Denoiser => ({
    eps(x, t, batch) {
      const a = alphaBar(schedule, t);
      const k = Math.sqrt(1 - a) / (a * sigma * sigma + 1 - a);
      const out = new Float32Array(x.length);
      for (let b = 0; b < batch; b++) {
        for (let i = 0; i < dim; i++) out[b * dim + i] = k * (x[b * dim + i] - Math.sqrt(a) * Math.sin(offset + i / 7));
      }
      return out;
    },
  });
  const r = await sampleAMDM({
    models: [model(0, 0.2), model(1, 0.3), model(2, 0.1)],
    target: 1,
    steps: 20,
    aggregateSteps: 8,
    weights: [0.5, 0.65],
    eta: 0.3,
    shape: [3, 8, 8],
    batch: 2,
    seed: 1234,
    ddimEta: 0.3,
  });
  return r.latents;
}

/** FNV-1a over the float32 bytes: any single-bit difference changes it. */
export function fnv1a(x: Float32Array): string {
  const bytes = new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i];
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}
