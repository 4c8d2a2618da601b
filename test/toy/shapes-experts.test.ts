import { describe, expect, it } from 'vitest';
import {
  attributeExpert,
  evaluateImage,
  expertFromFactors,
  fillBackground,
  layoutExpert,
  makeWorld,
  oracleExpert,
  paintSquare,
  renderPrompt,
  styleExpert,
  validatePrompt,
  type ShapesMixture,
  type ShapesWorld,
} from '../../src/toy/shapes/index.ts';
import { validateMixture } from '../../src/toy/gmm-mixture.ts';

const world = makeWorld();
const p1 = validatePrompt(world, { instances: [{ box: [6, 6, 10, 10], color: 'cyan' }], style: 'checker' });
const p2 = validatePrompt(world, {
  instances: [
    { box: [1, 2, 5, 6], color: 'red' },
    { box: [9, 9, 13, 13], color: 'white' },
  ],
  style: 'stripes',
});
const p3 = validatePrompt(world, {
  instances: [
    { box: [0, 0, 4, 4], color: 'green' },
    { box: [6, 6, 10, 10], color: 'yellow' },
    { box: [12, 12, 16, 16], color: 'magenta' },
  ],
});

/** Weights sum to 1, the mixture validates, and each mean is the render of its description. */
function checkConsistent(w: ShapesWorld, mix: ShapesMixture): void {
  expect(validateMixture(mix)).toBe(mix);
  let s = 0;
  for (const v of mix.weights) s += v;
  expect(Math.abs(s - 1)).toBeLessThan(1e-12);
  expect(mix.components.length).toBe(mix.weights.length);
  expect(mix.means.length).toBe(mix.weights.length * w.dim);
  expect([...mix.variances].every((v) => v === w.sigma0 * w.sigma0)).toBe(true);
  const img = new Float32Array(w.dim);
  let mismatches = 0;
  mix.components.forEach((c, k) => {
    fillBackground(w, c.style, img);
    for (const i of c.instances) paintSquare(w, i.x, i.y, w.palette[i.color], img);
    for (let d = 0; d < w.dim; d++) if (mix.means[k * w.dim + d] !== img[d]) mismatches++;
  });
  expect(mismatches).toBe(0);
}

describe('oracleExpert', () => {
  it('is one component equal to renderPrompt with variance σ₀²', () => {
    for (const p of [p1, p2, p3]) {
      const m = oracleExpert(world, p);
      expect(m.kind).toBe('isotropic');
      expect([...m.weights]).toEqual([1]);
      expect([...m.variances]).toEqual([0.0225]);
      expect(m.means).toEqual(renderPrompt(world, p));
      expect(m.enumerated).toBe(true);
    }
    expect(oracleExpert(world, p3).components[0].style).toBe('plain');
  });
});

