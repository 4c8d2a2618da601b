import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelFolder, type ModelFolder } from '../../src/onnx/model-folder.ts';
import { createUnetDenoiser } from '../../src/onnx/unet-denoiser.ts';
import { makeTensor, outputFloat32, type OnnxTensor } from '../../src/onnx/session.ts';
import { tmpFolders } from './tmp-folders.ts';

const tmp = tmpFolders();
const folders: Record<string, ModelFolder> = {};
const load = async (name: string, opts: Parameters<typeof tmp.sdTiny>[0]) => {
  folders[name] = await loadModelFolder(await tmp.sdTiny(opts), { components: ['unet'], intraOpNumThreads: 1 });
};
beforeAll(async () => {
  await load('optimum', { externalData: 'model.onnx_data' });
  await load('steps', { timestep: 'int64-steps' });
  await load('batch', { timestep: 'float32-batch', ids: 'int32', externalData: 'weights.pb' });
  await load('fp16', { dtype: 'float16' });
  await load('boxes', { boxes: true });
});
afterAll(async () => {
  for (const f of Object.values(folders)) await f.release();
  await tmp.cleanup();
});

const seq = (seed: number, n: number) =>
  Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 12.9898 + i * 78.233));
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
const TEXT = 77 * 32;
const repeat = (a: Float32Array, n: number) => {
  const out = new Float32Array(a.length * n);
  for (let i = 0; i < n; i++) out.set(a, i * a.length);
  return out;
};

/** One plain run of `batch` rows (timestep as a float32 scalar). */
async function rawRun(
  f: ModelFolder,
  x: Float32Array,
  t: number,
  ehs: Float32Array,
  batch: number,
  extra: Record<string, OnnxTensor> = {},
) {
  const u = f.unet;
  const r = await u.session.run({
    sample: makeTensor(u.latent, x, [batch, 4, 8, 8]),
    timestep: makeTensor(u.timestep, [t], []),
    encoder_hidden_states: makeTensor(u.text, ehs, [batch, 77, 32]),
    ...extra,
  });
  return outputFloat32(r, 'out_sample');
}

