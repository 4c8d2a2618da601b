/**
 * The fixture's graphs in onnxruntime: every variant loads and runs with the declared dtypes,
 * and every input changes the output (so a dropped or mis-ordered input is caught).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SD_TINY_VARIANTS } from '../../fixtures/sd-tiny.ts';
import { loadModelFolder, type ModelFolder } from '../../src/onnx/model-folder.ts';
import { encodeTokenIds, decodeLatents } from '../../src/onnx/components.ts';
import { makeTensor, outputFloat32, type OnnxTensor } from '../../src/onnx/session.ts';
import { tmpFolders } from './tmp-folders.ts';

const tmp = tmpFolders();
const EOS = 553;
const BOS = 552;
const folders = new Map<string, ModelFolder>();

beforeAll(async () => {
  for (const [name, opts] of Object.entries(SD_TINY_VARIANTS)) {
    folders.set(name, await loadModelFolder(await tmp.sdTiny(opts), { intraOpNumThreads: 1 }));
  }
});
afterAll(async () => {
  for (const f of folders.values()) await f.release();
  await tmp.cleanup();
});

const prompt = (...ids: number[]) => {
  const row = new Array<number>(77).fill(EOS);
  row[0] = BOS;
  ids.forEach((id, i) => (row[i + 1] = id));
  row[ids.length + 1] = EOS;
  return row;
};
const seqOf = (seed: number, n: number) =>
  Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 12.9898 + i * 78.233));
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

/** One raw unet run with feeds cast per declared dtype; timestep per the variant's convention. */
async function unetRun(
  f: ModelFolder,
  x: Float32Array,
  t: number,
  ehs: Float32Array,
  batch: number,
  extra: Record<string, OnnxTensor> = {},
) {
  const u = f.unet;
  const tShape = u.timestep.shape;
  const tCount = tShape.length === 0 ? 1 : tShape[0] === 'batch' ? batch : 1;
  const r = await u.session.run({
    [u.latent.name]: makeTensor(u.latent, x, [batch, 4, 8, 8]),
    [u.timestep.name]: makeTensor(u.timestep, new Array(tCount).fill(t), tShape.length === 0 ? [] : [tCount]),
    [u.text.name]: makeTensor(u.text, ehs, [batch, 77, 32]),
    ...extra,
  });
  return outputFloat32(r, u.output.name);
}

