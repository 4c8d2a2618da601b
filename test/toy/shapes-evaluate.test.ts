import { describe, expect, it } from 'vitest';
import { fc, test as fcTest } from '@fast-check/vitest';
import {
  attributeExpert,
  boxIoU,
  evaluateBatch,
  evaluateImage,
  fillBackground,
  layoutExpert,
  makePromptSet,
  makeWorld,
  meanEstimate,
  paintSquare,
  rate,
  renderPrompt,
  samplePrompt,
  summarize,
  validatePrompt,
  type Box,
  type ImageEvaluation,
} from '../../src/toy/shapes/index.ts';
import { gaussianRng } from '../../src/core/rng.ts';
import { gmmSample } from '../../src/toy/gmm-mixture.ts';

const world = makeWorld();
const prompt = validatePrompt(world, {
  instances: [
    { box: [2, 2, 6, 6], color: 'red' },
    { box: [9, 4, 13, 8], color: 'white' },
    { box: [5, 10, 9, 14], color: 'blue' },
  ],
  style: 'checker',
});

/** Background `style` with the given squares (corner x, y, colour) painted on it. */
function draw(style: string, squares: [number, number, string][]): Float32Array {
  const img = fillBackground(world, style, new Float32Array(world.dim));
  for (const [x, y, c] of squares) paintSquare(world, x, y, world.palette[c], img);
  return img;
}

describe('evaluateImage on ground truth', () => {
  it('scores the clean render as a full success', () => {
    const r = evaluateImage(world, prompt, renderPrompt(world, prompt));
    expect(r.level).toBe(3);
    expect(r.label).toBe('red@(2,2) white@(9,4) blue@(5,10) | checker');
    expect(r.allInstancesOk).toBe(true);
    expect(r.style).toEqual({ expected: 'checker', found: 'checker', ok: true });
    for (const [i, inst] of r.instances.entries()) {
      expect(inst.found).toEqual(prompt.instances[i].box);
      expect(inst).toMatchObject({ iou: 1, colorOk: true, ok: true, miou: 1, foundColor: prompt.instances[i].color });
      expect(inst.contrast).toBeCloseTo(1, 12);
    }
  });

  it('scores every rendered prompt of a set, clean and with σ₀ noise, as 100 %', () => {
    const set = makePromptSet(world, { seed: 21, count: 300, withStyle: true });
    const rng = gaussianRng(4);
    const clean = summarize(set.map((p) => evaluateImage(world, p, renderPrompt(world, p))));
    const noisy = summarize(set.map((p) => evaluateImage(world, p, samplePrompt(world, p, rng))));
    for (const s of [clean, noisy]) {
      expect(s.levels.map((l) => [l.level, l.images])).toEqual([
        [1, 100],
        [2, 100],
        [3, 100],
      ]);
      for (const row of [s.overall, ...s.levels]) {
        expect(row.instanceSuccess).toMatchObject({ value: 1, se: 0 });
        expect(row.imageSuccess).toMatchObject({ value: 1, se: 0 });
        expect(row.mIoU).toMatchObject({ value: 1, se: 0 });
        expect(row.styleSuccess).toMatchObject({ value: 1, se: 0 });
      }
      expect(s.overall.instanceSuccess.n).toBe(600);
    }
  });

  it('separates touching squares of one colour and of equally bright colours', () => {
    const p = validatePrompt(world, {
      instances: [
        { box: [3, 0, 7, 4], color: 'red' },
        { box: [7, 0, 11, 4], color: 'red' },
        { box: [12, 3, 16, 7], color: 'yellow' },
      ],
    });
    const q = validatePrompt(world, {
      instances: [
        { box: [12, 7, 16, 11], color: 'white' },
        { box: [12, 3, 16, 7], color: 'yellow' },
      ],
    });
    for (const pr of [p, q]) {
      for (let seed = 0; seed < 40; seed++) {
        const r = evaluateImage(world, pr, samplePrompt(world, pr, gaussianRng(seed)));
        expect(r.instances.map((i) => i.iou)).toEqual(pr.instances.map(() => 1));
      }
    }
  });
});

