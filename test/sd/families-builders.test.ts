import { describe, expect, it } from 'vitest';
import { fc, test as fcTest } from '@fast-check/vitest';
import { betweenBox, boxSchema, checkBox } from '../../src/sd/families/boxes.ts';
import {
  buildInteractInputs,
  checkInteractTriplets,
  interactExtras,
  interactPhraseList,
  INTERACT_MAX_OBJS,
} from '../../src/sd/families/interactdiffusion.ts';
import {
  buildMigcInputs,
  createMigcSwitchDenoiser,
  migcActiveAt,
  migcMasks,
  resizeBilinear,
  sacPermutation,
} from '../../src/sd/families/migc.ts';
import {
  bicubicCoefficients,
  clipImagePreprocess,
  CLIP_IMAGE_MEAN,
  CLIP_IMAGE_STD,
  resizeBicubicPIL,
  shortestEdgeSize,
} from '../../src/sd/families/clip-image.ts';
import { concatTokens } from '../../src/sd/families/ipadapter.ts';
import type { Denoiser } from '../../src/core/types.ts';

describe('boxes', () => {
  it('accepts normalized xyxy and names the problem otherwise', () => {
    expect(checkBox('b', [0, 0, 1, 1])).toEqual([0, 0, 1, 1]);
    expect(() => checkBox('b', [0, 0, 1.2, 1])).toThrow(/b must lie in \[0, 1\]/);
    expect(() => checkBox('b', [0.5, 0, 0.2, 1])).toThrow(/b must have x0 < x1/);
    expect(() => checkBox('b', [0, 0.5, 1, 0.5])).toThrow(/b must have y0 < y1/);
    expect(() => checkBox('b', [0, 0, 1])).toThrow(/b must be \[x0, y0, x1, y1\]/);
    expect(() => checkBox('b', 'box')).toThrow(TypeError);
    expect(boxSchema.safeParse([0, -0.1, 1, 1]).success).toBe(false);
  });
  it('betweenBox keeps the 2nd and 3rd of the sorted x and y values (get_between_box)', () => {
    expect(betweenBox([0.1, 0.2, 0.4, 0.5], [0.3, 0.1, 0.8, 0.9])).toEqual([0.3, 0.2, 0.4, 0.5]);
  });
  const box = fc
    .tuple(
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.double({ min: 0, max: 1, noNaN: true }),
    )
    .filter(([a, b, c, d]) => a < c && b < d);
  fcTest.prop([box, box])('betweenBox is symmetric, inside [0,1], and betweenBox(b, b) = b', (a, b) => {
    expect(betweenBox(a, b)).toEqual(betweenBox(b, a));
    expect(betweenBox(a, a)).toEqual([...a]);
    const m = betweenBox(a, b);
    expect(m[0] <= m[2] && m[1] <= m[3] && m.every((v) => v >= 0 && v <= 1)).toBe(true);
  });
});