describe('createUnetDenoiser', () => {
  const cond = seq(1, TEXT);
  const uncond = seq(2, TEXT);

  it('CFG in one run equals ε_u + g·(ε_c − ε_u) of two separate runs', async () => {
    const f = folders.optimum;
    const B = 3;
    const x = seq(3, B * 256);
    const d = createUnetDenoiser({ unet: f.unet, cond, uncond, guidance: 7.5 });
    const eps = await d.eps(x, 741, B);
    const ec = await rawRun(f, x, 741, repeat(cond, B), B);
    const eu = await rawRun(f, x, 741, repeat(uncond, B), B);
    const manual = ec.map((c, i) => eu[i] + 7.5 * (c - eu[i]));
    expect(eps.length).toBe(B * 256);
    expect(maxDiff(eps, manual)).toBeLessThan(1e-4);
    expect(maxDiff(ec, eu)).toBeGreaterThan(1e-3); // the halves differ, so the check has teeth
  });

  it('guidance 1 equals the conditional prediction (one run of B rows, no uncond needed)', async () => {
    const f = folders.optimum;
    const x = seq(4, 2 * 256);
    const d = createUnetDenoiser({ unet: f.unet, cond, guidance: 1 });
    const eps = await d.eps(x, 301, 2);
    expect(maxDiff(eps, await rawRun(f, x, 301, repeat(cond, 2), 2))).toBe(0);
  });

  it('guidance 0 equals the unconditional prediction', async () => {
    const f = folders.optimum;
    const x = seq(5, 256);
    const d = createUnetDenoiser({ unet: f.unet, cond, uncond, guidance: 0 });
    expect(maxDiff(await d.eps(x, 301, 1), await rawRun(f, x, 301, uncond, 1))).toBeLessThan(1e-6);
  });

  it('takes per-sample text embeddings (rows = batch) in order', async () => {
    const f = folders.optimum;
    const c2 = seq(6, 2 * TEXT);
    const x = seq(7, 2 * 256);
    const d = createUnetDenoiser({ unet: f.unet, cond: c2, guidance: 1 });
    expect(maxDiff(await d.eps(x, 101, 2), await rawRun(f, x, 101, c2, 2))).toBe(0);
  });

  it('reuses its buffers across steps and rebuilds for a new batch size', async () => {
    const d = createUnetDenoiser({ unet: folders.optimum.unet, cond, uncond });
    const a = await d.eps(seq(8, 256), 981, 1);
    const first = a.slice();
    const b = await d.eps(seq(9, 256), 961, 1);
    expect(b).toBe(a);
    expect(maxDiff(first, b)).toBeGreaterThan(1e-4);
    const c = await d.eps(seq(8, 512), 981, 2);
    expect(c.length).toBe(512);
    expect(maxDiff(c.subarray(0, 256), first)).toBe(0);
  });

  it('onnxruntime writes into a preallocated output tensor: no output allocated per run', async () => {
    for (const name of ['optimum', 'fp16'] as const) {
      const unet = folders[name].unet;
      const seen: Record<string, OnnxTensor>[] = [];
      const session = {
        ...unet.session,
        run: (feeds: Record<string, OnnxTensor>, fetches?: Record<string, OnnxTensor>) => {
          seen.push(fetches!);
          return unet.session.run(feeds, fetches);
        },
      };
      const d = createUnetDenoiser({ unet: { ...unet, session }, cond, guidance: 1 });
      const a = await d.eps(seq(8, 256), 981, 1);
      await d.eps(seq(9, 256), 961, 1);
      const out = seen[0][unet.output.name];
      expect(out.type).toBe(name === 'fp16' ? 'float16' : 'float32');
      expect(out.dims).toEqual([1, 4, 8, 8]);
      expect(seen[1][unet.output.name]).toBe(out); // the same tensor every run
      // a float32 output is ε itself, read in place
      if (name === 'optimum') expect(a.buffer).toBe((out.data as Float32Array).buffer);
    }
  });

  it('a non-finite guided ε names the output and index, whichever half it comes from', async () => {
    const unet = folders.optimum.unet;
    const session = {
      ...unet.session,
      run: async (feeds: Record<string, OnnxTensor>, fetches?: Record<string, OnnxTensor>) => {
        const r = await unet.session.run(feeds, fetches);
        (fetches![unet.output.name].data as Float32Array)[256 + 3] = Infinity; // ε_c of element 3
        return r;
      },
    };
    const d = createUnetDenoiser({ unet: { ...unet, session }, cond, uncond });
    await expect(d.eps(seq(8, 256), 981, 1)).rejects.toThrow(
      `output '${unet.output.name}' has a non-finite value Infinity at index 259 (t = 981)`,
    );
  });

  it('feeds every timestep convention and dtype with the same result (same weights)', async () => {
    const x = seq(10, 2 * 256);
    const ref = await createUnetDenoiser({ unet: folders.optimum.unet, cond, uncond }).eps(x, 521, 2);
    for (const name of ['steps', 'batch']) {
      const eps = await createUnetDenoiser({ unet: folders[name].unet, cond, uncond }).eps(x, 521, 2);
      expect([name, maxDiff(eps, ref) < 1e-5]).toEqual([name, true]);
    }
    const f16 = await createUnetDenoiser({ unet: folders.fp16.unet, cond, uncond }).eps(x, 521, 2);
    expect(maxDiff(f16, ref)).toBeLessThan(0.05);
    expect(maxDiff(f16, ref)).toBeGreaterThan(0); // fp16 rounding is visible: the cast really happened
  });

  it('feeds extra roles: batched boxes (uncond rows separate) and a constant scale', async () => {
    const f = folders.boxes;
    const u = f.unet;
    const boxes = seq(11, 16);
    const x = seq(12, 256);
    const d = createUnetDenoiser({
      unet: u,
      cond,
      uncond,
      guidance: 3,
      extras: { boxes: { cond: boxes, uncond: new Float32Array(16) }, scale: { value: 0.8 } },
    });
    const eps = await d.eps(x, 401, 1);
    const scale = makeTensor(u.roles.get('scale')!, [0.8], []);
    const ec = await rawRun(f, x, 401, cond, 1, {
      boxes: makeTensor(u.roles.get('boxes')!, boxes, [1, 4, 4]),
      box_scale: scale,
    });
    const eu = await rawRun(f, x, 401, uncond, 1, {
      boxes: makeTensor(u.roles.get('boxes')!, new Float32Array(16), [1, 4, 4]),
      box_scale: scale,
    });
    expect(
      maxDiff(
        eps,
        ec.map((c, i) => eu[i] + 3 * (c - eu[i])),
      ),
    ).toBeLessThan(1e-4);
  });

  it('rejects bad inputs with messages naming them', async () => {
    const u = folders.optimum.unet;
    const d = createUnetDenoiser({ unet: u, cond, uncond });
    await expect(d.eps(new Float32Array(255), 1, 1)).rejects.toThrow(
      'x must have length batch·4·8·8 = 256 for batch 1, got 255',
    );
    await expect(d.eps(new Float32Array(256), 1, 0)).rejects.toThrow(
      'batch must be an integer in [1, 9007199254740991], got 0',
    );
    await expect(d.eps(new Float32Array(256), NaN, 1)).rejects.toThrow('t must be a finite number, got NaN');
    await expect(d.eps(new Float32Array(256).fill(NaN), 1, 1)).rejects.toThrow('x must not contain NaN (index 0)');
    const three = createUnetDenoiser({ unet: u, cond: seq(1, 3 * TEXT), guidance: 1 });
    await expect(three.eps(new Float32Array(512), 1, 2)).rejects.toThrow(
      'cond holds 3 rows of 2464 values; expected 1 (broadcast) or batch = 2',
    );
    const steps = createUnetDenoiser({ unet: folders.steps.unet, cond, guidance: 1 });
    await expect(steps.eps(new Float32Array(256), 1.5, 1)).rejects.toThrow(
      't[0] must be a safe integer for an int64 input, got 1.5',
    );
    expect(() => createUnetDenoiser({ unet: u, cond })).toThrow(
      'uncond must be a Float32Array of text embeddings when guidance != 1 (guidance = 7.5)',
    );
    expect(() => createUnetDenoiser({ unet: u, cond: new Float32Array(100), guidance: 1 })).toThrow(
      'cond must hold whole [77, 32] text embeddings (2464 values each), got 100 values',
    );
    expect(() => createUnetDenoiser({ unet: u, cond, guidance: -1 })).toThrow(
      'guidance must be in [0, Infinity], got -1',
    );
    expect(() => createUnetDenoiser({ unet: u, cond, guidance: Infinity })).toThrow(
      'guidance must be a finite number in [0, Infinity], got Infinity',
    );
    expect(() => createUnetDenoiser({ unet: u, cond, guidance: 1, latentSize: [16, 16] })).toThrow(
      'latentSize [16, 16] differs from the declared latent float32 [batch, 4, 8, 8]',
    );
    expect(() => createUnetDenoiser({ unet: u, cond, guidance: 1, extras: { boxes: { value: 1 } } })).toThrow(
      'extras.boxes: the unet has no input with that role; extra roles: (none)',
    );
    expect(() => createUnetDenoiser({ unet: folders.boxes.unet, cond, guidance: 1 })).toThrow(
      "unet input 'boxes' float32 [batch, 4, 4] has role 'boxes' and needs a value: pass extras.boxes",
    );
    const noUncondBoxes = createUnetDenoiser({
      unet: folders.boxes.unet,
      cond,
      uncond,
      extras: { boxes: { cond: seq(1, 16) }, scale: { value: 1 } },
    });
    await expect(noUncondBoxes.eps(new Float32Array(256), 1, 1)).rejects.toThrow(
      'extras.boxes.uncond is required when guidance != 1',
    );
    expect(() => createUnetDenoiser({ unet: {} as never, cond })).toThrow(
      'unet must be a UnetModel (from loadModelFolder(...).unet)',
    );
  });
});
