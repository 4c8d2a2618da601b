/**
 * The MiniMIG world: a miniature of COCO-MIG with interactions and style, at 3×32×32.
 *
 * A scene holds 1–4 instances (the level L1–L4), each a shape in a palette colour inside a square
 * box of side 8–14 px; boxes keep a gap of at least `BOX_GAP` px along x or y, and the colours of
 * one scene are distinct (so every instance is found by its colour alone). Relations are
 * subject–action–object triplets between two instances, each drawn as a mark the boxes alone do
 * not imply:
 * - "linked to": a white line (≈ 2 px wide) between the two box centres, drawn outside every box,
 *   so it shows in the gaps between the boxes;
 * - "looking at": a white dot inside the subject, a 5×5 square centred 3 px from its box edge towards
 *   the object, clipped to the shape's interior (see `dotPixel`).
 * The style is a background texture × tint; a texture has a phase (its offset), and a style
 * reference is a background-only render of the same texture and tint at another phase.
 *
 * Every value here is exact: the renderer draws integer RGB (0..255; x = u/127.5 − 1 in the
 * [−1, 1] convention of the models) and the evaluator checks against the same constants.
 * Backgrounds stay dark (every channel ≤ 130) and every palette colour has a channel at 255 and
 * the others at 0, so shapes, marks and backgrounds are told apart by colour.
 */
import { checkInt, checkOneOf, describe } from '../../core/validate.ts';

export type Rgb8 = readonly [number, number, number];

export const IMAGE_SIZE = 32;
export const CHANNELS = 3;
export const MAX_INSTANCES = 4;
/** Most relations of one scene (the `maxRelations` of the training file). */
export const MAX_RELATIONS = 3;
export const MIN_BOX = 8;
export const MAX_BOX = 14;
/** Smallest gap in pixels between two boxes, along x or along y. */
export const BOX_GAP = 3;
/** Period in pixels of every textured background; a phase is an offset in [0, PERIOD). */
export const TEXTURE_PERIOD = 6;

export const SHAPES = Object.freeze(['square', 'circle', 'triangle'] as const);
export type Shape = (typeof SHAPES)[number];

export const COLOURS = Object.freeze(['red', 'green', 'blue', 'yellow', 'cyan', 'magenta'] as const);
export type Colour = (typeof COLOURS)[number];
export const PALETTE: Readonly<Record<Colour, Rgb8>> = Object.freeze({
  red: [255, 0, 0],
  green: [0, 255, 0],
  blue: [0, 0, 255],
  yellow: [255, 255, 0],
  cyan: [0, 255, 255],
  magenta: [255, 0, 255],
});
/** Colour of every interaction mark. */
export const MARK_RGB: Rgb8 = Object.freeze([255, 255, 255]) as Rgb8;

export const ACTIONS = Object.freeze(['linked to', 'looking at'] as const);
export type Action = (typeof ACTIONS)[number];

export const TEXTURES = Object.freeze(['plain', 'stripes', 'checker', 'dots'] as const);
export type Texture = (typeof TEXTURES)[number];
/** Words a caption uses for each texture: "on blue stripes", "on plain grey". */
export const TEXTURE_WORDS: Readonly<Record<Texture, string>> = Object.freeze({
  plain: 'plain',
  stripes: 'stripes',
  checker: 'checks',
  dots: 'dots',
});

export const TINTS = Object.freeze(['grey', 'blue', 'brown'] as const);
export type Tint = (typeof TINTS)[number];
/** The high background level of each tint; the low level is round(LOW_LEVEL · high). */
export const TINT_HIGH: Readonly<Record<Tint, Rgb8>> = Object.freeze({
  grey: [120, 120, 120],
  blue: [50, 80, 130],
  brown: [130, 85, 40],
});
export const LOW_LEVEL = 0.45;

export interface Box {
  /** Left column and top row of the box (pixels, inclusive). */
  readonly x: number;
  readonly y: number;
  /** Side in pixels; the box covers columns x..x+size−1 and rows y..y+size−1. */
  readonly size: number;
}

export interface Instance {
  readonly shape: Shape;
  readonly colour: Colour;
  readonly box: Box;
}

export interface Relation {
  /** Indices into the scene's instances; subject ≠ object. */
  readonly subject: number;
  readonly object: number;
  readonly action: Action;
}

export interface Style {
  readonly texture: Texture;
  readonly tint: Tint;
  /** Texture offset [row, column], each in [0, TEXTURE_PERIOD); [0, 0] for plain, column 0 for stripes. */
  readonly phase: readonly [number, number];
}

export interface Scene {
  readonly instances: readonly Instance[];
  readonly relations: readonly Relation[];
  readonly style: Style;
}

/** Low and high background colour of a tint. */
export function tintLevels(tint: Tint): { low: Rgb8; high: Rgb8 } {
  const high = TINT_HIGH[tint];
  return {
    high,
    low: [Math.round(LOW_LEVEL * high[0]), Math.round(LOW_LEVEL * high[1]), Math.round(LOW_LEVEL * high[2])],
  };
}

