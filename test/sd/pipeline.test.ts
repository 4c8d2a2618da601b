import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { makeSchedule } from '../../src/core/schedule.ts';
import { sampleDDIM } from '../../src/core/sampler.ts';
import { graphBuilder } from '../../src/onnx/graph.ts';
import { loadModelFolder } from '../../src/onnx/model-folder.ts';
import { createUnetDenoiser } from '../../src/onnx/unet-denoiser.ts';
import { decodePNG } from '../../src/image/png.ts';
import { loadClipTokenizer } from '../../src/sd/clip-tokenizer-files.ts';
import {
  encodePromptPair,
  familyKinds,
  getFamily,
  registerFamily,
  sdFamily,
  type ModelFamily,
} from '../../src/sd/family.ts';
import { generateSd, prepareSdPipeline, type SdSampler } from '../../src/sd/pipeline.ts';
import { promptEncoder, tokenizePrompts } from '../../src/sd/text.ts';
import { tmpFolders } from '../onnx/tmp-folders.ts';

const tmp = tmpFolders();
let A: string; // sd-tiny seed 1
let B: string; // sd-tiny seed 2
let A2: string; // a byte-identical copy of A at another path

/** A UNet over a 4×16×16 latent (sample → out_sample = 0.1·sample), other inputs accepted. */
async function bigLatentFolder(): Promise<string> {
  const dir = await tmp.path('big');
  await cp(A, dir, { recursive: true });
  const g = graphBuilder('big_unet');
  g.input('sample', 'float32', ['batch', 4, 16, 16]);
  g.input('timestep', 'float32', []);
  g.input('encoder_hidden_states', 'float32', ['batch', 'sequence', 32]);
  g.op('Mul', ['sample', g.f32([], [0.1])], undefined, 'out_sample');
  g.output('out_sample', 'float32', ['batch', 4, 16, 16]);
  await writeFile(join(dir, 'unet/model.onnx'), g.encode().model);
  return dir;
}

beforeAll(async () => {
  A = await tmp.sdTiny({ seed: 1 });
  B = await tmp.sdTiny({ seed: 2 });
  A2 = await tmp.path('copy');
  await cp(A, A2, { recursive: true });
});
afterAll(() => tmp.cleanup());

describe('model families', () => {
  it('sd is built in; unknown kinds list the registered ones', () => {
    expect(getFamily('sd')).toBe(sdFamily);
    expect(familyKinds()).toContain('sd');
    expect(() => getFamily('nope')).toThrow(/^unknown model kind "nope"; registered kinds: .*\bsd\b/);
  });

  it('registration validates the family and refuses a second family of one kind', () => {
    expect(() => registerFamily(sdFamily)).toThrow(
      "a model family of kind 'sd' is already registered (pass { replace: true } to replace it)",
    );
    expect(() => registerFamily({ ...sdFamily, kind: 'Bad Kind' })).toThrow('family.kind must be a lower-case name');
    expect(() => registerFamily({ ...sdFamily, kind: 'no-schema', conditionSchema: {} as never })).toThrow(
      "family 'no-schema': conditionSchema must be a zod schema",
    );
  });

  it("kind 'sd' refuses a UNet with extra input roles before it runs", async () => {
    const boxes = await tmp.sdTiny({ boxes: true });
    await expect(prepareSdPipeline({ models: [{ folder: A }, { folder: boxes }] })).rejects.toThrow(
      /^models\[1\]: kind 'sd' feeds only latent, timestep and text, but unet\/model\.onnx in .* also has inputs with roles boxes, scale; use the model kind/,
    );
  });
});

