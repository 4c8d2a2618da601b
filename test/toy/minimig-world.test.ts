import { describe, expect, it } from 'vitest';
import { gaussianRng } from '../../src/core/rng.ts';
import { MINIMIG_GOLDEN_HASH, minimigGoldenHash } from './minimig-golden.ts';
import {
  BOX_GAP,
  COLOURS,
  IMAGE_SIZE,
  PALETTE,
  boxGap,
  boxXyxy,
  bytesToUnit,
  caption,
  dotPixel,
  insideShape,
  instancePhrase,
  renderScene,
  renderStyle,
  sampleReferencePhase,
  sampleScene,
  sampleSceneFrom,
  textureAt,
  tintLevels,
  validateScene,
  worldWords,
  type Scene,
} from '../../src/toy/minimig/index.ts';

const P = IMAGE_SIZE * IMAGE_SIZE;
const rgbAt = (img: Uint8Array, y: number, x: number) => [
  img[y * 32 + x],
  img[P + y * 32 + x],
  img[2 * P + y * 32 + x],
];

/** Red square at (2,2) size 8, blue circle at (20,2) size 10, green triangle at (4,20) size 10. */
const SCENE: Scene = {
  instances: [
    { shape: 'square', colour: 'red', box: { x: 2, y: 2, size: 8 } },
    { shape: 'circle', colour: 'blue', box: { x: 20, y: 2, size: 10 } },
    { shape: 'triangle', colour: 'green', box: { x: 4, y: 20, size: 10 } },
  ],
  relations: [
    { subject: 0, object: 1, action: 'linked to' },
    { subject: 2, object: 0, action: 'looking at' },
  ],
  style: { texture: 'stripes', tint: 'blue', phase: [1, 0] },
};

describe('MiniMIG scenes', () => {
  it('the sampler is a function of (seed, stream) and obeys every world rule', () => {
    expect(sampleScene(7, 3)).toEqual(sampleScene(7, 3));
    expect(sampleScene(7, 3)).not.toEqual(sampleScene(7, 4));
    const levels = [0, 0, 0, 0];
    let relations = 0;
    for (let i = 0; i < 800; i++) {
      const s = sampleScene(11, i);
      validateScene(s);
      levels[s.instances.length - 1]++;
      relations += s.relations.length;
      for (let a = 0; a < s.instances.length; a++) {
        for (let b = a + 1; b < s.instances.length; b++)
          expect(boxGap(s.instances[a].box, s.instances[b].box)).toBeGreaterThanOrEqual(BOX_GAP);
      }
    }
    for (const n of levels) expect(n).toBeGreaterThan(150); // uniform over 1..4: 200 each
    expect(relations).toBeGreaterThan(400); // E = (0 + 0.5 + 1 + 1.5) / 4 · 800 = 600
  });

  it('honours a fixed level and relation count', () => {
    const s = sampleScene(1, 0, { instances: 4, relations: 3 });
    expect(s.instances).toHaveLength(4);
    expect(s.relations).toHaveLength(3);
    expect(() => sampleScene(1, 0, { instances: 2, relations: 2 })).toThrow(
      /opts.relations must be an integer in \[0, 1\]/,
    );
    expect(() => sampleScene(1, 0, { instances: 5 })).toThrow(/opts.instances must be an integer in \[1, 4\]/);
  });

  it('a style reference has the same texture and tint at another phase', () => {
    for (let i = 0; i < 100; i++) {
      const rng = gaussianRng(5, i);
      const s = sampleSceneFrom(rng);
      const ref = sampleReferencePhase(rng, s.style);
      if (s.style.texture === 'plain') expect(ref).toEqual([0, 0]);
      else expect(ref).not.toEqual(s.style.phase);
      if (s.style.texture === 'stripes') expect(ref[1]).toBe(0);
    }
  });

  it('validateScene names the broken field', () => {
    const inst = SCENE.instances;
    expect(() => validateScene({ ...SCENE, instances: [inst[0], { ...inst[1], colour: 'red' }] })).toThrow(
      "scene.instances[1].colour must differ from the other instances' colours, got 'red' twice",
    );
    expect(() =>
      validateScene({ ...SCENE, instances: [inst[0], { ...inst[1], box: { x: 11, y: 2, size: 8 } }] }),
    ).toThrow('scene.instances[1].box must keep a gap of >= 3 px to instances[0].box, got 1');
    expect(() => validateScene({ ...SCENE, instances: [{ ...inst[0], box: { x: 25, y: 0, size: 8 } }] })).toThrow(
      'scene.instances[0].box.x must be an integer in [0, 24], got 25',
    );
    expect(() => validateScene({ ...SCENE, instances: [{ ...inst[0], shape: 'star' as 'square' }] })).toThrow(
      "scene.instances[0].shape must be one of 'square', 'circle', 'triangle', got \"star\"",
    );
    expect(() => validateScene({ ...SCENE, relations: [{ subject: 0, object: 0, action: 'linked to' }] })).toThrow(
      'scene.relations[0].object must differ from its subject, got 0 for both',
    );
    expect(() =>
      validateScene({ ...SCENE, relations: [SCENE.relations[0], { subject: 1, object: 0, action: 'looking at' }] }),
    ).toThrow('scene.relations[1] relates instances 0,1, which another relation already relates');
    expect(() => validateScene({ ...SCENE, style: { ...SCENE.style, phase: [0, 2] } })).toThrow(
      'scene.style.phase[1] must be an integer in [0, 0], got 2',
    );
  });
});

