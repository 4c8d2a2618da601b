/**
 * Shapes prompts, a miniature of COCO-MIG's: 1…maxInstances instances, each a box of the
 * world's square size and a palette colour, plus an optional background style. Levels are the
 * number of instances (COCO-MIG's L2…L6 count instances the same way).
 */
import { checkInt, describe } from '../../core/validate.ts';
import { gaussianRng } from '../../core/rng.ts';
import { checkWorld, type ShapesWorld } from './world.ts';

/** [x0, y0, x1, y1] in pixels; x1 and y1 are exclusive. */
export type Box = readonly [number, number, number, number];

export interface ShapesInstance {
  readonly box: Box;
  readonly color: string;
}

export interface ShapesPrompt {
  readonly instances: readonly ShapesInstance[];
  /** Background style; omitted means the world's default style (and no style to score). */
  readonly style?: string;
}

/** A source of uniform numbers in [0, 1), e.g. gaussianRng(seed). */
export interface UniformSource {
  uniform(): number;
}

/** Intersection over union of two boxes (areas in pixels; exclusive upper corners). */
export function boxIoU(a: Box, b: Box): number {
  const ix = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const iy = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = ix * iy;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union > 0 ? inter / union : 0;
}

/** True when the boxes share at least one pixel (touching edges do not overlap). */
export function boxesOverlap(a: Box, b: Box, gap = 0): boolean {
  return a[0] < b[2] + gap && b[0] < a[2] + gap && a[1] < b[3] + gap && b[1] < a[3] + gap;
}

/** The box of a world square with top-left corner (x, y). */
export function squareBox(world: ShapesWorld, x: number, y: number): Box {
  return [x, y, x + world.square, y + world.square];
}

/**
 * Validates a prompt against the world and returns a frozen copy. Errors name the offending
 * field: a box outside the image, a box that is not the world's square, an unknown colour or
 * style, too many or too few instances, overlapping boxes.
 */
// Over 60 lines: every field of a prompt checked in order, each error naming the field.
export function validatePrompt(world: ShapesWorld, prompt: unknown, name = 'prompt'): ShapesPrompt {
  checkWorld(world);
  if (prompt === null || typeof prompt !== 'object') {
    throw new TypeError(`${name} must be an object { instances, style? }, got ${describe(prompt)}`);
  }
  const p = prompt as { instances?: unknown; style?: unknown };
  if (!Array.isArray(p.instances)) {
    throw new TypeError(`${name}.instances must be an array of { box, color }, got ${describe(p.instances)}`);
  }
  const n = p.instances.length;
  if (n < 1 || n > world.maxInstances) {
    throw new RangeError(
      `${name}.instances must hold 1 to ${world.maxInstances} instances (the world's maximum), got ${n}`,
    );
  }
  const { width: W, height: H, square: S } = world;
  const instances: ShapesInstance[] = [];
  p.instances.forEach((inst: unknown, i: number) => {
    const at = `${name}.instances[${i}]`;
    if (inst === null || typeof inst !== 'object')
      throw new TypeError(`${at} must be an object { box, color }, got ${describe(inst)}`);
    const { box, color } = inst as { box?: unknown; color?: unknown };
    if (!Array.isArray(box) || box.length !== 4) {
      throw new TypeError(
        `${at}.box must be [x0, y0, x1, y1] (4 integers, pixels, x1/y1 exclusive), got ${describe(box)}`,
      );
    }
    box.forEach((v: unknown, k: number) => checkInt(`${at}.box[${k}]`, v, -Number.MAX_SAFE_INTEGER));
    const [x0, y0, x1, y1] = box as number[];
    if (x1 - x0 !== S || y1 - y0 !== S) {
      throw new RangeError(
        `${at}.box must be ${S}×${S} pixels (the world's square size), got ${x1 - x0}×${y1 - y0} ([${box.join(', ')}])`,
      );
    }
    if (x0 < 0 || y0 < 0 || x1 > W || y1 > H) {
      throw new RangeError(
        `${at}.box must lie inside the ${W}×${H} image (0 ≤ x0, x1 ≤ ${W}, 0 ≤ y0, y1 ≤ ${H}), got [${box.join(', ')}]`,
      );
    }
    if (typeof color !== 'string' || !Object.hasOwn(world.palette, color)) {
      throw new RangeError(
        `${at}.color must be one of ${world.colors.map((c) => `'${c}'`).join(', ')}, got ${describe(color)}`,
      );
    }
    instances.push(Object.freeze({ box: Object.freeze([x0, y0, x1, y1]) as Box, color }));
  });
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (boxesOverlap(instances[i].box, instances[j].box)) {
        throw new RangeError(
          `${name}.instances[${i}].box and ${name}.instances[${j}].box must not overlap, got [${instances[i].box.join(', ')}] and [${instances[j].box.join(', ')}]`,
        );
      }
    }
  }
  if (p.style !== undefined && (typeof p.style !== 'string' || !world.styles.includes(p.style))) {
    throw new RangeError(
      `${name}.style must be one of ${world.styles.map((s) => `'${s}'`).join(', ')} or omitted, got ${describe(p.style)}`,
    );
  }
  const out: ShapesPrompt = p.style === undefined ? { instances } : { instances, style: p.style as string };
  Object.freeze(instances);
  return Object.freeze(out);
}

