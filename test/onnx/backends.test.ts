/**
 * onnxruntime-web (WASM) against onnxruntime-node: the same latents (≤ 1e-4) for the closed-form
 * ONNX experts and for the generated SD folders (float32, float16, external data, the grounded
 * families), and the same option errors. test-deno/backends_test.ts runs the web side under Deno.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groundedFamilyModels } from '../helpers/family-models.ts';
import { sdTinyFiles } from '../../fixtures/sd-tiny.ts';
import { makeSchedule } from '../../src/core/schedule.ts';
import { sampleAMDM } from '../../src/core/sampler.ts';
import { shapesExpertDenoiser } from '../../src/onnx/export-gmm.ts';
import { loadModelFolder, type ModelFolder } from '../../src/onnx/model-folder.ts';
import { makeTensor, openSession, outputFloat32, type Backend, type OnnxTensor } from '../../src/onnx/session.ts';
import '../../src/sd/families/index.ts';
import { generateSd, type SdModelSpec } from '../../src/sd/pipeline.ts';
import { makePromptSet } from '../../src/toy/shapes/prompts.ts';
import { makeWorld } from '../../src/toy/shapes/world.ts';
import { tmpFolders } from './tmp-folders.ts';

const tmp = tmpFolders();
let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'amdm-backends-'));
});
afterAll(async () => {
  await tmp.cleanup();
  await rm(root, { recursive: true, force: true });
});

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe("backend 'web' (onnxruntime-web, WASM)", () => {
  it('opens model bytes, reports its backend and gives the same output as node', async () => {
    const vae = sdTinyFiles().get('vae_decoder/model.onnx')!;
    const input = new Float32Array(256).map((_, i) => Math.sin(0.3 * i));
    const out = async (backend: Backend) => {
      const s = await openSession(vae, { backend });
      try {
        expect(s.backend).toBe(backend);
        expect(s.device).toBe('cpu');
        expect(s.inputs).toEqual([{ name: 'latent_sample', type: 'float32', shape: ['batch', 4, 8, 8] }]);
        return outputFloat32(
          await s.run({ latent_sample: makeTensor(s.input('latent_sample'), input, [1, 4, 8, 8]) }),
          'sample',
        );
      } finally {
        await s.release();
      }
    };
    const node = await out('node');
    const web = await out('web');
    expect(node.length).toBe(3 * 64 * 64);
    expect(maxAbsDiff(node, web)).toBeLessThanOrEqual(1e-5);
  });

  it("'auto' takes node where its addon loads; bad options name the parameter", async () => {
    const vae = sdTinyFiles().get('vae_decoder/model.onnx')!;
    const s = await openSession(vae, { backend: 'auto' });
    expect(s.backend).toBe('node');
    await s.release();
    await expect(openSession(vae, { backend: 'wasm' as never })).rejects.toThrow(
      "backend must be one of 'node', 'web', 'auto', got \"wasm\"",
    );
    await expect(openSession(vae, { backend: 'web', device: 'cuda' })).rejects.toThrow(
      "device 'cuda' needs backend 'node' or 'auto'",
    );
    await expect(openSession(new Uint8Array([1, 2, 3]), { backend: 'web' })).rejects.toThrow(
      /^could not load ONNX model <3 model bytes>: /,
    );
    await expect(openSession(join(root, 'missing.onnx'), { backend: 'web' })).rejects.toThrow(
      /^could not load ONNX model .*missing\.onnx: .*ENOENT/,
    );
  });

  it("device 'auto' on web runs on the CPU and says so once per callback", async () => {
    const vae = sdTinyFiles().get('vae_decoder/model.onnx')!;
    const messages: string[] = [];
    const onFallback = (m: string) => messages.push(m);
    for (let i = 0; i < 2; i++) (await openSession(vae, { backend: 'web', device: 'auto', onFallback })).release();
    expect(messages).toEqual(["device 'auto': backend 'web' has no CUDA, running on the CPU (WASM)"]);
  });

  it('closed-form experts: AMDM latents through node and web agree within 1e-4', async () => {
    const world = makeWorld();
    const schedule = makeSchedule();
    const [prompt] = makePromptSet(world, { seed: 5, count: 1, levels: [2] });
    const run = async (backend: Backend) => {
      const layout = await shapesExpertDenoiser(world, prompt, 'layout', schedule, 'onnx', { backend });
      const attribute = await shapesExpertDenoiser(world, prompt, 'attribute', schedule, 'onnx', { backend });
      try {
        return await sampleAMDM({
          models: [layout, attribute],
          steps: 12,
          aggregateSteps: 4,
          shape: [3, world.height, world.width],
          seed: 3,
          batch: 2,
          schedule,
        });
      } finally {
        await layout.release();
        await attribute.release();
      }
    };
    const node = await run('node');
    const web = await run('web');
    expect(web.calls).toEqual([12, 4]);
    expect(maxAbsDiff(node.latents, web.latents)).toBeLessThanOrEqual(1e-4);
  });

  const sdCases: [string, Parameters<typeof tmp.sdTiny>[0]][] = [
    ['external data model.onnx_data', { seed: 1, externalData: 'model.onnx_data' }],
    [
      'int32 ids, timestep [batch], weights.pb',
      { seed: 2, ids: 'int32', timestep: 'float32-batch', externalData: 'weights.pb' },
    ],
  ];
  for (const [label, opts] of sdCases) {
    it(`generated SD folder (${label}): same latents and image through node and web`, async () => {
      const other = await tmp.sdTiny({ ...opts, seed: (opts?.seed ?? 1) + 10 });
      const models = [{ folder: await tmp.sdTiny(opts) }, { folder: other }];
      const run = (backend: Backend) =>
        generateSd({ models, prompt: 'a red square', steps: 5, aggregateSteps: 2, seed: 4, session: { backend } });
      const node = await run('node');
      const web = await run('web');
      expect(maxAbsDiff(node.target.latents, web.target.latents)).toBeLessThanOrEqual(1e-4);
      // 8-bit pixels of the same image: equal up to one rounding step
      const a = node.target.images[0].data;
      const b = web.target.images[0].data;
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
      expect(worst).toBeLessThanOrEqual(1);
    });
  }

  it('float16 SD folder: every component gives the same float16 outputs up to one unit in the last place', async () => {
    // Whole float16 runs are not compared at 1e-4: one-ulp differences between the two
    // backends' kernels (the text encoder's, here) are amplified by CFG over the steps.
    const dir = await tmp.sdTiny({ dtype: 'float16' });
    const sessions = await Promise.all((['node', 'web'] as const).map((backend) => loadModelFolder(dir, { backend })));
    try {
      for (const pick of [
        (f: ModelFolder) => f.unet.session,
        (f: ModelFolder) => f.vaeDecoder!.session,
        (f: ModelFolder) => f.textEncoder!.session,
      ]) {
        const [a, b] = await Promise.all(
          sessions.map(async (f) => {
            const s = pick(f);
            const feeds: Record<string, OnnxTensor> = {};
            for (const i of s.inputs) {
              const dims = i.shape.map((d) => (typeof d === 'number' ? d : d === 'sequence' ? 77 : 1));
              const n = dims.reduce((p, d) => p * d, 1);
              feeds[i.name] = makeTensor(
                i,
                Array.from({ length: n }, (_, k) => (i.type.startsWith('int') ? k % 50 : Math.sin(0.37 * k))),
                dims,
              );
            }
            expect(s.outputs[0].type).toBe('float16');
            return outputFloat32(await s.run(feeds), s.outputs[0].name);
          }),
        );
        for (let i = 0; i < a.length; i++) {
          const ulp = 2 ** (Math.floor(Math.log2(Math.max(Math.abs(a[i]), Math.abs(b[i]), 2 ** -14))) - 10);
          expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(ulp);
        }
      }
    } finally {
      await Promise.all(sessions.map((f) => f.release()));
    }
  });

  it('grounded families (InteractDiffusion ← MIGC + IP-Adapter): same latents through node and web', async () => {
    const models: SdModelSpec[] = await groundedFamilyModels(root);
    const run = (backend: Backend) =>
      generateSd({
        models,
        prompt: 'a man feeding a cat',
        steps: 4,
        aggregateSteps: 2,
        weights: [0.5, 0.65],
        session: { backend },
      });
    const node = await run('node');
    const web = await run('web');
    expect(web.calls).toEqual([4, 2, 2]);
    expect(maxAbsDiff(node.target.latents, web.target.latents)).toBeLessThanOrEqual(1e-4);
  });
});