describe('MiniMIG renderer', () => {
  const img = renderScene(SCENE);
  const { low, high } = tintLevels('blue');

  it('tints have the documented levels and every background channel stays ≤ 130', () => {
    expect(high).toEqual([50, 80, 130]);
    expect(low).toEqual([23, 36, 59]);
    for (const t of ['grey', 'blue', 'brown'] as const)
      expect(Math.max(...tintLevels(t).high)).toBeLessThanOrEqual(130);
  });

  it('draws the background texture at its phase', () => {
    // stripes with phase 1: row y is high when (y + 1) mod 6 < 3, i.e. rows 0, 1, 5, 6, 7, 11, …
    expect(rgbAt(img, 0, 15)).toEqual([...high]);
    expect(rgbAt(img, 2, 15)).toEqual([...low]);
    expect(rgbAt(img, 5, 0)).toEqual([...high]);
    expect(textureAt('checker', [0, 0], 0, 0)).toBe(1);
    expect(textureAt('checker', [0, 0], 0, 3)).toBe(0);
    expect(textureAt('checker', [3, 3], 0, 0)).toBe(1);
    expect(textureAt('dots', [0, 0], 1, 1)).toBe(1);
    expect(textureAt('dots', [0, 0], 2, 1)).toBe(0);
  });

  it('fills a square box exactly and shapes by pixel centres', () => {
    let red = 0;
    for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) if (rgbAt(img, y, x).join() === PALETTE.red.join()) red++;
    expect(red).toBe(64);
    // circle in (20..29, 2..11): centre pixel in, box corner out
    expect(rgbAt(img, 7, 25)).toEqual([0, 0, 255]);
    expect(rgbAt(img, 2, 20)).not.toEqual([0, 0, 255]);
    const bare = renderScene(SCENE, { marks: false }); // the dot covers the apex
    // triangle in (4..13, 20..29), centre column 9, half width 5·(py − 20 + ½)/10 at pixel-centre
    // row py: row 20 (half width 0.5) holds columns 8 and 9, row 21 (1.0) too, row 22 (1.5) columns 7–10
    for (const [y, cols] of [
      [20, [8, 9]],
      [21, [8, 9]],
      [22, [7, 8, 9, 10]],
    ] as const) {
      for (let x = 4; x < 14; x++)
        expect(rgbAt(bare, y, x).join() === '0,255,0', `row ${y} column ${x}`).toBe(
          (cols as readonly number[]).includes(x),
        );
    }
    for (let x = 4; x < 14; x++) expect(rgbAt(bare, 29, x)).toEqual([0, 255, 0]);
  });

  it('draws "linked to" as a white line in the gap and "looking at" as a white dot in the subject', () => {
    // square centre (6, 6), circle centre (7, 25): the gap between columns 10 and 19 on rows 6–7 is white
    for (let x = 11; x < 19; x++) expect(rgbAt(img, 6, x)).toEqual([255, 255, 255]);
    const [dy, dx] = dotPixel(SCENE.instances[2].box, SCENE.instances[0].box);
    // triangle centre (25, 9) → square centre (6, 6), 2 px along: (25 − 19·2/19.24, 9 − 3·2/19.24) = (23.02, 8.69);
    // the row is raised to the box's lower half (≥ 20 + 5 − 1 = 24)
    expect([dy, dx]).toEqual([24, 8]);
    // the 5×5 square clipped to the pixels whose 3×3 neighbourhood is in the triangle
    const inTriangle = (y: number, x: number) => insideShape('triangle', SCENE.instances[2].box, y, x);
    for (let y = dy - 2; y <= dy + 2; y++) {
      for (let x = dx - 2; x <= dx + 2; x++) {
        let interior = true;
        for (let a = -1; a <= 1; a++) for (let b = -1; b <= 1; b++) interior &&= inTriangle(y + a, x + b);
        expect(rgbAt(img, y, x).join() === '255,255,255', `row ${y} column ${x}`).toBe(interior);
      }
    }
    expect(rgbAt(img, dy, dx)).toEqual([255, 255, 255]);
    const plain = renderScene(SCENE, { marks: false });
    expect(rgbAt(plain, 6, 14)).not.toEqual([255, 255, 255]);
    expect(rgbAt(plain, dy, dx)).toEqual([0, 255, 0]);
  });

  it('renderStyle is the scene without instances and marks, into a given buffer', () => {
    const out = new Uint8Array(3 * P);
    expect(renderStyle(SCENE.style, { out })).toBe(out);
    expect(rgbAt(out, 6, 14)).toEqual([...high]);
    expect(rgbAt(out, 3, 3)).toEqual([...low]);
    expect(() => renderStyle(SCENE.style, { out: new Uint8Array(10) })).toThrow(
      'opts.out must be a Uint8Array of length 3072',
    );
  });

  it('bytesToUnit maps 0 → −1 and 255 → 1; boxes are xyxy fractions', () => {
    expect([...bytesToUnit(Uint8Array.from([0, 255]))]).toEqual([-1, 1]);
    expect(boxXyxy({ x: 2, y: 4, size: 8 })).toEqual([2 / 32, 4 / 32, 10 / 32, 12 / 32]);
  });
});

