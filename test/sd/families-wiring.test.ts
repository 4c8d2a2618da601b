/**
 * The families on their tiny fixture folders: each conditioning input reaches the graph (change
 * one input, the noise prediction changes), the unconditional half ignores the conditions where
 * the real model does (guidance 0 gives ε = ε_u), and folders/conditions are checked before a
 * model runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFamilyFolder, type FamilyFixtureOptions, type FamilyKind } from '../../fixtures/families.ts';
import { writeSdTinyFolder } from '../../fixtures/sd-tiny.ts';
import { loadModelFolder, type ModelFolder } from '../../src/onnx/model-folder.ts';
import { encodePNG } from '../../src/image/png.ts';
import { makeRGBA } from '../../src/image/raster.ts';
import { getFamily } from '../../src/sd/family.ts';
import { standaloneContext } from '../../src/sd/families/context.ts';
import { encodePooled } from '../../src/sd/families/folder-check.ts';
import { interactDiffusionFamily, type InteractConditions } from '../../src/sd/families/interactdiffusion.ts';
import { migcFamily, type MigcConditions } from '../../src/sd/families/migc.ts';
import { ipAdapterFamily, openIpAdapterEncoders, ipImageTokens } from '../../src/sd/families/ipadapter.ts';
import '../../src/sd/families/index.ts';

let root: string;
const folders: ModelFolder[] = [];
async function folder(kind: FamilyKind, opts: FamilyFixtureOptions = {}, name: string = kind): Promise<ModelFolder> {
  const f = await loadModelFolder(await writeFamilyFolder(join(root, name), kind, opts));
  folders.push(f);
  return f;
}
const x = Float32Array.from({ length: 4 * 8 * 8 }, (_, i) => Math.sin(0.7 * i));
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

async function epsOf<C>(
  family: { createDenoiser: (...a: never[]) => unknown },
  f: ModelFolder,
  c: C,
  opts: { guidance?: number; seed?: number; t?: number[] } = {},
): Promise<Float32Array[]> {
  const ctx = await standaloneContext(f, { guidance: opts.guidance ?? 7.5, seed: opts.seed ?? 0 });
  const d = await (
    family.createDenoiser as (
      a: unknown,
      p: string,
      c: C,
    ) => Promise<{ eps: (x: Float32Array, t: number, b: number) => Promise<Float32Array> }>
  )(ctx, 'a photo of a cat', c);
  const out: Float32Array[] = [];
  for (const t of opts.t ?? [981]) out.push(Float32Array.from(await d.eps(x, t, 1)));
  return out;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'amdm-families-'));
});
afterAll(async () => {
  await Promise.all(folders.map((f) => f.release()));
  await rm(root, { recursive: true, force: true });
});

describe('interactdiffusion', () => {
  const base: InteractConditions = {
    subjects: ['man'],
    objects: ['cat'],
    actions: ['feeding'],
    subjectBoxes: [[0, 0, 0.5, 1]],
    objectBoxes: [[0.5, 0.2, 1, 0.9]],
  };
  it('each input changes ε; the uncond half (all-zero masks) ignores them', async () => {
    const f = await folder('interactdiffusion', { actionBoxes: true });
    const [e0] = await epsOf(interactDiffusionFamily, f, base);
    const variants: InteractConditions[] = [
      { ...base, subjectBoxes: [[0, 0, 0.4, 1]] },
      { ...base, objectBoxes: [[0.5, 0.3, 1, 0.9]] },
      { ...base, subjects: ['the man'] },
      { ...base, objects: ['dog'] },
      { ...base, actions: ['riding'] },
    ];
    for (const v of variants)
      expect(maxDiff(e0, (await epsOf(interactDiffusionFamily, f, v))[0])).toBeGreaterThan(1e-4);
    const [u0] = await epsOf(interactDiffusionFamily, f, base, { guidance: 0 });
    for (const v of variants)
      expect(maxDiff(u0, (await epsOf(interactDiffusionFamily, f, v, { guidance: 0 }))[0])).toBe(0);
  });
  it('pooled phrase embeddings are the same padded to the longest phrase or to 77', async () => {
    const f = await folder('interactdiffusion', {}, 'interact-pooled');
    const ctx = await standaloneContext(f);
    const texts = ['white dressed man', 'cat', 'feeding'];
    const longest = await encodePooled(ctx, texts);
    const full = await ctx.encodeText(texts);
    expect(longest.pooled.length).toBe(3 * 32);
    expect(maxDiff(longest.pooled, full.pooled!)).toBeLessThan(1e-6);
  });
});

describe('migc', () => {
  const base: MigcConditions = {
    phrases: ['red cat', 'blue dog'],
    boxes: [
      [0, 0, 0.5, 1],
      [0.5, 0, 1, 1],
    ],
    migcSteps: 0,
  };
  it('a box, a phrase, the seed (sac_perm) change ε while MIGC runs; after migcSteps the plain graph ignores them', async () => {
    const f = await folder('migc');
    const ts = [981, 961];
    const [a0, a1] = await epsOf(migcFamily, f, base, { t: ts });
    for (const [v, seed] of [
      [
        {
          ...base,
          boxes: [
            [0, 0, 0.5, 1],
            [0.6, 0, 1, 1],
          ],
        },
        0,
      ],
      [{ ...base, phrases: ['red cat', 'green dog'] }, 0],
      [base, 1],
    ] as [MigcConditions, number][]) {
      const [b0, b1] = await epsOf(migcFamily, f, v, { t: ts, seed });
      expect(maxDiff(a0, b0)).toBeGreaterThan(1e-4);
      expect(maxDiff(a1, b1)).toBe(0);
    }
    // Caption (= prompt) drives the plain steps too.
    const [, c1] = await epsOf(migcFamily, f, { ...base, caption: 'a photo of a dog' }, { t: ts });
    expect(maxDiff(a1, c1)).toBeGreaterThan(1e-4);
  });
  it('the one-graph layout with a switch input equals the two-graph layout', async () => {
    const two = await folder('migc', {}, 'migc-two');
    const one = await folder('migc', { layout: 'switch' }, 'migc-switch');
    const ts = [981, 961, 941];
    const a = await epsOf(migcFamily, two, { ...base, migcSteps: 1 }, { t: ts });
    const b = await epsOf(migcFamily, one, { ...base, migcSteps: 1 }, { t: ts });
    a.forEach((e, i) => expect(maxDiff(e, b[i])).toBe(0));
    expect(maxDiff(a[1], a[2])).toBeGreaterThan(0);
  });
  it('the uncond rows ignore the instances (guidance 0)', async () => {
    const f = await folder('migc', { promptPooler: true }, 'migc-pp');
    const [u0] = await epsOf(migcFamily, f, base, { guidance: 0 });
    const [u1] = await epsOf(
      migcFamily,
      f,
      {
        ...base,
        boxes: [
          [0.1, 0.1, 0.2, 0.2],
          [0.5, 0, 1, 1],
        ],
      },
      { guidance: 0 },
    );
    expect(maxDiff(u0, u1)).toBe(0);
    const [c0] = await epsOf(migcFamily, f, base);
    const [c1] = await epsOf(migcFamily, f, {
      ...base,
      boxes: [
        [0.1, 0.1, 0.2, 0.2],
        [0.5, 0, 1, 1],
      ],
    });
    expect(maxDiff(c0, c1)).toBeGreaterThan(1e-4);
  });
});

describe('ipadapter', () => {
  let red: string;
  let blue: string;
  beforeAll(async () => {
    red = join(root, 'red.png');
    blue = join(root, 'blue.png');
    await writeFile(red, await encodePNG(makeRGBA(40, 30, [220, 20, 40, 255])));
    await writeFile(blue, await encodePNG(makeRGBA(30, 50, [10, 40, 230, 255])));
  });
  it('the image and the scale change ε; the uncond half (zero-embedding tokens) ignores the image', async () => {
    const f = await folder('ipadapter');
    const [e0] = await epsOf(ipAdapterFamily, f, { image: red, scale: 0.8 });
    expect(maxDiff(e0, (await epsOf(ipAdapterFamily, f, { image: blue, scale: 0.8 }))[0])).toBeGreaterThan(1e-4);
    expect(maxDiff(e0, (await epsOf(ipAdapterFamily, f, { image: red, scale: 0.5 }))[0])).toBeGreaterThan(1e-4);
    const [u0] = await epsOf(ipAdapterFamily, f, { image: red }, { guidance: 0 });
    const [u1] = await epsOf(ipAdapterFamily, f, { image: blue }, { guidance: 0 });
    expect(maxDiff(u0, u1)).toBe(0);
  });
  it('uncond tokens are the projection of zero embeddings (LayerNorm of the bias), not zeros', async () => {
    const f = await folder('ipadapter', {}, 'ip-tokens');
    const enc = await openIpAdapterEncoders(f.dir);
    try {
      const a = await ipImageTokens(enc, new Float32Array(3 * 224 * 224).fill(0.5));
      const b = await ipImageTokens(enc, new Float32Array(3 * 224 * 224).fill(-0.5));
      expect([a.count, a.width]).toEqual([4, 32]);
      expect(maxDiff(a.uncondTokens, b.uncondTokens)).toBe(0);
      expect(a.uncondTokens.some((v) => Math.abs(v) > 0.1)).toBe(true);
      expect(maxDiff(a.tokens, b.tokens)).toBeGreaterThan(1e-3);
    } finally {
      await enc.release();
    }
  });
});

describe('checks before any model runs', () => {
  const interact: InteractConditions = {
    subjects: ['man'],
    objects: ['cat'],
    actions: ['feeding'],
    subjectBoxes: [[0, 0, 0.5, 1]],
    objectBoxes: [[0.5, 0.2, 1, 0.9]],
  };
  it('condition schemas name the bad field', () => {
    const r = getFamily('interactdiffusion').conditionSchema.safeParse({
      ...interact,
      actions: [],
      objectBoxes: [[0.5, 0.2, 0.1, 0.9]],
    });
    expect(r.success).toBe(false);
    const msgs = r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n');
    expect(msgs).toMatch(/objectBoxes\.0: a box must have x0 < x1/);
    expect(msgs).toMatch(/actions/);
    const m = getFamily('migc').conditionSchema.safeParse({ phrases: ['a', 'b'], boxes: [[0, 0, 1, 1]] });
    expect(m.error!.issues[0]).toMatchObject({
      path: ['boxes'],
      message: expect.stringMatching(/1 boxes but phrases has 2/),
    });
    const many = getFamily('interactdiffusion').conditionSchema.safeParse({
      ...interact,
      subjects: Array(31).fill('a'),
    });
    expect(many.error!.issues.some((i) => i.path[0] === 'subjects')).toBe(true);
    expect(getFamily('ipadapter').conditionSchema.safeParse({}).success).toBe(false);
  });
  it('folders of the wrong kind, a missing style image, a baked scale, a fixed instance count', async () => {
    const migcF = await folder('migc', { instances: 3 }, 'migc-n3');
    const plain = await loadModelFolder(await writeSdTinyFolder(join(root, 'plain')));
    folders.push(plain);
    expect(() => interactDiffusionFamily.checkFolder!(migcF, interact)).toThrow(
      /needs a folder whose amdm.json declares "family": "interactdiffusion".*declares "family": "migc"/,
    );
    expect(() => interactDiffusionFamily.checkFolder!(plain, interact)).toThrow(/has no amdm.json/);
    expect(() =>
      migcFamily.checkFolder!(migcF, {
        phrases: ['a', 'b'],
        boxes: [
          [0, 0, 1, 1],
          [0, 0, 1, 1],
        ],
      }),
    ).toThrow(/'instance_embeddings' is float32 \[3, 77, 32\], but 2 instances/);
    expect(() =>
      migcFamily.checkFolder!(migcF, {
        phrases: ['a', 'b', 'c'],
        boxes: [
          [0, 0, 1, 1],
          [0, 0, 1, 1],
          [0, 0, 1, 1],
        ],
      }),
    ).not.toThrow();
    const liar = await folder('interactdiffusion', { manifestFamily: 'migc' }, 'liar');
    expect(() => migcFamily.checkFolder!(liar, { phrases: ['a'], boxes: [[0, 0, 1, 1]] })).toThrow(
      /kind 'migc' feeds the roles/,
    );
    const ip = await folder('ipadapter', { scaleInput: false }, 'ip-baked');
    expect(() => ipAdapterFamily.checkFolder!(ip, { image: join(root, 'nope.png') })).toThrow(
      /style image .*nope\.png does not exist/,
    );
    await writeFile(join(root, 'white.png'), await encodePNG(makeRGBA(8, 8)));
    expect(() => ipAdapterFamily.checkFolder!(ip, { image: join(root, 'white.png'), scale: 0.8 })).toThrow(
      /no input with role 'scale'/,
    );
    expect(() => ipAdapterFamily.checkFolder!(ip, { image: join(root, 'white.png') })).not.toThrow();
  });
  it('MIGC needs batch 1 and CFG', async () => {
    const f = await folder('migc', {}, 'migc-batch');
    const c: MigcConditions = { phrases: ['a'], boxes: [[0, 0, 1, 1]] };
    await expect(migcFamily.createDenoiser(await standaloneContext(f, { batch: 2 }), 'p', c)).rejects.toThrow(
      /batch 1 only/,
    );
    await expect(migcFamily.createDenoiser(await standaloneContext(f, { guidance: 1 }), 'p', c)).rejects.toThrow(
      /guidance != 1/,
    );
  });
});