describe('each variant loads and runs with its declared dtypes', () => {
  const expected: Record<string, { ids: string; timestep: string; tshape: (string | number)[]; float: string }> = {
    optimum: { ids: 'int64', timestep: 'float32', tshape: [], float: 'float32' },
    'optimum-legacy': { ids: 'int64', timestep: 'int64', tshape: ['steps'], float: 'float32' },
    'diffusers-legacy': { ids: 'int32', timestep: 'float32', tshape: ['batch'], float: 'float32' },
    fp16: { ids: 'int64', timestep: 'float16', tshape: [], float: 'float16' },
    boxes: { ids: 'int64', timestep: 'float32', tshape: [], float: 'float32' },
  };
  for (const [name, e] of Object.entries(expected)) {
    it(name, async () => {
      const f = folders.get(name)!;
      expect(f.textEncoder!.ids.type).toBe(e.ids);
      expect(f.unet.timestep).toMatchObject({ name: 'timestep', type: e.timestep, shape: e.tshape });
      expect(f.unet.latent).toMatchObject({ name: 'sample', type: e.float, shape: ['batch', 4, 8, 8] });
      expect(f.unet.output).toMatchObject({ name: 'out_sample', type: e.float });
      expect(f.textEncoder!.lastHiddenState.type).toBe(e.float);
      expect(f.vaeDecoder!.image).toMatchObject({ name: 'sample', type: e.float, shape: ['batch', 3, 64, 64] });
      expect([
        f.unet.latentChannels,
        f.unet.latentHeight,
        f.unet.latentWidth,
        f.unet.textWidth,
        f.unet.textLength,
      ]).toEqual([4, 8, 8, 32, null]);

      const enc = await encodeTokenIds(f.textEncoder!, [...prompt(64, 65), ...prompt(513)], 2);
      expect(enc.hidden.length).toBe(2 * 77 * 32);
      expect(enc.pooled!.length).toBe(2 * 32);
      const extra: Record<string, OnnxTensor> =
        name === 'boxes'
          ? {
              boxes: makeTensor(f.unet.roles.get('boxes')!, seqOf(5, 32), [2, 4, 4]),
              box_scale: makeTensor(f.unet.roles.get('scale')!, [1], []),
            }
          : {};
      const eps = await unetRun(f, seqOf(1, 512), 981, enc.hidden, 2, extra);
      expect(eps.length).toBe(512);
      const img = await decodeLatents(f.vaeDecoder!, seqOf(2, 512), 2);
      expect(img.dims).toEqual([2, 3, 64, 64]);
      expect(img.image.every((v) => v > -1 && v < 1)).toBe(true);
    });
  }

  it('gives the same results under every timestep / ids convention (same weights), fp16 close', async () => {
    const ids = prompt(64, 513, 70);
    const x = seqOf(3, 256);
    const ref = await encodeTokenIds(folders.get('optimum')!.textEncoder!, ids, 1);
    const refEps = await unetRun(folders.get('optimum')!, x, 401, ref.hidden, 1);
    for (const name of ['optimum-legacy', 'diffusers-legacy']) {
      const f = folders.get(name)!;
      const enc = await encodeTokenIds(f.textEncoder!, ids, 1);
      expect(maxDiff(enc.hidden, ref.hidden)).toBe(0);
      expect(maxDiff(await unetRun(f, x, 401, enc.hidden, 1), refEps)).toBeLessThan(1e-6);
    }
    const f16 = folders.get('fp16')!;
    const enc16 = await encodeTokenIds(f16.textEncoder!, ids, 1);
    expect(maxDiff(enc16.hidden, ref.hidden)).toBeLessThan(5e-3);
    expect(maxDiff(await unetRun(f16, x, 401, enc16.hidden, 1), refEps)).toBeLessThan(2e-2);
  });
});