describe('evaluateImage on wrong renders', () => {
  it('a box shifted by 1 px still succeeds (IoU 0.6), by 2 px fails (IoU 1/3, raw IoU kept)', () => {
    const one = evaluateImage(
      world,
      prompt,
      draw('checker', [
        [3, 2, 'red'],
        [9, 4, 'white'],
        [5, 10, 'blue'],
      ]),
    );
    expect(one.instances[0]).toMatchObject({ found: [3, 2, 7, 6], iou: 0.6, colorOk: true, ok: true, miou: 0.6 });
    expect(one.allInstancesOk).toBe(true);
    const two = evaluateImage(
      world,
      prompt,
      draw('checker', [
        [2, 4, 'red'],
        [9, 4, 'white'],
        [5, 10, 'blue'],
      ]),
    );
    expect(two.instances[0]).toMatchObject({ found: [2, 4, 6, 8], iou: 1 / 3, colorOk: true, ok: false, miou: 1 / 3 });
    expect(two.allInstancesOk).toBe(false);
    const diag = evaluateImage(
      world,
      prompt,
      draw('checker', [
        [2, 2, 'red'],
        [10, 5, 'white'],
        [5, 10, 'blue'],
      ]),
    );
    expect(diag.instances[1]).toMatchObject({ found: [10, 5, 14, 9], iou: 9 / 23, ok: false });
  });

  it('a wrong colour is found at the box but fails with mIoU 0', () => {
    const r = evaluateImage(
      world,
      prompt,
      draw('checker', [
        [2, 2, 'magenta'],
        [9, 4, 'white'],
        [5, 10, 'blue'],
      ]),
    );
    expect(r.instances[0]).toMatchObject({
      found: [2, 2, 6, 6],
      iou: 1,
      foundColor: 'magenta',
      colorOk: false,
      ok: false,
      miou: 0,
    });
    expect(r.instances[1].ok).toBe(true);
    expect(r.allInstancesOk).toBe(false);
  });

  it('a wrong style fails the style check only', () => {
    const img = draw('stripes', [
      [2, 2, 'red'],
      [9, 4, 'white'],
      [5, 10, 'blue'],
    ]);
    const r = evaluateImage(world, prompt, img);
    expect(r.style).toEqual({ expected: 'checker', found: 'stripes', ok: false });
    expect(r.allInstancesOk).toBe(true);
    const plain = evaluateImage(
      world,
      prompt,
      draw('plain', [
        [2, 2, 'red'],
        [9, 4, 'white'],
        [5, 10, 'blue'],
      ]),
    );
    expect(plain.style.found).toBe('plain');
  });

  it('a missing instance is not found (IoU 0, no colour)', () => {
    const r = evaluateImage(
      world,
      prompt,
      draw('checker', [
        [2, 2, 'red'],
        [5, 10, 'blue'],
      ]),
    );
    expect(r.instances[1]).toMatchObject({ found: null, iou: 0, foundColor: null, colorOk: false, ok: false, miou: 0 });
    expect(r.instances[1].contrast).toBeLessThanOrEqual(0);
  });

  it('leaves style unscored when the prompt names none', () => {
    const p = validatePrompt(world, { instances: [{ box: [0, 0, 4, 4], color: 'green' }] });
    const r = evaluateImage(world, p, draw('stripes', [[0, 0, 'green']]));
    expect(r.style).toEqual({ expected: null, found: 'stripes', ok: null });
    expect(summarize([r]).overall.styleSuccess).toBeNull();
  });
});

