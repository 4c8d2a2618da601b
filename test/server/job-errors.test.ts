/**
 * Errors of a job against its model folders: each names paths relative to the model root (never
 * the server's own folders), carries the field to blame, and comes before any model loads where
 * no model is needed to tell. Links inside a model folder may not lead out of the roots.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFamilyFolder } from '../../fixtures/families.ts';
import { writeSdTinyFolder } from '../../fixtures/sd-tiny.ts';
import { precheckJob } from '../../src/jobs/job-precheck.ts';
import { encodeModel } from '../../src/onnx/proto.ts';
import { parseJob } from '../../src/jobs/job-schema.ts';
import { createHandler, type AmdmHandler } from '../../src/server/handler.ts';

let root: string;
let root2: string;
let outside: string;
let h: AmdmHandler;
const MIGC = { phrases: ['a'], boxes: [[0, 0, 1, 1]] };

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'amdm-job-errors-'));
  root2 = mkdtempSync(join(tmpdir(), 'amdm-job-errors-2-'));
  outside = mkdtempSync(join(tmpdir(), 'amdm-job-errors-outside-'));
  await writeSdTinyFolder(join(root, 'a'), { seed: 1 });
  await writeFamilyFolder(join(root, 'migc'), 'migc');
  await writeFamilyFolder(join(root, 'ip'), 'ipadapter');
  await writeFamilyFolder(join(root, 'unknown-family'), 'migc', { manifestFamily: 'gligen' });
  cpSync(join(root, 'a'), join(root, 'trunc'), { recursive: true });
  const unet = join(root, 'trunc', 'unet', 'model.onnx');
  truncateSync(unet, Math.floor(statSync(unet).size / 2));
  // a decoder of another export (latents 16×16) beside sd-tiny's UNet (8×8)
  cpSync(join(root, 'a'), join(root, 'mixed'), { recursive: true });
  const decoder = encodeModel({
    graph: {
      name: 'decoder-16',
      nodes: [{ opType: 'Identity', inputs: ['latent_sample'], outputs: ['sample'] }],
      initializers: [],
      inputs: [{ name: 'latent_sample', dtype: 'float32', shape: ['batch', 4, 16, 16] }],
      outputs: [{ name: 'sample', dtype: 'float32', shape: ['batch', 4, 16, 16] }],
    },
  });
  writeFileSync(join(root, 'mixed', 'vae_decoder', 'model.onnx'), decoder);
  writeFileSync(join(root, 'style.png'), 'GIF89a, not a PNG');
  // in a second root: a tokenizer that is a link to a folder outside the roots
  cpSync(join(root, 'a'), join(root2, 'linked'), { recursive: true });
  cpSync(join(root, 'a', 'tokenizer'), join(outside, 'tokenizer'), { recursive: true });
  rmSync(join(root2, 'linked', 'tokenizer'), { recursive: true });
  symlinkSync(join(outside, 'tokenizer'), join(root2, 'linked', 'tokenizer'));
  // a UNet whose weights name an external-data file outside its own folder
  cpSync(join(root, 'a'), join(root, 'ext'), { recursive: true });
  writeFileSync(join(root, 'weights.bin'), new Uint8Array(16));
  writeFileSync(
    join(root, 'ext', 'unet', 'model.onnx'),
    encodeModel({
      graph: {
        name: 'external-out',
        nodes: [{ opType: 'Add', inputs: ['x', 'w'], outputs: ['y'] }],
        initializers: [
          {
            name: 'w',
            dtype: 'float32',
            dims: [4],
            external: { location: '../../weights.bin', offset: 0, length: 16 },
          },
        ],
        inputs: [{ name: 'x', dtype: 'float32', shape: [4] }],
        outputs: [{ name: 'y', dtype: 'float32', shape: [4] }],
      },
    }),
  );
  mkdirSync(join(root, 'playground'));
  h = createHandler({ modelRoots: [root, root2], playground: join(root, 'playground') });
});
afterAll(async () => {
  await h?.close();
  rmSync(root, { recursive: true, force: true });
  rmSync(root2, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

async function generate(job: Record<string, unknown>) {
  const r = await h(
    new Request('http://localhost/v1/generate?format=json', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'a red square', steps: 2, backend: 'node', ...job }),
    }),
  );
  const text = await r.text();
  for (const r of [root, root2]) expect(text).not.toContain(r); // no server path, in any answer
  expect(text).not.toContain(tmpdir());
  return { status: r.status, ...(JSON.parse(text) as { error: string; field?: string }) };
}

describe('job errors name paths relative to the model root and carry the field', () => {
  it('a folder without model_index.json (the root itself), a truncated ONNX file', async () => {
    expect(await generate({ models: [{ folder: '.' }] })).toEqual({
      status: 400,
      error: 'models[0].folder: model folder . is missing model_index.json',
      field: 'models[0].folder',
    });
    expect(await generate({ models: [{ folder: 'trunc' }] })).toEqual({
      status: 400,
      error:
        'models[0]: could not load ONNX model trunc/unet/model.onnx: it holds no ONNX graph (the file is empty, truncated or not an ONNX model; export it again)',
      field: 'models[0].folder',
    });
  });

  it('a kind the folder was not exported for, either way, and an unknown family', async () => {
    expect(await generate({ models: [{ folder: 'a', kind: 'migc', conditions: MIGC }] })).toMatchObject({
      status: 400,
      error: expect.stringMatching(
        /^models\[0\]: model kind 'migc' needs a folder whose amdm\.json .* but a has no amdm\.json/,
      ),
      field: 'models[0].kind',
    });
    expect(await generate({ models: [{ folder: 'migc' }] })).toEqual({
      status: 400,
      error: `models[0].kind: the folder migc declares "family": "migc" in amdm.json, but the job runs it as kind 'sd'; set "kind": "migc"`,
      field: 'models[0].kind',
    });
    expect(await generate({ models: [{ folder: 'unknown-family' }] })).toMatchObject({
      status: 400,
      error: expect.stringMatching(
        /^models\[0\]\.kind: the folder unknown-family declares "family": "gligen" in amdm\.json, but the job runs it as kind 'sd'; that family is not one of the registered kinds \(.*migc.*\)$/,
      ),
      field: 'models[0].kind',
    });
  });

  it('a UNet and decoder of different latent sizes fail at load, naming both graphs', async () => {
    expect(await generate({ models: [{ folder: 'mixed' }] })).toMatchObject({
      status: 400,
      error: expect.stringMatching(
        /^models\[0\]: vae_decoder\/model\.onnx takes latents .* but unet\/model\.onnx makes .*float32 \[batch, 4, 8, 8\]; the UNet and the decoder must come from one export$/,
      ),
      field: 'models[0].folder',
    });
    expect(await generate({ height: 72, width: 64, models: [{ folder: 'a' }] })).toMatchObject({
      status: 400,
      error: expect.stringMatching(/^latent size \[9, 8\] differs from .* of unet\/model\.onnx in a$/),
      field: 'height',
    });
  });

  it('a style image that is not a PNG, and MIGC with batch 4, fail before loading', async () => {
    const failedBefore = h.stats().failed;
    expect(
      await generate({ models: [{ folder: 'ip', kind: 'ipadapter', conditions: { image: 'style.png' } }] }),
    ).toEqual({
      status: 400,
      error:
        'models[0].conditions.image: the style image "style.png" is not a PNG file (it does not start with the PNG signature)',
      field: 'models[0].conditions.image',
    });
    expect(await generate({ batch: 4, models: [{ folder: 'migc', kind: 'migc', conditions: MIGC }] })).toEqual({
      status: 400,
      error: "batch: kind 'migc' (models[0]) supports batch 1 only (MIGC's processor uses rows 0 and 1), got batch 4",
      field: 'batch',
    });
    expect(h.stats().failed).toBe(failedBefore); // refused before taking a slot
  });

  it('the same checks run for amdm generate (before any model loads)', async () => {
    const job = parseJob({ prompt: 'x', models: [{ folder: join(root, 'migc') }], steps: 2 });
    await expect(precheckJob(job, () => 'migc')).rejects.toThrow(
      `models[0].kind: the folder migc declares "family": "migc" in amdm.json`,
    );
  });

  it('an ONNX file whose external data lies outside its folder is refused (by onnxruntime)', async () => {
    expect(await generate({ models: [{ folder: 'ext' }] })).toMatchObject({
      status: 400,
      error: expect.stringMatching(
        /^models\[0\]: .*ext\/unet\/model\.onnx.*External data path escapes model directory/s,
      ),
      field: 'models[0].folder',
    });
  });

  it('a link inside a model folder that leads outside the roots is refused', async () => {
    expect(await generate({ models: [{ folder: 'linked' }] })).toEqual({
      status: 400,
      error: 'models[0].folder: "linked" holds "tokenizer", a link that leads outside the model roots',
      field: 'models[0].folder',
    });
  });

  it('target 2.5 and demo w 2 name the rule; the playground 404 names no server folder', async () => {
    expect(await generate({ target: 2.5, models: [{ folder: 'a' }] })).toEqual({
      status: 400,
      error: "job: target: must be a model index (an integer ≥ 0) or a model's name, got 2.5",
      field: 'target',
    });
    const demo = await h(
      new Request('http://localhost/v1/demo', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ w: 2 }),
      }),
    );
    expect(demo.status).toBe(400);
    expect(await demo.json()).toEqual({
      error: 'demo: w: must be a weight in [0, 1] or an array of 1 or 2 of them, got 2',
      field: 'w',
    });
    const page = await h(new Request('http://localhost/playground/'));
    expect(page.status).toBe(404);
    expect(await page.text()).not.toContain(root);
  });
});