describe('every input affects the output', () => {
  it('text encoder: each token position changes last_hidden_state; pooler_output = hidden at the argmax id', async () => {
    const te = folders.get('optimum')!.textEncoder!;
    const base = prompt(64, 65, 66, 67);
    const ref = await encodeTokenIds(te, base, 1);
    // CLIP pooling: the first EOS (the argmax id) is at position 5.
    expect([...ref.pooled!]).toEqual([...ref.hidden.subarray(5 * 32, 6 * 32)]);
    // Change one position at a time (all 77 in one batch): each row differs from the reference.
    const batch: number[] = [];
    for (let p = 0; p < 77; p++) {
      const row = [...base];
      row[p] = row[p] === 100 ? 101 : 100;
      batch.push(...row);
    }
    const all = await encodeTokenIds(te, batch, 77);
    const unchanged: number[] = [];
    for (let p = 0; p < 77; p++) {
      if (maxDiff(all.hidden.subarray(p * 77 * 32, (p + 1) * 77 * 32), ref.hidden) < 1e-4) unchanged.push(p);
    }
    expect(unchanged).toEqual([]);
  });

  it('text encoder: the same ids at swapped positions give a different encoding (position-aware)', async () => {
    const te = folders.get('optimum')!.textEncoder!;
    const a = await encodeTokenIds(te, prompt(64, 65), 1);
    const b = await encodeTokenIds(te, prompt(65, 64), 1);
    expect(maxDiff(a.hidden, b.hidden)).toBeGreaterThan(1e-3);
  });

  it('unet: each position of encoder_hidden_states, the timestep and each latent element change out_sample', async () => {
    const f = folders.get('optimum')!;
    const x = seqOf(4, 256);
    const ehs = seqOf(5, 77 * 32);
    const ref = await unetRun(f, x, 500, ehs, 1);
    // 77 copies, copy p has position p of encoder_hidden_states shifted by 0.5.
    const xs = new Float32Array(77 * 256);
    const e77 = new Float32Array(77 * 77 * 32);
    for (let p = 0; p < 77; p++) {
      xs.set(x, p * 256);
      e77.set(ehs, p * 77 * 32);
      for (let k = 0; k < 32; k++) e77[p * 77 * 32 + p * 32 + k] += 0.5;
    }
    const out = await unetRun(f, xs, 500, e77, 77);
    const dead: number[] = [];
    for (let p = 0; p < 77; p++) if (maxDiff(out.subarray(p * 256, (p + 1) * 256), ref) < 1e-5) dead.push(p);
    expect(dead).toEqual([]);
    for (const t of [499, 501, 0, 999]) expect(maxDiff(await unetRun(f, x, t, ehs, 1), ref)).toBeGreaterThan(1e-4);
    // Each latent element changes the output.
    const xb = new Float32Array(256 * 256);
    const eb = new Float32Array(256 * 77 * 32);
    for (let i = 0; i < 256; i++) {
      xb.set(x, i * 256);
      xb[i * 256 + i] += 1;
      eb.set(ehs, i * 77 * 32);
    }
    const outX = await unetRun(f, xb, 500, eb, 256);
    const deadX: number[] = [];
    for (let i = 0; i < 256; i++) if (maxDiff(outX.subarray(i * 256, (i + 1) * 256), ref) < 1e-5) deadX.push(i);
    expect(deadX).toEqual([]);
  });

  it('unet (float32-batch timestep): each row uses its own timestep', async () => {
    const f = folders.get('diffusers-legacy')!;
    const u = f.unet;
    const x = seqOf(6, 256);
    const ehs = seqOf(7, 77 * 32);
    const run = (ts: number[]) =>
      u.session
        .run({
          sample: makeTensor(u.latent, [...x, ...x], [2, 4, 8, 8]),
          timestep: makeTensor(u.timestep, ts, [2]),
          encoder_hidden_states: makeTensor(u.text, [...ehs, ...ehs], [2, 77, 32]),
        })
        .then((r) => outputFloat32(r, 'out_sample'));
    const same = await run([300, 300]);
    const mixed = await run([300, 700]);
    expect(maxDiff(same.subarray(0, 256), mixed.subarray(0, 256))).toBe(0);
    expect(maxDiff(same.subarray(256), mixed.subarray(256))).toBeGreaterThan(1e-4);
  });

  it('unet (boxes): the boxes and their scale change out_sample', async () => {
    const f = folders.get('boxes')!;
    const u = f.unet;
    const x = seqOf(8, 256);
    const ehs = seqOf(9, 77 * 32);
    const run = (boxes: Float32Array, scale: number) =>
      unetRun(f, x, 500, ehs, 1, {
        boxes: makeTensor(u.roles.get('boxes')!, boxes, [1, 4, 4]),
        box_scale: makeTensor(u.roles.get('scale')!, [scale], []),
      });
    const boxes = seqOf(10, 16);
    const ref = await run(boxes, 1);
    for (let i = 0; i < 16; i++) {
      const b = boxes.slice();
      b[i] += 0.25;
      expect(maxDiff(await run(b, 1), ref)).toBeGreaterThan(1e-5);
    }
    expect(maxDiff(await run(boxes, 0.5), ref)).toBeGreaterThan(1e-4);
  });

  it('vae decoder: each latent element changes its 8×8 block of the image (nearest ×8 upsampling)', async () => {
    const vae = folders.get('optimum')!.vaeDecoder!;
    const z = seqOf(11, 256);
    const ref = (await decodeLatents(vae, z, 1)).image;
    const zb = new Float32Array(256 * 256);
    for (let i = 0; i < 256; i++) {
      zb.set(z, i * 256);
      zb[i * 256 + i] += 0.5;
    }
    const all = (await decodeLatents(vae, zb, 256)).image;
    const per = 3 * 64 * 64;
    const dead: number[] = [];
    for (let i = 0; i < 256; i++) {
      const img = all.subarray(i * per, (i + 1) * per);
      const y = Math.floor((i % 64) / 8);
      const xcol = i % 8;
      // pixel (8y+3, 8x+5) of channel 0 lies in the latent cell's block
      const pix = (8 * y + 3) * 64 + 8 * xcol + 5;
      if (Math.abs(img[pix] - ref[pix]) < 1e-6) dead.push(i);
    }
    expect(dead).toEqual([]);
  });
});