describe('evaluateImage on expert samples', () => {
  const p = validatePrompt(world, { instances: [{ box: [6, 6, 10, 10], color: 'cyan' }] });
  const n = 400;

  it('layout expert: position always right, colour right with probability 2/8', () => {
    const xs = gmmSample(layoutExpert(world, p), n, gaussianRng(9));
    const rs = evaluateBatch(world, Array(n).fill(p), xs);
    expect(rs.every((r) => r.instances[0].iou === 1)).toBe(true);
    const s = summarize(rs).overall.instanceSuccess;
    expect(Math.abs(s.value - 0.25)).toBeLessThan(4 * Math.sqrt((0.25 * 0.75) / n));
  });

  it('attribute expert: colour always right, IoU ≥ 0.5 for 5 of 25 offsets', () => {
    const xs = gmmSample(attributeExpert(world, p), n, gaussianRng(10));
    const rs = evaluateBatch(world, Array(n).fill(p), xs);
    expect(rs.every((r) => r.instances[0].colorOk)).toBe(true);
    const s = summarize(rs).overall.instanceSuccess;
    expect(Math.abs(s.value - 0.2)).toBeLessThan(4 * Math.sqrt((0.2 * 0.8) / n));
  });
});

describe('fidelity (distance of the pixels from what the world draws)', () => {
  it('clean renders and renders + σ₀ noise are clean; uniform noise of the same squares is not', () => {
    const clean = renderPrompt(world, prompt);
    const r0 = evaluateImage(world, prompt, clean);
    expect(r0.fidelity.rms).toBeLessThan(1e-6); // float32 rounding of the palette only
    expect(r0.fidelity.clean).toBe(true);
    const rng = gaussianRng(3);
    const noisy = clean.map((v) => v + world.sigma0 * rng.normal());
    const r1 = evaluateImage(world, prompt, noisy);
    expect(r1.fidelity.rms).toBeLessThan(world.sigma0);
    expect(r1.fidelity.clean).toBe(true);
    // the same image with strong noise: squares may still read right, but it is not clean
    const garbage = clean.map((v) => v + 0.8 * rng.normal());
    const r2 = evaluateImage(world, prompt, garbage);
    expect(r2.fidelity.rms).toBeGreaterThan(2 * world.sigma0);
    expect(r2.fidelity.clean).toBe(false);
  });
});

describe('summarize', () => {
  const inst = (ok: boolean, miou: number) => ({ ok, miou }) as unknown as ImageEvaluation['instances'][number];
  const img = (level: number, items: [boolean, number][], style: boolean | null): ImageEvaluation =>
    ({
      level,
      label: '',
      instances: items.map(([ok, m]) => inst(ok, m)),
      style: { expected: style === null ? null : 'plain', found: 'plain', ok: style },
      allInstancesOk: items.every(([ok]) => ok),
      fidelity: { rms: 0.1, clean: level === 1 },
    }) as ImageEvaluation;

  it('gives rates, mIoU and standard errors per level and overall', () => {
    const rs = [
      img(1, [[true, 1]], true),
      img(1, [[false, 0.25]], false),
      img(
        2,
        [
          [true, 1],
          [false, 0],
        ],
        true,
      ),
      img(
        2,
        [
          [true, 0.75],
          [true, 1],
        ],
        null,
      ),
    ];
    const { overall, levels } = summarize(rs);
    expect(overall.images).toBe(4);
    expect(overall.instanceSuccess).toEqual({ value: 4 / 6, se: Math.sqrt(((4 / 6) * (2 / 6)) / 6), n: 6 });
    expect(overall.imageSuccess).toEqual({ value: 0.5, se: Math.sqrt(0.25 / 4), n: 4 });
    const m = 4 / 6;
    const ss = [1, 0.25, 1, 0, 0.75, 1].reduce((a, x) => a + (x - m) ** 2, 0);
    expect(overall.mIoU.value).toBeCloseTo(m, 14);
    expect(overall.mIoU.se).toBeCloseTo(Math.sqrt(ss / 5 / 6), 14);
    expect(overall.styleSuccess).toEqual({ value: 2 / 3, se: Math.sqrt(((2 / 3) * (1 / 3)) / 3), n: 3 });
    expect(levels.map((l) => l.level)).toEqual([1, 2]);
    expect(levels[0].instanceSuccess).toEqual({ value: 0.5, se: Math.sqrt(0.25 / 2), n: 2 });
    expect(levels[1].imageSuccess).toEqual({ value: 0.5, se: Math.sqrt(0.25 / 2), n: 2 });
    expect(levels[1].mIoU.value).toBeCloseTo(0.6875, 14);
    expect(overall.cleanImages).toEqual({ value: 0.5, se: Math.sqrt(0.25 / 4), n: 4 });
  });

  it('rate and meanEstimate give reference values and reject bad input', () => {
    expect(rate(3, 4)).toEqual({ value: 0.75, se: Math.sqrt((0.75 * 0.25) / 4), n: 4 });
    expect(meanEstimate([2])).toEqual({ value: 2, se: 0, n: 1 });
    expect(meanEstimate([1, 3])).toEqual({ value: 2, se: 1, n: 2 });
    expect(() => rate(5, 4)).toThrow(/k must be an integer in \[0, 4\], got 5/);
    expect(() => summarize([])).toThrow(/results must be a non-empty array/);
  });
});