/** The style a prompt is rendered with: its own, or the world's default. */
export function effectiveStyle(world: ShapesWorld, prompt: ShapesPrompt): string {
  return prompt.style ?? world.defaultStyle;
}

/** Short text form for labels: "red@(2,3) blue@(9,9) | stripes" (top-left corners). */
export function promptLabel(prompt: ShapesPrompt): string {
  const parts = prompt.instances.map((i) => `${i.color}@(${i.box[0]},${i.box[1]})`).join(' ');
  return prompt.style === undefined ? parts : `${parts} | ${prompt.style}`;
}

/** Parses the text form written by promptLabel and validates the prompt against the world. */
export function parsePromptLabel(world: ShapesWorld, text: string): ShapesPrompt {
  if (typeof text !== 'string')
    throw new TypeError(`text must be a string like "red@(2,3) blue@(9,9) | stripes", got ${describe(text)}`);
  const [head, style, ...rest] = text.split('|').map((s) => s.trim());
  if (rest.length > 0) throw new RangeError(`text must contain at most one '|', got ${JSON.stringify(text)}`);
  const tokens = head.split(/\s+/).filter((s) => s.length > 0);
  const instances = tokens.map((tok) => {
    const m = /^([A-Za-z][\w-]*)@\((-?\d+),(-?\d+)\)$/.exec(tok);
    if (!m) throw new RangeError(`text instances must look like colour@(x,y), got ${JSON.stringify(tok)}`);
    const x = Number(m[2]);
    const y = Number(m[3]);
    return { box: [x, y, x + world.square, y + world.square], color: m[1] };
  });
  return validatePrompt(world, style === undefined ? { instances } : { instances, style }, 'text');
}

export interface PromptSetOptions {
  /** Seed of the generator (integer ≥ 0). */
  seed: number;
  /** Number of prompts (integer ≥ 1). */
  count: number;
  /** Instance counts to use, cycled in order so the set is balanced (default 1…maxInstances). */
  levels?: readonly number[];
  /** Give every prompt a background style drawn uniformly from the world's styles (default false). */
  withStyle?: boolean;
  /** Minimum empty pixels between two boxes (default 0: boxes may touch, never overlap). */
  minGap?: number;
}

/**
 * A seeded set of valid prompts. Prompt k has levels[k mod L] instances (levels interleaved,
 * as in COCO-MIG); positions are uniform over the image, redrawn until no two boxes overlap;
 * colours are uniform over the palette (repeats allowed); the style, when asked for, is
 * uniform over the world's styles. The same seed gives the same set.
 */
export function makePromptSet(world: ShapesWorld, opts: PromptSetOptions): ShapesPrompt[] {
  checkWorld(world);
  if (opts === null || typeof opts !== 'object')
    throw new TypeError(`opts must be an object { seed, count, levels?, withStyle?, minGap? }, got ${describe(opts)}`);
  const seed = checkInt('opts.seed', opts.seed, 0);
  const count = checkInt('opts.count', opts.count, 1, 10_000_000);
  const levels = opts.levels ?? Array.from({ length: world.maxInstances }, (_, i) => i + 1);
  if (!Array.isArray(levels) || levels.length < 1) {
    throw new RangeError(
      `opts.levels must be a non-empty array of integers in [1, ${world.maxInstances}], got ${describe(levels)}`,
    );
  }
  levels.forEach((l, i) => checkInt(`opts.levels[${i}]`, l, 1, world.maxInstances));
  if (opts.withStyle !== undefined && typeof opts.withStyle !== 'boolean') {
    throw new TypeError(`opts.withStyle must be a boolean, got ${describe(opts.withStyle)}`);
  }
  const minGap = checkInt('opts.minGap', opts.minGap ?? 0, 0, Math.max(world.width, world.height));
  const rng = gaussianRng(seed);
  const out: ShapesPrompt[] = [];
  for (let k = 0; k < count; k++) {
    const n = levels[k % levels.length];
    const boxes = placeBoxes(world, n, minGap, rng);
    const instances = boxes.map((box) => ({ box, color: world.colors[randInt(rng, world.colors.length)] }));
    const prompt = opts.withStyle
      ? { instances, style: world.styles[randInt(rng, world.styles.length)] }
      : { instances };
    out.push(validatePrompt(world, prompt, `prompt ${k}`));
  }
  return out;
}

/** An integer uniform in [0, n). */
export function randInt(rng: UniformSource, n: number): number {
  const k = Math.floor(rng.uniform() * n);
  return k < n ? k : n - 1;
}

/** Draws n pairwise non-overlapping square boxes (rejection sampling with restarts). */
function placeBoxes(world: ShapesWorld, n: number, gap: number, rng: UniformSource): Box[] {
  const nx = world.width - world.square + 1;
  const ny = world.height - world.square + 1;
  for (let restart = 0; restart < 1000; restart++) {
    const boxes: Box[] = [];
    for (let tries = 0; boxes.length < n && tries < 200; tries++) {
      const b = squareBox(world, randInt(rng, nx), randInt(rng, ny));
      if (boxes.every((o) => !boxesOverlap(o, b, gap))) boxes.push(b);
    }
    if (boxes.length === n) return boxes;
  }
  throw new RangeError(
    `opts.levels: could not place ${n} non-overlapping ${world.square}×${world.square} squares (minGap ${gap}) in a ${world.width}×${world.height} image`,
  );
}
