import { describe, expect, it } from 'vitest';
import { fc, test as fcTest } from '@fast-check/vitest';
import {
  boxIoU,
  makePromptSet,
  makeWorld,
  parsePromptLabel,
  promptLabel,
  renderPrompt,
  samplePrompt,
  validatePrompt,
  type Box,
  type ShapesPrompt,
} from '../../src/toy/shapes/index.ts';
import { gaussianRng } from '../../src/core/rng.ts';

const world = makeWorld();
const px = (img: Float32Array, c: number, y: number, x: number): number => img[c * 256 + y * 16 + x];

describe('makeWorld', () => {
  it('has the documented defaults', () => {
    expect(world.dim).toBe(3 * 16 * 16);
    expect(world.square).toBe(4);
    expect(world.sigma0).toBe(0.15);
    expect(world.maxInstances).toBe(3);
    expect(world.colors).toEqual(['red', 'green', 'blue', 'yellow', 'cyan', 'magenta', 'white']);
    expect(world.styles).toEqual(['plain', 'stripes', 'checker']);
    expect(world.defaultStyle).toBe('plain');
    expect(world.backgroundLevels).toEqual([-1, -0.4]);
  });

  it('palette colours are at least 2 apart and every colour has a channel at +1', () => {
    for (const a of world.colors) {
      expect(Math.max(...world.palette[a])).toBe(1);
      for (const b of world.colors) {
        if (a === b) continue;
        const d = Math.hypot(...world.palette[a].map((v, c) => v - world.palette[b][c]));
        expect(d).toBeGreaterThanOrEqual(2);
      }
    }
  });

  it('accepts a custom size and subset of styles', () => {
    const w = makeWorld({ height: 8, width: 12, square: 3, styles: ['grey', 'columns'], maxInstances: 2 });
    expect(w.dim).toBe(3 * 8 * 12);
    expect(w.defaultStyle).toBe('grey');
    expect(w.backgroundLevels).toEqual([-1, -0.4]);
  });

  it('rejects bad configs with messages naming the field', () => {
    expect(() => makeWorld({ square: 17 })).toThrow(/config\.square must be an integer in \[1, 16\], got 17/);
    expect(() => makeWorld({ sigma0: 0 })).toThrow(/config\.sigma0 must be in \(0, Infinity\], got 0/);
    expect(() => makeWorld({ styles: ['plain', 'dots'] })).toThrow(
      /config\.styles\[1\] must be one of 'plain', 'stripes', 'columns', 'checker', 'grey', got "dots"/,
    );
    expect(() => makeWorld({ styles: ['plain', 'plain'] })).toThrow(/must not repeat a style/);
    expect(() => makeWorld({ palette: { red: [2, 0, 0] } })).toThrow(
      /config\.palette\.red\[0\] must be in \[-1, 1\], got 2/,
    );
    expect(() => makeWorld({ palette: { black: [-1, -1, -1] } })).toThrow(
      /config\.palette\.black must differ from the background level \[-1, -1, -1\]/,
    );
    expect(() => makeWorld({ palette: { a: [1, 0, 0], b: [1, 0, 0] } })).toThrow(/colours must be distinct/);
    expect(() => makeWorld({ defaultStyle: 'grey' })).toThrow(
      /config\.defaultStyle must be one of 'plain', 'stripes', 'checker', got "grey"/,
    );
  });
});

