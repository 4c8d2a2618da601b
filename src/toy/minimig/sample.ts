/**
 * Seeded scene sampler of the MiniMIG world. All draws come from the core's xoshiro128**
 * generator (`gaussianRng(...).uniform()`), so a (seed, stream) pair gives the same scene in
 * every JavaScript engine. Training data uses stream = sample index, so a sample does not depend
 * on how many are drawn.
 */
import { gaussianRng, type GaussianRng } from '../../core/rng.ts';
import { checkInt, describe } from '../../core/validate.ts';
import {
  ACTIONS,
  BOX_GAP,
  COLOURS,
  IMAGE_SIZE,
  MAX_BOX,
  MAX_INSTANCES,
  MAX_RELATIONS,
  MIN_BOX,
  SHAPES,
  TEXTURE_PERIOD,
  TEXTURES,
  TINTS,
  boxGap,
  type Box,
  type Instance,
  type Relation,
  type Scene,
  type Style,
  type Texture,
} from './world.ts';

/** Uniform integer in [0, n). */
function pick(rng: GaussianRng, n: number): number {
  return Math.floor(rng.uniform() * n);
}

function shuffled<T>(rng: GaussianRng, items: readonly T[]): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = pick(rng, i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

export interface SceneOptions {
  /** Number of instances (the level), 1..4; default uniform over 1..4. */
  instances?: number;
  /** Number of relations, 0..min(3, instances − 1); default uniform over that range. */
  relations?: number;
}

/** Boxes that keep the world's gaps; redraws the whole set until one fits (always fits for n ≤ 4). */
function sampleBoxes(rng: GaussianRng, n: number): Box[] {
  for (;;) {
    const boxes: Box[] = [];
    for (let tries = 0; boxes.length < n && tries < 50; tries++) {
      const size = MIN_BOX + pick(rng, MAX_BOX - MIN_BOX + 1);
      const box = { x: pick(rng, IMAGE_SIZE - size + 1), y: pick(rng, IMAGE_SIZE - size + 1), size };
      if (boxes.every((b) => boxGap(b, box) >= BOX_GAP)) boxes.push(box);
    }
    if (boxes.length === n) return boxes;
  }
}

/** A phase for the texture: [0, 0] for plain, [row, 0] for stripes, [row, column] otherwise. */
export function samplePhase(rng: GaussianRng, texture: Texture): [number, number] {
  if (texture === 'plain') return [0, 0];
  const row = pick(rng, TEXTURE_PERIOD);
  return texture === 'stripes' ? [row, 0] : [row, pick(rng, TEXTURE_PERIOD)];
}

/**
 * Another phase of the same texture (uniform over the phases ≠ `style.phase`; plain has one
 * phase): the style reference of a scene.
 */
export function sampleReferencePhase(rng: GaussianRng, style: Style): [number, number] {
  if (style.texture === 'plain') return [0, 0];
  for (;;) {
    const p = samplePhase(rng, style.texture);
    if (p[0] !== style.phase[0] || p[1] !== style.phase[1]) return p;
  }
}

export function sampleStyle(rng: GaussianRng): Style {
  const texture = TEXTURES[pick(rng, TEXTURES.length)];
  const tint = TINTS[pick(rng, TINTS.length)];
  return { texture, tint, phase: samplePhase(rng, texture) };
}

function sampleRelations(rng: GaussianRng, n: number, count: number): Relation[] {
  const pairs: [number, number][] = [];
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) pairs.push([i, j]);
  const relations: Relation[] = [];
  const looking = new Set<number>();
  for (const [i, j] of shuffled(rng, pairs).slice(0, count)) {
    const [subject, object] = pick(rng, 2) === 0 ? [i, j] : [j, i];
    let action = ACTIONS[pick(rng, ACTIONS.length)];
    if (action === 'looking at' && looking.has(subject)) action = 'linked to';
    if (action === 'looking at') looking.add(subject);
    relations.push({ subject, object, action });
  }
  return relations;
}

/** One random scene drawn from `rng` (see SceneOptions for the defaults). */
export function sampleSceneFrom(rng: GaussianRng, opts: SceneOptions = {}): Scene {
  if (opts === null || typeof opts !== 'object') throw new TypeError(`opts must be an object, got ${describe(opts)}`);
  const n =
    opts.instances === undefined
      ? 1 + pick(rng, MAX_INSTANCES)
      : checkInt('opts.instances', opts.instances, 1, MAX_INSTANCES);
  const maxRel = Math.min(MAX_RELATIONS, n - 1);
  const nRel =
    opts.relations === undefined ? pick(rng, maxRel + 1) : checkInt('opts.relations', opts.relations, 0, maxRel);
  const colours = shuffled(rng, COLOURS).slice(0, n);
  const boxes = sampleBoxes(rng, n);
  const instances: Instance[] = boxes.map((box, i) => ({
    shape: SHAPES[pick(rng, SHAPES.length)],
    colour: colours[i],
    box,
  }));
  const relations = sampleRelations(rng, n, nRel);
  return { instances, relations, style: sampleStyle(rng) };
}

/** The scene of (seed, stream): `sampleSceneFrom(gaussianRng(seed, stream), opts)`. */
export function sampleScene(seed: number, stream = 0, opts: SceneOptions = {}): Scene {
  return sampleSceneFrom(gaussianRng(seed, stream), opts);
}