describe('InteractDiffusion builder', () => {
  const t = {
    subjects: ['man', 'girl'],
    objects: ['cat', 'bottle'],
    actions: ['feeding', 'drinking'],
    subjectBoxes: [
      [0, 0, 0.5, 1],
      [0.1, 0.1, 0.3, 0.3],
    ] as [number, number, number, number][],
    objectBoxes: [
      [0.5, 0.2, 1, 0.9],
      [0.2, 0.2, 0.6, 0.6],
    ] as [number, number, number, number][],
  };
  it('lists phrases as subjects, objects, actions', () => {
    expect(interactPhraseList(t)).toEqual(['man', 'girl', 'cat', 'bottle', 'feeding', 'drinking']);
  });
  it('lays out 30 slots: boxes, masks, embeddings; zeros past n', () => {
    const D = 3;
    const pooled = Float32Array.from({ length: 6 * D }, (_, i) => i + 1);
    const x = buildInteractInputs(t, pooled, D);
    expect(x.slots).toBe(30);
    expect(Array.from(x.masks.slice(0, 3))).toEqual([1, 1, 0]);
    expect(x.uncondMasks.every((v) => v === 0)).toBe(true);
    expect(Array.from(x.subjectBoxes.slice(4, 8))).toEqual([0.1, 0.1, 0.3, 0.3].map(Math.fround));
    expect(Array.from(x.subjectEmbeddings.slice(0, 2 * D + 1))).toEqual([1, 2, 3, 4, 5, 6, 0]);
    expect(Array.from(x.objectEmbeddings.slice(0, 2 * D))).toEqual([7, 8, 9, 10, 11, 12]);
    expect(Array.from(x.actionEmbeddings.slice(0, 2 * D))).toEqual([13, 14, 15, 16, 17, 18]);
    expect(Array.from(x.actionBoxes.slice(0, 4))).toEqual(
      betweenBox(t.subjectBoxes[0], t.objectBoxes[0]).map(Math.fround),
    );
    expect(x.subjectEmbeddings.subarray(2 * D).every((v) => v === 0)).toBe(true);
  });
  it('uncond rows differ from cond rows only in the masks', () => {
    const x = buildInteractInputs(t, new Float32Array(6 * 4).fill(1), 4);
    const e = interactExtras(x, new Set(['masks', 'subject_boxes', 'action_embeddings']), true);
    expect(Object.keys(e).sort()).toEqual(['action_embeddings', 'masks', 'subject_boxes']);
    expect(e.subject_boxes.uncond).toBe(e.subject_boxes.cond);
    expect(Array.from(e.masks.uncond!)).toEqual(new Array(30).fill(0));
    expect(interactExtras(x, new Set(['masks']), false).masks.uncond).toBeUndefined();
  });
  it('rejects differing counts, more than 30 triplets and bad boxes', () => {
    expect(() => checkInteractTriplets({ ...t, actions: ['feeding'] })).toThrow(/same length.*actions 1/);
    expect(() => checkInteractTriplets({ ...t, objectBoxes: [[0, 0, 1, 1]] })).toThrow(/objectBoxes 1/);
    const n = INTERACT_MAX_OBJS + 1;
    const many = {
      subjects: Array(n).fill('a'),
      objects: Array(n).fill('b'),
      actions: Array(n).fill('c'),
      subjectBoxes: Array(n).fill([0, 0, 1, 1]),
      objectBoxes: Array(n).fill([0, 0, 1, 1]),
    };
    expect(() => checkInteractTriplets(many)).toThrow(/\[1, 30\].*got 31/);
    expect(() =>
      checkInteractTriplets({
        ...t,
        subjectBoxes: [
          [0, 0, 1, 1],
          [0, 0, 2, 1],
        ],
      }),
    ).toThrow(/subjectBoxes\[1\] must lie in \[0, 1\]/);
    expect(() => buildInteractInputs(t, new Float32Array(5), 1)).toThrow(/pooled must have length 6/);
  });
});