describe('input validation', () => {
  it('rejects bad images and options', () => {
    expect(() => evaluateImage(world, prompt, new Float32Array(10))).toThrow(
      /image must have length 768 \(3·16·16\), got 10/,
    );
    const bad = renderPrompt(world, prompt);
    bad[5] = Number.NaN;
    expect(() => evaluateImage(world, prompt, bad)).toThrow(/image must hold finite values, got NaN at index 5/);
    expect(() => evaluateImage(world, prompt, [] as unknown as Float32Array)).toThrow(TypeError);
    expect(() => evaluateImage(world, prompt, renderPrompt(world, prompt), { iouThreshold: 0 })).toThrow(
      /opts\.iouThreshold must be in \(0, 1\], got 0/,
    );
    expect(() => evaluateImage(world, prompt, renderPrompt(world, prompt), { searchRadius: -1 })).toThrow(
      /opts\.searchRadius must be an integer/,
    );
    expect(() => evaluateBatch(world, [prompt, prompt], new Float32Array(768))).toThrow(
      /images must have length prompts\.length·world\.dim = 1536, got 768/,
    );
  });
});

describe('evaluateImage properties', () => {
  fcTest.prop([
    fc.integer({ min: 2, max: 10 }),
    fc.integer({ min: 2, max: 10 }),
    fc.integer({ min: -2, max: 2 }),
    fc.integer({ min: -2, max: 2 }),
    fc.constantFrom(...world.colors),
    fc.constantFrom(...world.styles),
    fc.integer({ min: 0, max: 1000 }),
  ])(
    'finds a square drawn off its box where it is, with IoU = boxIoU of the shift',
    (x, y, dx, dy, color, style, seed) => {
      const p = validatePrompt(world, { instances: [{ box: [x, y, x + 4, y + 4], color }], style });
      const img = draw(style, [[x + dx, y + dy, color]]);
      const rng = gaussianRng(seed);
      for (let i = 0; i < img.length; i++) img[i] += world.sigma0 * rng.normal();
      const r = evaluateImage(world, p, img);
      const shifted: Box = [x + dx, y + dy, x + dx + 4, y + dy + 4];
      expect(r.instances[0].found).toEqual(shifted);
      expect(r.instances[0].iou).toBe(boxIoU(shifted, p.instances[0].box));
      expect(r.instances[0].colorOk).toBe(true);
      expect(r.instances[0].ok).toBe(r.instances[0].iou >= 0.5);
      expect(r.style.ok).toBe(true);
    },
  );
});