describe('layoutExpert', () => {
  it('enumerates 7ⁿ·3 components with squares at the exact boxes', () => {
    const m1 = layoutExpert(world, p1);
    const m2 = layoutExpert(world, p2);
    expect(m1.weights.length).toBe(21);
    expect(m2.weights.length).toBe(147);
    for (const [m, p] of [
      [m1, p1],
      [m2, p2],
    ] as const) {
      checkConsistent(world, m);
      expect(m.enumerated).toBe(true);
      for (const c of m.components)
        c.instances.forEach((inst, i) =>
          expect([inst.x, inst.y]).toEqual([p.instances[i].box[0], p.instances[i].box[1]]),
        );
      for (let k = 0; k < m.weights.length; k++) {
        const r = evaluateImage(world, p, m.means.subarray(k * world.dim, (k + 1) * world.dim));
        expect(r.instances.every((i) => i.iou === 1)).toBe(true);
      }
    }
  });

  it('prefers the prompt colour 2:1 (marginal 2/8) and spreads the style uniformly', () => {
    const m = layoutExpert(world, p2);
    let pRed = 0;
    let pWhiteOnly = 0;
    const pStyle: Record<string, number> = {};
    m.components.forEach((c, k) => {
      if (c.instances[0].color === 'red') pRed += m.weights[k];
      if (c.instances[1].color === 'white' && c.instances[0].color !== 'red') pWhiteOnly += m.weights[k];
      pStyle[c.style] = (pStyle[c.style] ?? 0) + m.weights[k];
    });
    expect(pRed).toBeCloseTo(2 / 8, 12);
    expect(pWhiteOnly).toBeCloseTo((2 / 8) * (6 / 8), 12);
    for (const s of world.styles) expect(pStyle[s]).toBeCloseTo(1 / 3, 12);
    const both = m.components.findIndex(
      (c) => c.instances[0].color === 'red' && c.instances[1].color === 'white' && c.style === 'plain',
    );
    const one = m.components.findIndex(
      (c) => c.instances[0].color === 'blue' && c.instances[1].color === 'white' && c.style === 'plain',
    );
    expect(m.weights[both] / m.weights[one]).toBeCloseTo(2, 12);
    const m5 = layoutExpert(world, p1, { preference: 5 });
    const k = m5.components.findIndex((c) => c.instances[0].color === 'cyan');
    expect(m5.weights[k]).toBeCloseTo(5 / 11 / 3, 12);
  });

  it('samples maxComponents draws above the limit: deterministic, equal-weight multiples', () => {
    const m = layoutExpert(world, p3); // 7³·3 = 1029 > 512
    expect(m.enumerated).toBe(false);
    checkConsistent(world, m);
    for (const w of m.weights) expect(Math.abs(w * 512 - Math.round(w * 512))).toBeLessThan(1e-9);
    const keys = m.components.map((c) => JSON.stringify(c));
    expect(new Set(keys).size).toBe(keys.length); // repeats merged
    expect(layoutExpert(world, p3)).toEqual(m);
    expect(layoutExpert(world, p3, { seed: 1 }).components).not.toEqual(m.components);
    for (const c of m.components)
      c.instances.forEach((inst, i) =>
        expect([inst.x, inst.y]).toEqual([p3.instances[i].box[0], p3.instances[i].box[1]]),
      );
    expect(layoutExpert(world, p3, { maxComponents: 2000 }).weights.length).toBe(1029);
  });

  it('sampled colour frequencies match the factor distribution', () => {
    const small = makeWorld({ height: 8, width: 8, square: 2 });
    const p = validatePrompt(small, { instances: [0, 3, 6].map((x) => ({ box: [x, 0, x + 2, 2], color: 'red' })) });
    const N = 1000; // < 7³·3 = 1029 combinations, so sampled
    const m = layoutExpert(small, p, { maxComponents: N, seed: 5 });
    expect(m.enumerated).toBe(false);
    let pRed = 0;
    m.components.forEach((c, k) => {
      if (c.instances[1].color === 'red') pRed += m.weights[k];
    });
    expect(Math.abs(pRed - 0.25)).toBeLessThan(4 * Math.sqrt((0.25 * 0.75) / N));
  });
});

describe('attributeExpert', () => {
  it('keeps the exact colours and jitters positions uniformly within ±2 inside the image', () => {
    const m = attributeExpert(world, p1);
    expect(m.weights.length).toBe(25 * 3);
    checkConsistent(world, m);
    for (const w of m.weights) expect(w).toBeCloseTo(1 / 75, 14);
    for (const c of m.components) {
      expect(c.instances[0].color).toBe('cyan');
      expect(Math.abs(c.instances[0].x - 6)).toBeLessThanOrEqual(2);
      expect(Math.abs(c.instances[0].y - 6)).toBeLessThanOrEqual(2);
    }
    const corner = attributeExpert(world, p3, { maxComponents: 1e6 }); // corners: 3·3 offsets each, middle 5·5
    expect(corner.weights.length).toBe(9 * 25 * 9 * 3);
    for (const c of corner.components) {
      expect(c.instances.map((i) => i.color)).toEqual(['green', 'yellow', 'magenta']);
      for (const i of c.instances) {
        expect(i.x).toBeGreaterThanOrEqual(0);
        expect(i.x + 4).toBeLessThanOrEqual(16);
        expect(i.y).toBeGreaterThanOrEqual(0);
        expect(i.y + 4).toBeLessThanOrEqual(16);
      }
    }
  });

  it('sampled above maxComponents keeps colours exact', () => {
    const m = attributeExpert(world, p2); // 625·3 > 512
    expect(m.enumerated).toBe(false);
    checkConsistent(world, m);
    for (const c of m.components) expect(c.instances.map((i) => i.color)).toEqual(['red', 'white']);
    expect(attributeExpert(world, p1, { jitter: 0 }).weights.length).toBe(3);
  });
});