describe('MIGC builder', () => {
  it('bilinear resize samples (in/out)(d + ½) − ½ (align_corners=False): 64 → 8 averages pixels 8d+3 and 8d+4', () => {
    const src = Float32Array.from({ length: 64 }, (_, i) => i);
    const out = resizeBilinear(src, 1, 1, 64, 1, 8);
    expect(Array.from(out)).toEqual([3.5, 11.5, 19.5, 27.5, 35.5, 43.5, 51.5, 59.5]);
    // upsampling 2 → 4: source coordinates max(0, -0.25), 0.25, 0.75, 1.25 → clamped at the ends
    expect(Array.from(resizeBilinear(Float32Array.of(0, 4), 1, 1, 2, 1, 4))).toEqual([0, 1, 3, 4]);
  });
  it('masks: full-resolution boxes with int() truncation, then bilinear to the latent', () => {
    // x0 = 4/64 starts at column 4, so latent column 0 averages columns 3 (0) and 4 (1).
    const { guidance, supplement } = migcMasks(
      [
        [0.0625, 0, 0.5, 1],
        [0.5, 0.5, 1, 1],
      ],
      [8, 8],
    );
    const row0 = Array.from(guidance.slice(0, 8));
    expect(row0).toEqual([0.5, 1, 1, 1, 0, 0, 0, 0]);
    const second = guidance.subarray(64);
    expect(second[0 * 8 + 7]).toBe(0);
    expect(second[7 * 8 + 7]).toBe(1);
    expect(supplement[0]).toBe(0.5);
    expect(supplement[7]).toBe(1); // top right: not covered
    expect(supplement[63]).toBe(0);
  });
  it('reorders boxes to x0, x1, y0, y1 and splits the [n+2] text rows', () => {
    const L = 2;
    const D = 3;
    const hidden = Float32Array.from({ length: 4 * L * D }, (_, i) => i);
    const pooled = Float32Array.from({ length: 4 * D }, (_, i) => 100 + i);
    const x = buildMigcInputs({
      phrases: ['a', 'b'],
      boxes: [
        [0.1, 0.2, 0.3, 0.4],
        [0, 0, 1, 1],
      ],
      hidden,
      pooled,
      length: L,
      width: D,
      latentSize: [8, 8],
      seed: 3,
    });
    expect(Array.from(x.instanceBoxes.slice(0, 4))).toEqual([0.1, 0.3, 0.2, 0.4].map(Math.fround));
    expect(Array.from(x.negative)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(Array.from(x.caption)).toEqual([6, 7, 8, 9, 10, 11]);
    expect(x.instanceEmbeddings.length).toBe(2 * L * D);
    expect(Array.from(x.promptPooler)).toEqual([103, 104, 105, 106, 107, 108, 109, 110, 111]);
    expect(Array.from(x.instancePooler)).toEqual([106, 107, 108, 109, 110, 111]);
    expect(x.guidanceMask.length).toBe(2 * 64);
    expect(() =>
      buildMigcInputs({
        phrases: ['a'],
        boxes: [
          [0, 0, 1, 1],
          [0, 0, 1, 1],
        ],
        hidden,
        pooled,
        length: L,
        width: D,
        latentSize: [8, 8],
        seed: 0,
      }),
    ).toThrow(/phrases and boxes must have the same length/);
  });
  fcTest.prop([fc.integer({ min: 0, max: 2 ** 31 })])(
    'sac permutation: a permutation of 0..27, the same for the same seed',
    (seed) => {
      const p = sacPermutation(seed);
      expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 28 }, (_, i) => i));
      expect(sacPermutation(seed)).toEqual(p);
    },
  );
  it('sac permutation depends on the seed', () => {
    expect(sacPermutation(1)).not.toEqual(sacPermutation(2));
  });
  it('switch: MIGC for steps i ≤ migcSteps, plain afterwards; steps counted from t or taken from the timesteps', async () => {
    const tag = (v: number): Denoiser => ({ eps: () => new Float32Array(1).fill(v) });
    expect([0, 20, 21].map((i) => migcActiveAt(i, 20))).toEqual([true, true, false]);
    const d = createMigcSwitchDenoiser({ migc: tag(1), plain: tag(0), migcSteps: 1 });
    const x = new Float32Array(1);
    const seen = [];
    for (const t of [901, 801, 801, 701, 601, 901, 801]) seen.push((await d.eps(x, t, 1))[0]);
    // 801 twice stays on step 1; 901 after 601 starts a new run at step 0.
    expect(seen).toEqual([1, 1, 1, 0, 0, 1, 1]);
    const e = createMigcSwitchDenoiser({ migc: tag(1), plain: tag(0), migcSteps: 0, timesteps: [901, 801, 701] });
    expect((await e.eps(x, 801, 1))[0]).toBe(0);
    expect((await e.eps(x, 901, 1))[0]).toBe(1);
    expect(() => e.eps(x, 500, 1)).toThrow(/t = 500 is not one of the run's timesteps/);
    expect(() => createMigcSwitchDenoiser({ migc: tag(1), plain: tag(0), migcSteps: -2 })).toThrow(
      /migcSteps must be an integer in \[-1/,
    );
  });
});