describe('validatePrompt', () => {
  const ok = {
    instances: [
      { box: [0, 0, 4, 4], color: 'red' },
      { box: [4, 0, 8, 4], color: 'blue' },
    ],
    style: 'stripes',
  };

  it('accepts a valid prompt (touching boxes do not overlap) and returns a frozen copy', () => {
    const p = validatePrompt(world, ok);
    expect(p).toEqual(ok);
    expect(Object.isFrozen(p)).toBe(true);
    expect(Object.isFrozen(p.instances[0].box)).toBe(true);
  });

  it('rejects bad prompts with clear messages', () => {
    const inst = (box: number[], color = 'red') => ({ box, color });
    expect(() => validatePrompt(world, { instances: [inst([13, 0, 17, 4])] })).toThrow(
      /prompt\.instances\[0\]\.box must lie inside the 16×16 image .*got \[13, 0, 17, 4\]/,
    );
    expect(() => validatePrompt(world, { instances: [inst([-1, 0, 3, 4])] })).toThrow(
      /must lie inside the 16×16 image/,
    );
    expect(() => validatePrompt(world, { instances: [inst([0, 0, 5, 4])] })).toThrow(
      /prompt\.instances\[0\]\.box must be 4×4 pixels \(the world's square size\), got 5×4/,
    );
    expect(() => validatePrompt(world, { instances: [inst([0, 0, 4, 4], 'black')] })).toThrow(
      /prompt\.instances\[0\]\.color must be one of 'red', 'green', 'blue', 'yellow', 'cyan', 'magenta', 'white', got "black"/,
    );
    expect(() => validatePrompt(world, { instances: [inst([0, 0, 4, 4])], style: 'dots' })).toThrow(
      /prompt\.style must be one of 'plain', 'stripes', 'checker' or omitted, got "dots"/,
    );
    const four = [0, 4, 8, 12].map((x) => inst([x, 0, x + 4, 4]));
    expect(() => validatePrompt(world, { instances: four })).toThrow(
      /prompt\.instances must hold 1 to 3 instances \(the world's maximum\), got 4/,
    );
    expect(() => validatePrompt(world, { instances: [] })).toThrow(/must hold 1 to 3 instances.*got 0/);
    expect(() => validatePrompt(world, { instances: [inst([0, 0, 4, 4]), inst([3, 3, 7, 7])] })).toThrow(
      /prompt\.instances\[0\]\.box and prompt\.instances\[1\]\.box must not overlap, got \[0, 0, 4, 4\] and \[3, 3, 7, 7\]/,
    );
    expect(() => validatePrompt(world, { instances: [inst([0.5, 0, 4.5, 4])] })).toThrow(TypeError);
    expect(() => validatePrompt(world, null)).toThrow(/prompt must be an object/);
  });
});

describe('boxIoU', () => {
  const b: Box = [4, 4, 8, 8];
  it('gives the exact IoU of known overlaps', () => {
    expect(boxIoU(b, b)).toBe(1);
    expect(boxIoU(b, [5, 4, 9, 8])).toBe(12 / 20); // 1 px shift: 0.6
    expect(boxIoU(b, [5, 5, 9, 9])).toBe(9 / 23);
    expect(boxIoU(b, [6, 4, 10, 8])).toBe(8 / 24);
    expect(boxIoU(b, [7, 7, 11, 11])).toBe(1 / 31);
    expect(boxIoU(b, [8, 4, 12, 8])).toBe(0); // touching
    expect(boxIoU(b, [12, 12, 16, 16])).toBe(0);
  });

  fcTest.prop([
    fc.integer({ min: 0, max: 12 }),
    fc.integer({ min: 0, max: 12 }),
    fc.integer({ min: 0, max: 12 }),
    fc.integer({ min: 0, max: 12 }),
  ])('is symmetric, in [0, 1], and 1 only for equal boxes', (x1, y1, x2, y2) => {
    const a: Box = [x1, y1, x1 + 4, y1 + 4];
    const c: Box = [x2, y2, x2 + 4, y2 + 4];
    const v = boxIoU(a, c);
    expect(v).toBe(boxIoU(c, a));
    expect(v).toBeGreaterThanOrEqual(0);
    expect(v).toBeLessThanOrEqual(1);
    expect(v === 1).toBe(x1 === x2 && y1 === y2);
  });
});

describe('prompt labels', () => {
  it('writes and parses the short text form', () => {
    const p = validatePrompt(world, {
      instances: [
        { box: [2, 3, 6, 7], color: 'red' },
        { box: [9, 9, 13, 13], color: 'blue' },
      ],
      style: 'stripes',
    });
    expect(promptLabel(p)).toBe('red@(2,3) blue@(9,9) | stripes');
    expect(parsePromptLabel(world, 'red@(2,3) blue@(9,9) | stripes')).toEqual(p);
    expect(promptLabel({ instances: [{ box: [0, 0, 4, 4], color: 'white' }] })).toBe('white@(0,0)');
    expect(() => parsePromptLabel(world, 'red(2,3)')).toThrow(
      /text instances must look like colour@\(x,y\), got "red\(2,3\)"/,
    );
    expect(() => parsePromptLabel(world, 'red@(14,3)')).toThrow(/text\.instances\[0\]\.box must lie inside/);
  });

  it('round-trips every prompt of a generated set', () => {
    for (const p of makePromptSet(world, { seed: 3, count: 60, withStyle: true })) {
      expect(parsePromptLabel(world, promptLabel(p))).toEqual(p);
    }
  });
});

describe('makePromptSet', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const a = makePromptSet(world, { seed: 7, count: 30 });
    expect(makePromptSet(world, { seed: 7, count: 30 })).toEqual(a);
    expect(makePromptSet(world, { seed: 8, count: 30 })).not.toEqual(a);
  });

  it('produces valid prompts balanced over levels 1–3, levels interleaved', () => {
    const set = makePromptSet(world, { seed: 1, count: 300 });
    const counts = [0, 0, 0, 0];
    set.forEach((p, k) => {
      expect(p.instances.length).toBe((k % 3) + 1);
      expect(p.style).toBeUndefined();
      expect(validatePrompt(world, p)).toEqual(p);
      counts[p.instances.length]++;
    });
    expect(counts).toEqual([0, 100, 100, 100]);
  });

  it('honours levels, withStyle and minGap', () => {
    const set = makePromptSet(world, { seed: 2, count: 90, levels: [3], withStyle: true, minGap: 2 });
    const styles = new Set<string>();
    for (const p of set) {
      expect(p.instances.length).toBe(3);
      styles.add(p.style!);
      for (let i = 0; i < 3; i++) {
        for (let j = i + 1; j < 3; j++) {
          const [a, b] = [p.instances[i].box, p.instances[j].box];
          const gapX = Math.max(a[0], b[0]) - Math.min(a[2], b[2]);
          const gapY = Math.max(a[1], b[1]) - Math.min(a[3], b[3]);
          expect(Math.max(gapX, gapY)).toBeGreaterThanOrEqual(2);
        }
      }
    }
    expect([...styles].sort()).toEqual(['checker', 'plain', 'stripes']);
  });

  it('rejects bad options', () => {
    expect(() => makePromptSet(world, { seed: -1, count: 3 })).toThrow(/opts\.seed must be an integer in \[0, /);
    expect(() => makePromptSet(world, { seed: 0, count: 0 })).toThrow(/opts\.count must be an integer in \[1, /);
    expect(() => makePromptSet(world, { seed: 0, count: 3, levels: [4] })).toThrow(
      /opts\.levels\[0\] must be an integer in \[1, 3\], got 4/,
    );
    const tiny = makeWorld({ height: 4, width: 8, maxInstances: 3 });
    expect(() => makePromptSet(tiny, { seed: 0, count: 1, levels: [3] })).toThrow(
      /could not place 3 non-overlapping 4×4 squares/,
    );
  });
});

describe('renderPrompt', () => {
  const prompt = (style?: string): ShapesPrompt =>
    validatePrompt(world, {
      instances: [
        { box: [2, 3, 6, 7], color: 'yellow' },
        { box: [10, 8, 14, 12], color: 'blue' },
      ],
      ...(style ? { style } : {}),
    });

  it('paints the squares over the background style', () => {
    const img = renderPrompt(world, prompt('plain'));
    expect(img.length).toBe(768);
    expect([0, 1, 2].map((c) => px(img, c, 3, 2))).toEqual([1, 1, -1]); // yellow corner
    expect([0, 1, 2].map((c) => px(img, c, 6, 5))).toEqual([1, 1, -1]); // last yellow pixel
    expect([0, 1, 2].map((c) => px(img, c, 7, 5))).toEqual([-1, -1, -1]); // just below: background
    expect([0, 1, 2].map((c) => px(img, c, 11, 13))).toEqual([-1, -1, 1]); // blue
    let painted = 0;
    for (let q = 0; q < 256; q++) if (img[q] !== -1 || img[256 + q] !== -1 || img[512 + q] !== -1) painted++;
    expect(painted).toBe(32);
  });

  it('draws each background style exactly', () => {
    const s = renderPrompt(world, prompt('stripes'));
    expect([0, 1, 2, 3].map((y) => px(s, 0, y, 15))).toEqual([-1, -0.4, -1, -0.4].map(Math.fround));
    const c = renderPrompt(world, prompt('checker'));
    expect([0, 1, 2, 3].map((x) => px(c, 1, 0, x + 12))).toEqual([-1, -1, -0.4, -0.4].map(Math.fround));
    expect([0, 1, 2, 3].map((y) => px(c, 2, y, 0))).toEqual([-1, -1, -0.4, -0.4].map(Math.fround));
    expect(renderPrompt(world, prompt())).toEqual(renderPrompt(world, prompt('plain'))); // default style
  });

  it('reuses out and validates it', () => {
    const out = new Float32Array(768);
    expect(renderPrompt(world, prompt(), out)).toBe(out);
    expect(() => renderPrompt(world, prompt(), new Float32Array(10))).toThrow(/out must have length 768/);
  });

  it('samplePrompt adds σ₀ noise around the render', () => {
    const clean = renderPrompt(world, prompt('checker'));
    const noisy = samplePrompt(world, prompt('checker'), gaussianRng(11));
    let s1 = 0;
    let s2 = 0;
    for (let i = 0; i < 768; i++) {
      const d = noisy[i] - clean[i];
      s1 += d;
      s2 += d * d;
    }
    expect(Math.abs(s1 / 768)).toBeLessThan((4 * 0.15) / Math.sqrt(768));
    expect(Math.sqrt(s2 / 768)).toBeCloseTo(0.15, 1);
    expect(samplePrompt(world, prompt(), gaussianRng(11))).toEqual(samplePrompt(world, prompt(), gaussianRng(11)));
  });
});
