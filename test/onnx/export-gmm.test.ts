import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { makeSchedule } from '../../src/core/schedule.ts';
import { sampleAMDM } from '../../src/core/sampler.ts';
import {
  gmmOnnxDenoiser,
  schedulerConfigJson,
  shapesExpertDenoiser,
  writeGmmModelFolder,
} from '../../src/onnx/export-gmm.ts';
import { loadModelFolder } from '../../src/onnx/model-folder.ts';
import { createUnetDenoiser } from '../../src/onnx/unet-denoiser.ts';
import { scheduleConfigFromJson } from '../../src/onnx/scheduler-config.ts';
import { diagonalMixture, isotropicMixture, mixtureDenoiser } from '../../src/toy/gmm.ts';
import { makeWorld } from '../../src/toy/shapes/world.ts';
import { makePromptSet } from '../../src/toy/shapes/prompts.ts';
import { tmpFolders } from './tmp-folders.ts';

const tmp = tmpFolders();
afterAll(() => tmp.cleanup());

const schedule = makeSchedule();
const dim = 12;
const K = 5;
const mixture = isotropicMixture(
  Array.from({ length: K * dim }, (_, i) => 2 * Math.sin(i * 1.7)),
  dim,
  [0.1, 0, 0.5, 1, 0.02], // one point mass
  [0.1, 0.2, 0.3, 0.25, 0.15],
);

/** max |a − b| / max |a|. */
function relErr(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(a[i]));
  }
  return d / m;
}

describe('Gaussian-mixture ε-model as ONNX', () => {
  it('matches mixtureDenoiser at several t, including t < 0 (the final ᾱ), within 1e-4 relative', async () => {
    const js = mixtureDenoiser(mixture, schedule);
    const onnx = await gmmOnnxDenoiser(mixture, schedule, { shape: [3, 2, 2] });
    const x = Float32Array.from({ length: 3 * dim }, (_, i) => 1.5 * Math.cos(i * 0.37));
    for (const t of [999, 500, 101, 1, 0, -1]) {
      const ref = js.eps(x, t, 3).slice();
      expect(relErr(ref, await onnx.eps(x, t, 3))).toBeLessThanOrEqual(1e-4);
    }
    await expect(async () => onnx.eps(x, 1000, 3)).rejects.toThrow(
      't must be an integer timestep in [0, 999], or negative for the final ᾱ, got 1000',
    );
    await onnx.release();
  });

  it('property: random isotropic mixtures and points agree with the pure-JS ε', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 999 }),
        fc.integer({ min: 0, max: 1000 }),
        async (k, t, seed) => {
          const d = 6;
          const r = (i: number) => Math.sin(seed * 12.9898 + i * 78.233) * 2;
          const mix = isotropicMixture(
            Array.from({ length: k * d }, (_, i) => r(i)),
            d,
            Array.from({ length: k }, (_, i) => 0.05 + Math.abs(r(100 + i))),
          );
          const x = Float32Array.from({ length: 2 * d }, (_, i) => r(200 + i));
          const onnx = await gmmOnnxDenoiser(mix, schedule);
          try {
            const ref = mixtureDenoiser(mix, schedule).eps(x, t, 2);
            expect(relErr(ref, await onnx.eps(x, t, 2))).toBeLessThanOrEqual(1e-4);
          } finally {
            await onnx.release();
          }
        },
      ),
      { numRuns: 15 },
    );
  });

  it('writes a model folder that loadModelFolder + createUnetDenoiser (guidance 1) run', async () => {
    const sd = makeSchedule({
      betaSchedule: 'linear',
      betaStart: 0.0001,
      betaEnd: 0.02,
      setAlphaToOne: true,
      stepsOffset: 0,
    });
    expect(scheduleConfigFromJson(schedulerConfigJson(sd))).toEqual(sd.config);
    const dir = await writeGmmModelFolder(await tmp.path('gmm'), mixture, sd, { shape: [1, 3, 4] });
    const f = await loadModelFolder(dir, { components: ['unet'] });
    expect(f.schedule).toEqual(sd.config);
    expect([f.unet.latentChannels, f.unet.latentHeight, f.unet.latentWidth, f.unet.textWidth]).toEqual([1, 3, 4, 1]);
    const d = createUnetDenoiser({ unet: f.unet, cond: new Float32Array(1), guidance: 1 });
    const js = mixtureDenoiser(mixture, sd);
    const x = Float32Array.from({ length: dim }, (_, i) => i / 6 - 1);
    for (const t of [900, 10, 0])
      expect(relErr(js.eps(x, t, 1).slice(), await d.eps(x, t, 1))).toBeLessThanOrEqual(1e-4);
    // ᾱ = 1 after the last step (set_alpha_to_one): the point mass has no density; both refuse.
    expect(() => js.eps(x, -1, 1)).toThrow('mixture component 1 has variance ᾱσ² + 1 − ᾱ = 0');
    await expect(d.eps(x, -1, 1)).rejects.toThrow(/output 'out_sample' has a non-finite value/);
    await f.release();
  });

  it('rejects diagonal mixtures and shapes that do not hold the dimension', async () => {
    await expect(gmmOnnxDenoiser(diagonalMixture([0, 0], 2, 1), schedule)).rejects.toThrow(
      "mixture must be isotropic (kind 'isotropic')",
    );
    await expect(gmmOnnxDenoiser(mixture, schedule, { shape: [2, 2, 2] })).rejects.toThrow(
      'opts.shape [2, 2, 2] must hold mixture.dim = 12 elements, got 8',
    );
  });
});

describe('Shapes experts on both backends', () => {
  it('AMDM layout ← attribute: ONNX and JS latents agree within 1e-4 (2 prompts, 20 steps)', async () => {
    const world = makeWorld();
    const prompts = makePromptSet(world, { seed: 5, count: 2, levels: [2] });
    for (const [p, prompt] of prompts.entries()) {
      const run = async (backend: 'js' | 'onnx') => {
        const layout = await shapesExpertDenoiser(world, prompt, 'layout', schedule, backend);
        const attribute = await shapesExpertDenoiser(world, prompt, 'attribute', schedule, backend);
        try {
          return await sampleAMDM({
            models: [layout, attribute],
            steps: 20,
            aggregateSteps: 4,
            shape: [3, world.height, world.width],
            seed: 11 + p,
            batch: 2,
            schedule,
          });
        } finally {
          await layout.release();
          await attribute.release();
        }
      };
      const js = await run('js');
      const onnx = await run('onnx');
      let maxAbs = 0;
      for (let i = 0; i < js.latents.length; i++) maxAbs = Math.max(maxAbs, Math.abs(js.latents[i] - onnx.latents[i]));
      expect(maxAbs).toBeLessThanOrEqual(1e-4);
      expect(onnx.calls).toEqual([20, 4]);
    }
  });

  it('rejects unknown experts and backends', async () => {
    const world = makeWorld();
    const [prompt] = makePromptSet(world, { seed: 1, count: 1 });
    await expect(shapesExpertDenoiser(world, prompt, 'nope' as never, schedule, 'js')).rejects.toThrow(
      "expertName must be one of 'layout', 'attribute', 'style', 'oracle', got \"nope\"",
    );
    await expect(shapesExpertDenoiser(world, prompt, 'layout', schedule, 'wasm' as never)).rejects.toThrow(
      "backend must be one of 'js', 'onnx', got \"wasm\"",
    );
  });
});