describe('CLIP image preprocessing (PIL bicubic)', () => {
  it('upscales a row 2 → 4 as Pillow (a = −0.5, normalized taps, 22-bit fixed point)', () => {
    // hand-derived: taps k(0.25) = 0.8671875, k(1.25) = −0.0703125, k(0.75) = 0.2265625
    expect(
      Array.from(
        resizeBicubicPIL(Uint8Array.of(100, 200), { width: 2, height: 1, channels: 1 }, { width: 4, height: 1 }),
      ),
    ).toEqual([91, 121, 179, 209]);
    // negative lobes clamp to 0 and 255; 255·0.2265625/1.09375 = 52.8 → 53
    expect(
      Array.from(
        resizeBicubicPIL(Uint8Array.of(0, 255), { width: 2, height: 1, channels: 1 }, { width: 4, height: 1 }),
      ),
    ).toEqual([0, 53, 202, 255]);
  });
  it('downscales 4 → 2 with the kernel widened by the scale (antialias)', () => {
    // taps k(±0.25), k(0.75), k(1.25) over 1.890625: (10, 20, 30, 40) → 15.87, 34.13
    expect(
      Array.from(
        resizeBicubicPIL(Uint8Array.of(10, 20, 30, 40), { width: 4, height: 1, channels: 1 }, { width: 2, height: 1 }),
      ),
    ).toEqual([16, 34]);
    const c = bicubicCoefficients(4, 2);
    expect(c.ksize).toBe(9);
    expect(Array.from(c.bounds)).toEqual([0, 4, 0, 4]);
  });
  it('is separable: horizontal pass (rounded to 8 bits) then vertical', () => {
    const W = 7;
    const H = 5;
    const src = Uint8Array.from({ length: W * H * 3 }, (_, i) => (i * 37 + (i >> 3) * 11) % 256);
    const out = resizeBicubicPIL(src, { width: W, height: H, channels: 3 }, { width: 4, height: 9 });
    const rows = resizeBicubicPIL(src, { width: W, height: H, channels: 3 }, { width: 4, height: H });
    const both = resizeBicubicPIL(rows, { width: 4, height: H, channels: 3 }, { width: 4, height: 9 });
    expect(Array.from(out)).toEqual(Array.from(both));
  });
  fcTest.prop([
    fc.integer({ min: 1, max: 9 }),
    fc.integer({ min: 1, max: 9 }),
    fc.integer({ min: 1, max: 12 }),
    fc.integer({ min: 1, max: 12 }),
    fc.integer({ min: 0, max: 255 }),
  ])('keeps a constant image constant, and the same size unchanged', (w, h, ow, oh, v) => {
    expect(
      resizeBicubicPIL(
        new Uint8Array(w * h * 3).fill(v),
        { width: w, height: h, channels: 3 },
        { width: ow, height: oh },
      ).every((x) => x === v),
    ).toBe(true);
    const src = Uint8Array.from({ length: w * h }, (_, i) => (i * 53) % 256);
    expect(Array.from(resizeBicubicPIL(src, { width: w, height: h, channels: 1 }, { width: w, height: h }))).toEqual(
      Array.from(src),
    );
  });
  it('shortest edge 224 with int() of the long side; centre crop; CLIP mean/std', () => {
    expect(shortestEdgeSize(448, 300)).toEqual([334, 224]);
    expect(shortestEdgeSize(100, 250)).toEqual([224, 560]);
    const img = { width: 20, height: 10, data: new Uint8ClampedArray(20 * 10 * 4) };
    for (let i = 0; i < 200; i++) img.data.set([255, 0, 51, 7], 4 * i);
    const pv = clipImagePreprocess(img);
    expect(pv.length).toBe(3 * 224 * 224);
    const expected = [255, 0, 51].map((u, c) =>
      Math.fround(Math.fround(Math.fround(u / 255) - Math.fround(CLIP_IMAGE_MEAN[c])) / Math.fround(CLIP_IMAGE_STD[c])),
    );
    expect([pv[0], pv[224 * 224 + 5], pv[2 * 224 * 224 + 999]]).toEqual(expected);
    // Left half black, right half white: the crop keeps the centre, so column 111 is dark and 112 bright.
    const lr = { width: 40, height: 20, data: new Uint8ClampedArray(40 * 20 * 4) };
    for (let y = 0; y < 20; y++) for (let x = 20; x < 40; x++) lr.data.set([255, 255, 255, 255], 4 * (y * 40 + x));
    const q = clipImagePreprocess(lr);
    expect(q[100 * 224 + 100]).toBeLessThan(q[100 * 224 + 124]);
    expect(q[100 * 224 + 0]).toBeCloseTo((0 - CLIP_IMAGE_MEAN[0]) / CLIP_IMAGE_STD[0], 5);
    expect(() => clipImagePreprocess({ width: 2, height: 2, data: new Uint8ClampedArray(3) })).toThrow(
      /image.data must have length/,
    );
  });
  it('concatenates the image tokens after the text tokens', () => {
    expect(Array.from(concatTokens(Float32Array.of(1, 2, 3, 4), Float32Array.of(9, 8), 2))).toEqual([1, 2, 3, 4, 9, 8]);
    expect(() => concatTokens(Float32Array.of(1, 2, 3), Float32Array.of(9, 8), 2)).toThrow(/whole rows of width 2/);
  });
});