describe('styleExpert', () => {
  it('keeps the exact style, places squares within ±square, colours uniform', () => {
    const m = styleExpert(world, p1, { jitter: 1 });
    expect(m.weights.length).toBe(9 * 7);
    checkConsistent(world, m);
    for (const w of m.weights) expect(w).toBeCloseTo(1 / 63, 14);
    const big = styleExpert(world, p2);
    checkConsistent(world, big);
    for (const c of big.components) {
      expect(c.style).toBe('stripes');
      c.instances.forEach((inst, i) => {
        expect(Math.abs(inst.x - p2.instances[i].box[0])).toBeLessThanOrEqual(4);
        expect(Math.abs(inst.y - p2.instances[i].box[1])).toBeLessThanOrEqual(4);
      });
    }
    expect(new Set(big.components.map((c) => c.instances[0].color)).size).toBe(7);
    for (const c of styleExpert(world, p3).components) expect(c.style).toBe('plain'); // the default style
  });
});

describe('validation', () => {
  it('rejects bad options and prompts', () => {
    expect(() => layoutExpert(world, p1, { preference: 0 })).toThrow(
      /opts\.preference must be in \(0, Infinity\], got 0/,
    );
    expect(() => attributeExpert(world, p1, { jitter: -1 })).toThrow(
      /opts\.jitter must be an integer in \[0, 16\], got -1/,
    );
    expect(() => oracleExpert(world, p1, { maxComponents: 0 })).toThrow(
      /opts\.maxComponents must be an integer in \[1, 1000000\], got 0/,
    );
    expect(() => layoutExpert(world, { instances: [{ box: [0, 0, 4, 4], color: 'black' }] })).toThrow(
      /prompt\.instances\[0\]\.color must be one of/,
    );
  });

  it('expertFromFactors checks the factor distributions', () => {
    const styles = [{ value: 'plain', p: 1 }];
    const colors = [[{ value: 'red', p: 1 }]];
    expect(() =>
      expertFromFactors(world, { positions: [[{ value: { x: 0, y: 0 }, p: 0.5 }]], colors, styles }),
    ).toThrow(/factors\.positions\[0\] probabilities must sum to 1, got 0\.5/);
    expect(() => expertFromFactors(world, { positions: [[{ value: { x: 13, y: 0 }, p: 1 }]], colors, styles })).toThrow(
      /factors\.positions\[0\]\[0\]\.value must be a corner \{ x, y \} with the square inside the 16×16 image/,
    );
    expect(() =>
      expertFromFactors(world, {
        positions: [[{ value: { x: 0, y: 0 }, p: 1 }]],
        colors,
        styles: [{ value: 'grey', p: 1 }],
      }),
    ).toThrow(/factors\.styles\[0\]\.value must be one of plain, stripes, checker, got "grey"/);
    // zero-probability choices are dropped
    const m = expertFromFactors(world, {
      positions: [
        [
          { value: { x: 0, y: 0 }, p: 1 },
          { value: { x: 1, y: 0 }, p: 0 },
        ],
      ],
      colors,
      styles,
    });
    expect(m.weights.length).toBe(1);
  });
});