describe('prompt encoding', () => {
  it('pads each text to 77 ids with the pad id and encodes each distinct text once', async () => {
    const f = await loadModelFolder(A, { components: ['unet', 'text_encoder'] });
    const tok = await loadClipTokenizer(f.tokenizer!.dir);
    const ids = tokenizePrompts(tok, ['a', '']);
    expect(ids).toHaveLength(154);
    expect(ids[0]).toBe(tok.bosId);
    expect(ids.slice(77 + 2, 154).every((i) => i === tok.padId)).toBe(true);
    const enc = promptEncoder(f.textEncoder!, tok);
    const e1 = await enc.encode(['', 'a red square']);
    const e2 = await enc.encode(['a red square', '', 'a red square']);
    expect(enc.runs).toBe(1);
    expect([e1.rows, e1.length, e1.width, e2.rows]).toEqual([2, 77, 32, 3]);
    const row = 77 * 32;
    expect(e2.hidden.subarray(0, row)).toEqual(e1.hidden.subarray(row, 2 * row));
    expect(e2.hidden.subarray(row, 2 * row)).toEqual(e1.hidden.subarray(0, row));
    await f.release();
  });
});

describe('SD pipeline', () => {
  const base = { prompt: 'a red square', negativePrompt: 'blurry', steps: 6, seed: 3 };

  it('s = 0 with two models equals single-model DDIM on the target (latents and PNG bytes)', async () => {
    const one = await generateSd({ ...base, models: [{ folder: A }] });
    const two = await generateSd({ ...base, models: [{ folder: A }, { folder: B }], aggregateSteps: 0 });
    expect(two.target.latents).toEqual(one.target.latents);
    expect(Buffer.from(two.target.png[0]).equals(Buffer.from(one.target.png[0]))).toBe(true);
    expect(one.calls).toEqual([6]);
    expect(two.calls).toEqual([6, 0]);

    // …and equals core sampleDDIM over the UNet denoiser built by hand.
    const f = await loadModelFolder(A);
    const tok = await loadClipTokenizer(f.tokenizer!.dir);
    const enc = promptEncoder(f.textEncoder!, tok);
    const e = await enc.encode(['blurry', 'a red square']);
    const row = 77 * 32;
    const d = createUnetDenoiser({
      unet: f.unet,
      cond: e.hidden.slice(row),
      uncond: e.hidden.slice(0, row),
      guidance: 7.5,
    });
    const r = await sampleDDIM(d, { steps: 6, shape: [4, 8, 8], seed: 3, schedule: makeSchedule(f.schedule) });
    expect(r.latents).toEqual(one.target.latents);
    await f.release();
  });

  it('AMDM: T calls for the target, s for the other; decodeAll finishes the other run; shared sessions', async () => {
    const r = await generateSd({
      ...base,
      models: [{ folder: A }, { folder: B, name: 'b' }],
      aggregateSteps: 2,
      decodeAll: true,
      trace: true,
    });
    expect(r.calls).toEqual([6, 2]);
    expect(r.finishCalls).toEqual([0, 4]);
    expect(r.totalCalls).toBe(12);
    expect(r.textEncoderRuns).toBe(2); // two different text encoders, each runs once (negative + prompt)
    expect(r.vaeRuns).toBe(2);
    expect(r.models!.map((m) => m.name)).toEqual([A.split('/').pop(), 'b']);
    expect(r.trace!.map((t) => t.aggregated)).toEqual([true, true, false, false, false, false]);
    expect(r.trace![0].evaluated).toEqual([0, 1]);
    const img = await decodePNG(r.target.png[0]);
    expect([img.width, img.height]).toEqual([64, 64]);
    // The target image does not depend on decodeAll.
    const plain = await generateSd({ ...base, models: [{ folder: A }, { folder: B, name: 'b' }], aggregateSteps: 2 });
    expect(plain.target.latents).toEqual(r.target.latents);
    expect(plain.models).toBeNull();
  });

  it('one text-encoder and VAE session serve folders with the same files (same path or same bytes)', async () => {
    const p = await prepareSdPipeline({
      models: [{ folder: A }, { folder: A2 }, { folder: A, name: 'again' }],
      decodeAll: true,
    });
    expect([p.textEncoders, p.vaeDecoders]).toEqual([1, 1]);
    const r = await p.run({ ...base, aggregateSteps: 1 });
    expect(r.textEncoderRuns).toBe(1);
    expect(r.calls).toEqual([6, 1, 1]);
    await p.release();
    const q = await prepareSdPipeline({ models: [{ folder: A }, { folder: B }], decodeAll: true });
    expect([q.textEncoders, q.vaeDecoders]).toEqual([2, 2]);
    await q.release();
  });

  it('batch 2 gives two images; the reference preset merges at max(1, optimStart)…optimEnd', async () => {
    const r = await generateSd({
      ...base,
      batch: 2,
      models: [{ folder: A }, { folder: B }],
      preset: 'reference',
      reference: { omegas: [0.5], optimStart: 0, optimEnd: 2, p: [1, 1] },
    });
    expect(r.target.png).toHaveLength(2);
    expect(r.aggregatedAt).toEqual([1, 2]);
    expect(r.calls).toEqual([6, 3]);
    expect(r.trace).toBeNull();
  });

  it('mismatched latent shapes fail before any model runs, naming both models', async () => {
    const big = await bigLatentFolder();
    await expect(prepareSdPipeline({ models: [{ folder: A }, { folder: big, name: 'big' }] })).rejects.toThrow(
      /^models\[1\] \(big\) has latent \[4, 16, 16\] \(float32 \[batch, 4, 16, 16\]\) but the target models\[0\] \(.*\) has \[4, 8, 8\]; AMDM needs one latent shape across models$/,
    );
  });

  it('different noise schedules fail, naming the field', async () => {
    const dir = await tmp.path('sched');
    await cp(A, dir, { recursive: true });
    const p = join(dir, 'scheduler/scheduler_config.json');
    const cfg = JSON.parse(await readFile(p, 'utf8'));
    await writeFile(p, JSON.stringify({ ...cfg, beta_end: 0.02 }));
    await expect(prepareSdPipeline({ models: [{ folder: A }, { folder: dir }] })).rejects.toThrow(
      /^models\[1\] \(.*\) has a different noise schedule than the target \(betaEnd: 0\.02 vs 0\.012\)/,
    );
  });

  it('bad folders name the model: missing file, wrong input names', async () => {
    const dir = await tmp.path('novae');
    await cp(A, dir, { recursive: true });
    await rm(join(dir, 'vae_decoder'), { recursive: true });
    await expect(
      prepareSdPipeline({ models: [{ folder: B }, { folder: dir, name: 'x' }], decodeAll: true }),
    ).rejects.toThrow(/^models\[1\] \(x\): model folder .* is missing vae_decoder\/model\.onnx$/);
    // Without decodeAll the non-target VAE is not needed.
    const ok = await prepareSdPipeline({ models: [{ folder: B }, { folder: dir }] });
    expect(ok.vaeDecoders).toBe(1);
    await ok.release();
    const renamed = await tmp.sdTiny({ unetInputNames: { sample: 'latents' } });
    await expect(prepareSdPipeline({ models: [{ folder: renamed }] })).rejects.toThrow(
      /^models\[0\]: unet\/model\.onnx has inputs .*\(missing: sample\) \(unknown: latents\)/,
    );
  });

  it("device 'cuda' without the provider fails at load", async () => {
    const r = await prepareSdPipeline({ models: [{ folder: A }], session: { device: 'cuda' } }).then(
      async (p) => {
        await p.release();
        return null;
      },
      (e: Error) => e,
    );
    if (r === null) return; // a machine with the CUDA provider
    expect(r.message).toMatch(
      /^models\[0\]: device 'cuda' was requested but the CUDA execution provider could not be used/,
    );
  });

  it('validate() reports bad run options through the sampler checks without running a model', async () => {
    const p = await prepareSdPipeline({ models: [{ folder: A }, { folder: B }] });
    await expect(p.validate({ ...base, aggregateSteps: 7 })).rejects.toThrow(
      'aggregateSteps must be an integer in [0, 6], got 7',
    );
    await expect(p.validate({ ...base, weights: [0.5, 0.5] })).rejects.toThrow(
      'weights must hold 1 number(s) (one per non-target model), got 2',
    );
    await expect(
      p.validate({ ...base, preset: 'reference', reference: { omegas: [0.5], optimStart: 1, optimEnd: 9, p: [1, 1] } }),
    ).rejects.toThrow('optimEnd must be an integer in [1, 5], got 9');
    await expect(p.validate({ ...base, guidance: -1 })).rejects.toThrow('guidance must be in [0, Infinity], got -1');
    await p.validate(base);
    await p.release();
  });

  it('a custom sampler runs over the same denoisers instead of AMDM; bad samplers are refused by name', async () => {
    const one = await generateSd({ ...base, models: [{ folder: A }] });
    const seen: { models: number; target: number; shape: readonly number[]; steps: number; batch: number }[] = [];
    // DDIM on the target through the hook equals the pipeline's own single-model DDIM
    const ddimOnTarget: SdSampler = async (c) => {
      seen.push({ models: c.models.length, target: c.target, shape: c.shape, steps: c.steps, batch: c.batch });
      const r = await sampleDDIM(c.models[c.target], {
        steps: c.steps,
        shape: [...c.shape],
        seed: c.seed,
        schedule: c.schedule,
      });
      return {
        latents: r.latents,
        calls: c.models.map((_, k) => (k === c.target ? r.calls[0] : 0)),
        timesteps: r.timesteps,
      };
    };
    const viaHook = await generateSd({ ...base, models: [{ folder: A }, { folder: B }], sampler: ddimOnTarget });
    expect(viaHook.target.latents).toEqual(one.target.latents);
    expect(viaHook.calls).toEqual([6, 0]);
    expect(viaHook.trace).toBeNull();
    expect(seen).toEqual([{ models: 2, target: 0, shape: [4, 8, 8], steps: 6, batch: 1 }]);

    const p = await prepareSdPipeline({ models: [{ folder: A }, { folder: B }] });
    await expect(p.validate({ ...base, sampler: 'ddim' as never })).rejects.toThrow(
      'sampler must be a function, got "ddim"',
    );
    await expect(
      p.validate({
        ...base,
        sampler: ddimOnTarget,
        preset: 'reference',
        reference: { omegas: [0.5], optimStart: 1, optimEnd: 3, p: [1, 1] },
      }),
    ).rejects.toThrow("sampler needs preset 'paper' (the default), got 'reference'");
    const short: SdSampler = async (c) => ({ latents: new Float32Array(3), calls: [0, 0], timesteps: [] });
    await expect(p.run({ ...base, sampler: short })).rejects.toThrow(
      'sampler must return latents: a Float32Array of batch·C·H·W = 256 values',
    );
    await p.release();
    const all = await prepareSdPipeline({ models: [{ folder: A }, { folder: B }], decodeAll: true });
    await expect(all.validate({ ...base, sampler: ddimOnTarget })).rejects.toThrow(
      'sampler cannot be combined with decodeAll',
    );
    await all.release();
  });

  it('a registered family plugs in: conditions are validated with pointed paths and reach the denoiser', async () => {
    const seen: unknown[] = [];
    const schema = z.strictObject({ scale: z.number().positive() });
    const family: ModelFamily<z.infer<typeof schema>> = {
      kind: 'test-scaled',
      description: 'sd with ε scaled (test)',
      conditionSchema: schema,
      async createDenoiser(ctx, prompt, c) {
        seen.push(c);
        const { cond, uncond } = await encodePromptPair(ctx, prompt);
        const d = createUnetDenoiser({ unet: ctx.folder.unet, cond, uncond, guidance: ctx.guidance });
        const out = new Float32Array(ctx.batch * 256);
        return {
          name: ctx.name,
          async eps(x, t, b) {
            const e = await d.eps(x, t, b);
            for (let i = 0; i < e.length; i++) out[i] = c.scale * e[i];
            return out;
          },
        };
      },
    };
    registerFamily(family, { replace: true });
    await expect(
      generateSd({ ...base, models: [{ folder: A }, { folder: B, kind: 'test-scaled', conditions: { scale: -1 } }] }),
    ).rejects.toThrow('models[1].conditions.scale: Too small: expected number to be >0');
    const r = await generateSd({
      ...base,
      steps: 3,
      models: [{ folder: A, kind: 'test-scaled', conditions: { scale: 1 } }],
    });
    const s = await generateSd({ ...base, steps: 3, models: [{ folder: A }] });
    expect(seen).toEqual([{ scale: 1 }]);
    expect(r.target.latents).toEqual(s.target.latents);
  });
});