describe('MiniMIG captions', () => {
  it('writes the four variants', () => {
    expect(caption(SCENE)).toBe(
      'a red square linked to a blue circle and a green triangle looking at a red square on blue stripes',
    );
    expect(caption(SCENE, 'nocolour')).toBe(
      'a square linked to a circle and a triangle looking at a square on blue stripes',
    );
    expect(caption(SCENE, 'noaction')).toBe('a red square and a blue circle and a green triangle on blue stripes');
    expect(caption(SCENE, 'nostyle')).toBe(
      'a red square linked to a blue circle and a green triangle looking at a red square',
    );
    const plain = { ...SCENE, relations: [], style: { texture: 'plain', tint: 'grey', phase: [0, 0] } } as Scene;
    expect(caption(plain)).toBe('a red square and a blue circle and a green triangle on plain grey');
    expect(() => caption(SCENE, 'short' as 'full')).toThrow(
      "variant must be one of 'full', 'nocolour', 'noaction', 'nostyle'",
    );
  });

  it('phrases with and without colour; every caption word is a world word', () => {
    expect(instancePhrase(SCENE.instances[1])).toBe('blue circle');
    expect(instancePhrase(SCENE.instances[1], { withColour: false })).toBe('circle');
    const words = new Set(worldWords());
    for (const c of COLOURS) expect(words.has(c)).toBe(true);
    for (let i = 0; i < 200; i++) {
      const s = sampleScene(3, i);
      for (const v of ['full', 'nocolour', 'noaction', 'nostyle'] as const)
        for (const w of caption(s, v).split(' ')) expect(words.has(w)).toBe(true);
    }
  });
});

describe('MiniMIG golden run', () => {
  it('scenes, renders and evaluations hash to the value Deno checks too', () => {
    expect(minimigGoldenHash()).toBe(MINIMIG_GOLDEN_HASH);
  });
});
