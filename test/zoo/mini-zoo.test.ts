/**
 * The committed mini-zoo folders (models/mini-zoo/, trained by train/): they load, their graphs
 * meet the family contracts of docs/models.md, they share one text encoder and one VAE, and an
 * AMDM generation over the three adapters runs through the pipeline.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadModelFolder, type ModelFolder } from '../../src/onnx/model-folder.ts';
import { openSession } from '../../src/onnx/session.ts';
import { generateSd, type SdModelSpec } from '../../src/sd/pipeline.ts';
import { loadClipTokenizer } from '../../src/sd/clip-tokenizer-files.ts';
import { checkInteractFolder, INTERACT_MAX_OBJS } from '../../src/sd/families/interactdiffusion.ts';
import { checkMigcFolder } from '../../src/sd/families/migc.ts';
import { checkIpAdapterFolder, openIpAdapterEncoders } from '../../src/sd/families/ipadapter.ts';
import { projectRoot } from '../helpers/data.ts';
import '../../src/sd/families/index.ts';

const ZOO = join(projectRoot, 'models', 'mini-zoo');
const NAMES = ['base', 'interactdiffusion-mini', 'migc-mini', 'ipadapter-mini'] as const;
const dir = (name: string) => join(ZOO, name);
const WIDTH = 64;

function filesUnder(root: string): string[] {
  return readdirSync(root).flatMap((n) => {
    const p = join(root, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

const folders: Record<string, ModelFolder> = {};
beforeAll(async () => {
  for (const n of NAMES) folders[n] = await loadModelFolder(dir(n));
});
afterAll(async () => {
  await Promise.all(Object.values(folders).map((f) => f.release()));
});

describe('mini-zoo folders', () => {
  it('every folder has the SD 1.x schedule, a 4×8×8 latent and text width 64', () => {
    for (const n of NAMES) {
      const f = folders[n];
      expect(f.schedule).toMatchObject({
        betaSchedule: 'scaled_linear',
        betaStart: 0.00085,
        betaEnd: 0.012,
        numTrainTimesteps: 1000,
      });
      expect([f.unet.latentChannels, f.unet.latentHeight, f.unet.latentWidth]).toEqual([4, 8, 8]);
      expect(f.unet.textWidth).toBe(WIDTH);
      expect(f.unet.textLength).toBe(n === 'ipadapter-mini' ? 81 : 77);
      expect(f.textEncoder!.pooled).not.toBeNull();
      expect(f.vaeDecoder!.latentChannels).toBe(4);
    }
  });

  it('the families accept their folders and the declared roles are the contract', () => {
    expect(folders.base.manifest?.family).toBe('sd');
    expect([...checkInteractFolder(folders['interactdiffusion-mini'])].sort()).toEqual([
      'action_embeddings',
      'masks',
      'object_boxes',
      'object_embeddings',
      'subject_boxes',
      'subject_embeddings',
    ]);
    const ib = folders['interactdiffusion-mini'].unet.roles.get('subject_boxes')!;
    expect(ib.shape.slice(1)).toEqual([INTERACT_MAX_OBJS, 4]);
    const m = checkMigcFolder(folders['migc-mini'], 3);
    expect(m.layout).toBe('two-graphs');
    expect([...m.roles].sort()).toEqual([
      'guidance_mask',
      'instance_boxes',
      'instance_embeddings',
      'instance_pooler',
      'supplement_mask',
    ]);
    expect([...checkIpAdapterFolder(folders['ipadapter-mini'])]).toEqual(['scale']);
  });

  it('all folders share one text encoder, one VAE decoder and the pruned tokenizer', () => {
    const bytes = (n: string, f: string) => readFileSync(join(dir(n), f));
    for (const f of ['text_encoder/model.onnx', 'vae_decoder/model.onnx', 'scheduler/scheduler_config.json']) {
      for (const n of NAMES.slice(1)) expect(bytes(n, f).equals(bytes('base', f)), `${n}/${f}`).toBe(true);
    }
    for (const f of ['vocab.json', 'merges.txt', 'special_tokens_map.json', 'tokenizer_config.json']) {
      const shipped = readFileSync(join(ZOO, 'tokenizer', f));
      for (const n of NAMES) expect(bytes(n, `tokenizer/${f}`).equals(shipped), `${n}/tokenizer/${f}`).toBe(true);
    }
  });

  it('each ONNX file is at most 4 MB and the zoo at most 16 MB', () => {
    const all = filesUnder(ZOO);
    for (const f of all.filter((p) => p.endsWith('.onnx')))
      expect(statSync(f).size, f).toBeLessThanOrEqual(4 * 2 ** 20);
    expect(all.reduce((s, f) => s + statSync(f).size, 0)).toBeLessThanOrEqual(16 * 2 ** 20);
  });

  it('the text encoder pools at the first EOS: padding to the longest gives the 77-token pooler', async () => {
    const tok = await loadClipTokenizer(join(ZOO, 'tokenizer'));
    const te = folders.base.textEncoder!;
    const texts = ['red circle', 'a blue square linked to a green triangle'];
    const run = async (ids: number[][]) => {
      const flat = BigInt64Array.from(ids.flat().map(BigInt));
      const r = await te.session.run({ input_ids: new ort.Tensor('int64', flat, [ids.length, ids[0].length]) });
      return { pooled: r.pooler_output.data as Float32Array, hidden: r.last_hidden_state.data as Float32Array };
    };
    const longest = tok.encodeBatch(texts, { padding: 'longest' }).ids;
    const full = texts.map((t) => tok.encode(t, { padding: 'max_length', truncation: true, maxLength: 77 }));
    expect(longest[0].length).toBeLessThan(77);
    const a = await run(longest);
    const b = await run(full);
    for (let i = 0; i < a.pooled.length; i++) expect(a.pooled[i]).toBeCloseTo(b.pooled[i], 5);
    expect(a.pooled.every(Number.isFinite)).toBe(true);
  });

  it("MIGC-mini's plain graph is the base UNet (the adapters are trained on a frozen base)", async () => {
    const plain = await openSession(join(dir('migc-mini'), 'plain/model.onnx'));
    const base = folders.base.unet.session;
    const x = Float32Array.from({ length: 2 * 256 }, (_, i) => Math.sin(i * 0.37));
    const text = Float32Array.from({ length: 2 * 77 * WIDTH }, (_, i) => Math.cos(i * 0.11));
    const feeds = {
      sample: new ort.Tensor('float32', x, [2, 4, 8, 8]),
      timestep: new ort.Tensor('float32', Float32Array.of(500), []),
      encoder_hidden_states: new ort.Tensor('float32', text, [2, 77, WIDTH]),
    };
    const a = (await plain.run(feeds)).out_sample.data as Float32Array;
    const b = (await base.run(feeds)).out_sample.data as Float32Array;
    expect(Array.from(a)).toEqual(Array.from(b));
    await plain.release();
  });

  it('the IP image encoder takes 32×32 pixel values and the projection gives 4 tokens of width 64', async () => {
    const enc = await openIpAdapterEncoders(dir('ipadapter-mini'));
    try {
      expect(enc.imageSize).toBe(32);
      expect(enc.proj.input('image_embeds').shape[1]).toBe(enc.encoder.output('image_embeds').shape[1]);
    } finally {
      await enc.release();
    }
  });
});

describe('mini-zoo generation', () => {
  it('AMDM over InteractDiffusion-mini ← MIGC-mini, IP-Adapter-mini in 3 steps gives finite 32×32 images', async () => {
    const boxes: [number, number, number, number][] = [
      [0.1, 0.1, 0.45, 0.45],
      [0.55, 0.5, 0.9, 0.85],
    ];
    const models: SdModelSpec[] = [
      {
        folder: dir('interactdiffusion-mini'),
        kind: 'interactdiffusion',
        conditions: {
          subjects: ['circle'],
          actions: ['linked to'],
          objects: ['square'],
          subjectBoxes: [boxes[0]],
          objectBoxes: [boxes[1]],
        },
      },
      {
        folder: dir('migc-mini'),
        kind: 'migc',
        conditions: { phrases: ['red circle', 'blue square'], boxes, migcSteps: 1 },
      },
      {
        folder: dir('ipadapter-mini'),
        kind: 'ipadapter',
        conditions: { image: join(dir('ipadapter-mini'), 'style.png'), scale: 1 },
      },
    ];
    const r = await generateSd({
      models,
      prompt: 'a red circle linked to a blue square',
      steps: 3,
      aggregateSteps: 2,
      weights: [0.5, 0.65],
      seed: 3,
    });
    expect(r.calls).toEqual([3, 2, 2]);
    expect(r.target.latents.every(Number.isFinite)).toBe(true);
    const img = r.target.images[0];
    expect([img.width, img.height]).toEqual([32, 32]);
    // not one flat colour: the decoder draws something
    const px = new Set<number>();
    for (let i = 0; i < img.data.length; i += 4) px.add((img.data[i] << 16) | (img.data[i + 1] << 8) | img.data[i + 2]);
    expect(px.size).toBeGreaterThan(1);
  }, 120_000);
});