/** 1 where the texture is at its high level at pixel (y, x), else 0. */
export function textureAt(texture: Texture, phase: readonly [number, number], y: number, x: number): 0 | 1 {
  const P = TEXTURE_PERIOD;
  const h = P / 2;
  const yy = (y + phase[0]) % P;
  const xx = (x + phase[1]) % P;
  switch (texture) {
    case 'plain':
      return 1;
    case 'stripes':
      return yy < h ? 1 : 0;
    case 'checker':
      return (Math.floor((y + phase[0]) / h) + Math.floor((x + phase[1]) / h)) % 2 === 0 ? 1 : 0;
    case 'dots':
      return yy < 2 && xx < 2 ? 1 : 0;
  }
}

/** Pixel gap between two boxes: the larger of the x and y gaps (negative when they overlap). */
export function boxGap(a: Box, b: Box): number {
  const gx = Math.max(a.x - (b.x + b.size), b.x - (a.x + a.size));
  const gy = Math.max(a.y - (b.y + b.size), b.y - (a.y + a.size));
  return Math.max(gx, gy);
}

/** Box centre in pixel coordinates (pixel q covers [q, q+1)). */
export function boxCentre(b: Box): [number, number] {
  return [b.y + b.size / 2, b.x + b.size / 2];
}

/** The box as xyxy fractions of the image side, the models' box convention. */
export function boxXyxy(b: Box): [number, number, number, number] {
  const S = IMAGE_SIZE;
  return [b.x / S, b.y / S, (b.x + b.size) / S, (b.y + b.size) / S];
}

/**
 * Throws a RangeError naming the first field that breaks the world's rules (counts, vocabulary,
 * box bounds and gaps, distinct colours, relation indices, one relation per pair, one "looking
 * at" per subject, phase range). Returns the scene.
 */
export function validateScene(scene: Scene, name = 'scene'): Scene {
  if (scene === null || typeof scene !== 'object')
    throw new TypeError(`${name} must be a scene object, got ${describe(scene)}`);
  const { instances, relations, style } = scene;
  if (!Array.isArray(instances) || instances.length < 1 || instances.length > MAX_INSTANCES) {
    throw new RangeError(
      `${name}.instances must be an array of 1..${MAX_INSTANCES} instances, got ${describe(instances)}`,
    );
  }
  const colours = new Set<string>();
  instances.forEach((inst, i) => {
    const p = `${name}.instances[${i}]`;
    checkOneOf(`${p}.shape`, inst?.shape, SHAPES);
    checkOneOf(`${p}.colour`, inst.colour, COLOURS);
    if (colours.has(inst.colour))
      throw new RangeError(`${p}.colour must differ from the other instances' colours, got '${inst.colour}' twice`);
    colours.add(inst.colour);
    const b = inst.box;
    checkInt(`${p}.box.size`, b?.size, MIN_BOX, MAX_BOX);
    checkInt(`${p}.box.x`, b.x, 0, IMAGE_SIZE - b.size);
    checkInt(`${p}.box.y`, b.y, 0, IMAGE_SIZE - b.size);
    for (let j = 0; j < i; j++) {
      const g = boxGap(instances[j].box, b);
      if (g < BOX_GAP)
        throw new RangeError(`${p}.box must keep a gap of >= ${BOX_GAP} px to instances[${j}].box, got ${g}`);
    }
  });
  if (!Array.isArray(relations) || relations.length > MAX_RELATIONS) {
    throw new RangeError(
      `${name}.relations must be an array of at most ${MAX_RELATIONS} relations, got ${describe(relations)}`,
    );
  }
  const pairs = new Set<string>();
  const looking = new Set<number>();
  relations.forEach((r, k) => {
    const p = `${name}.relations[${k}]`;
    checkInt(`${p}.subject`, r?.subject, 0, instances.length - 1);
    checkInt(`${p}.object`, r.object, 0, instances.length - 1);
    if (r.subject === r.object)
      throw new RangeError(`${p}.object must differ from its subject, got ${r.object} for both`);
    checkOneOf(`${p}.action`, r.action, ACTIONS);
    const pair = `${Math.min(r.subject, r.object)},${Math.max(r.subject, r.object)}`;
    if (pairs.has(pair)) throw new RangeError(`${p} relates instances ${pair}, which another relation already relates`);
    pairs.add(pair);
    if (r.action === 'looking at') {
      if (looking.has(r.subject))
        throw new RangeError(`${p}: instance ${r.subject} is already the subject of another 'looking at'`);
      looking.add(r.subject);
    }
  });
  validateStyle(style, `${name}.style`);
  return scene;
}

export function validateStyle(style: Style, name = 'style'): Style {
  if (style === null || typeof style !== 'object')
    throw new TypeError(`${name} must be a style object, got ${describe(style)}`);
  const texture = checkOneOf(`${name}.texture`, style.texture, TEXTURES);
  checkOneOf(`${name}.tint`, style.tint, TINTS);
  const ph = style.phase;
  if (!Array.isArray(ph) || ph.length !== 2)
    throw new RangeError(`${name}.phase must be [row, column], got ${describe(ph)}`);
  const maxRow = texture === 'plain' ? 0 : TEXTURE_PERIOD - 1;
  const maxCol = texture === 'plain' || texture === 'stripes' ? 0 : TEXTURE_PERIOD - 1;
  checkInt(`${name}.phase[0]`, ph[0], 0, maxRow);
  checkInt(`${name}.phase[1]`, ph[1], 0, maxCol);
  return style;
}
