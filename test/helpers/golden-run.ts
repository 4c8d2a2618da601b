/**
 * One fixed AMDM run used to check that Node and Deno produce the same bits on each kernel
 * backend: three exact Gaussian denoisers, slerp, √d-scaled η, seeded noise, η_ddim > 0. Both
 * `test/core/golden.test.ts` (vitest, Node) and `test-deno/golden_test.ts` (Deno) compare it with
 * the constants below.
 */
import { sampleAMDM } from '../../src/core/sampler.ts';
import { makeSchedule, alphaBar } from '../../src/core/schedule.ts';
import type { Denoiser } from '../../src/core/types.ts';
import type { BackendName } from '../../src/core/backend.ts';

/**
 * The recorded result of each backend: first and last value and the FNV-1a hash of all 384.
 * `js` is the reference loops' result (unchanged since they were written); `wasm` differs from
 * it by float32 rounding (≈ 2e-7 relative) but must be the same bits in every runtime.
 */
export const GOLDEN: Record<BackendName, { first: number; last: number; hash: string }> = {
  js: { first: 1.302933692932129, last: -0.23839053511619568, hash: '5768720a' },
  wasm: { first: 1.3029334545135498, last: -0.2383905053138733, hash: '343fd189' },
};

/** The golden runs' closed-form models: a Gaussian around sin(offset + i/7) of width σ, on 3×8×8 samples. */
function goldenModel(schedule: ReturnType<typeof makeSchedule>) {
  const dim = 3 * 8 * 8;
  return (offset: number, sigma: number): Denoiser => ({
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
}

export async function goldenRun(backend: BackendName = 'js'): Promise<Float32Array> {
  const schedule = makeSchedule();
  const model = goldenModel(schedule);
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
    backend,
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

/**
 * The same three models with the options beyond the paper: a late window for one model, a cosine
 * and a list weight schedule, a feathered box map and a dense map, the relative deviation step
 * restricted to the maps. Node and Deno must agree bit for bit on each backend.
 */
export const SPATIAL_GOLDEN: Record<BackendName, string> = { js: '807adf24', wasm: 'c96b88f7' };

export async function spatialGoldenRun(backend: BackendName = 'js'): Promise<Float32Array> {
  const { boxWeightMap } = await import('../../src/core/spatial.ts');
  const schedule = makeSchedule();
  const model = goldenModel(schedule);
  const r = await sampleAMDM({
    models: [model(0, 0.2), model(1, 0.3), model(2, 0.1)],
    target: 1,
    steps: 20,
    aggregateSteps: 8,
    windows: [null, [3, 12]],
    weights: [
      { kind: 'cosine', from: 1, to: 0.4 },
      { kind: 'list', values: [0.9, 0.8, 0.7, 0.6, 0.5, 0.5, 0.5, 0.5, 0.5] },
    ],
    spatialWeights: [
      boxWeightMap({ height: 8, width: 8, boxes: [[0.25, 0.25, 0.75, 0.625]], feather: 1.5 }),
      Array.from({ length: 64 }, (_, i) => (i % 5) / 4),
    ],
    spatialDeviation: true,
    deviation: 'relative',
    eta: 0.2,
    rule: 'slerp',
    shape: [3, 8, 8],
    batch: 2,
    seed: 99,
    ddimEta: 0.3,
    backend,
  });
  return r.latents;
}
