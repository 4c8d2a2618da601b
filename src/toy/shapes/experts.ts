/**
 * Shapes experts as Gaussian mixtures (EXPERIMENTS.md, "The Shapes world"). Each expert reads
 * the same prompt with different strengths, as InteractDiffusion, MIGC and IP-Adapter do in the
 * paper. Its data distribution is a product of independent factors — for each instance a
 * position and a colour, plus one background style — and each combination is one component
 *   N(render(combination), σ₀² I)  with weight  π = Π (factor probabilities).
 *
 * Enumeration vs sampling: when the number of combinations is ≤ maxComponents (default 512)
 * every combination is a component with its exact product weight. Otherwise maxComponents
 * combinations are drawn i.i.d. from the factor distribution (seeded); identical draws are
 * merged, so a combination drawn m times has weight m / maxComponents. The result is then an
 * unbiased Monte-Carlo stand-in for the expert's distribution, and the ε-model built from it
 * (mixtureDenoiser) is still the exact denoiser of that sampled mixture.
 *
 * Squares are painted in prompt order, so where two jittered squares of one component overlap
 * the later one is on top. Jittered squares always stay inside the image.
 */
import { checkInt, checkNumber, describe } from '../../core/validate.ts';
import { gaussianRng } from '../../core/rng.ts';
import type { GaussianMixture } from '../mixture.ts';
import { effectiveStyle, validatePrompt, type ShapesPrompt, type UniformSource } from './prompts.ts';
import { checkWorld, fillBackground, paintSquare, type ShapesWorld } from './world.ts';

/** One value of a factor with its probability. */
export interface Choice<T> {
  readonly value: T;
  readonly p: number;
}

/** Top-left corner of a square. */
export interface Position {
  readonly x: number;
  readonly y: number;
}

/** The independent factors of an expert's distribution. */
export interface ExpertFactors {
  /** For each instance, its distribution over top-left corners. */
  readonly positions: readonly (readonly Choice<Position>[])[];
  /** For each instance, its distribution over palette colours. */
  readonly colors: readonly (readonly Choice<string>[])[];
  /** The distribution over background styles. */
  readonly styles: readonly Choice<string>[];
}

/** What one mixture component shows. */
export interface ShapesComponent {
  readonly instances: readonly { readonly x: number; readonly y: number; readonly color: string }[];
  readonly style: string;
}

/** An isotropic GaussianMixture over Shapes images, with a description of every component. */
export type ShapesMixture = Extract<GaussianMixture, { kind: 'isotropic' }> & {
  readonly components: readonly ShapesComponent[];
  /** True when every combination is a component (exact weights); false when sampled. */
  readonly enumerated: boolean;
};

export interface ExpertOptions {
  /** Most components before switching to i.i.d. sampling (default 512). */
  maxComponents?: number;
  /** Seed of the sampler used above maxComponents (default 0). */
  seed?: number;
}

export interface LayoutExpertOptions extends ExpertOptions {
  /** Weight of the prompt's colour relative to each other palette colour (default 2, i.e. 2:1). */
  preference?: number;
}

export interface JitterExpertOptions extends ExpertOptions {
  /** Largest offset in pixels of a square from its box, per axis (attribute: 2, style: world.square). */
  jitter?: number;
}

/**
 * Layout expert (InteractDiffusion/MIGC analog for position): squares at the exact boxes;
 * each colour drawn from the whole palette with weight `preference` for the prompt's colour
 * and 1 for the others; background uniform over the world's styles.
 */
export function layoutExpert(world: ShapesWorld, prompt: ShapesPrompt, opts: LayoutExpertOptions = {}): ShapesMixture {
  const p = checkArgs(world, prompt, opts);
  const pref = checkNumber('opts.preference', opts.preference ?? 2, 0, Infinity, { minExclusive: true });
  if (!Number.isFinite(pref))
    throw new RangeError(`opts.preference must be a finite number in (0, Infinity), got ${pref}`);
  return expertFromFactors(
    world,
    {
      positions: p.instances.map((i) => [{ value: { x: i.box[0], y: i.box[1] }, p: 1 }]),
      colors: p.instances.map((i) => normalize(world.colors.map((c) => ({ value: c, p: c === i.color ? pref : 1 })))),
      styles: uniform(world.styles),
    },
    opts,
  );
}

/**
 * Attribute expert (MIGC analog for colour): exact colours; each square's corner uniform over
 * offsets (dx, dy) ∈ [−jitter, jitter]² from its box that keep it inside the image (default
 * jitter 2); background uniform over the world's styles.
 */
export function attributeExpert(
  world: ShapesWorld,
  prompt: ShapesPrompt,
  opts: JitterExpertOptions = {},
): ShapesMixture {
  const p = checkArgs(world, prompt, opts);
  const jitter = checkInt('opts.jitter', opts.jitter ?? 2, 0, Math.max(world.width, world.height));
  return expertFromFactors(
    world,
    {
      positions: p.instances.map((i) => jittered(world, i.box[0], i.box[1], jitter)),
      colors: p.instances.map((i) => [{ value: i.color, p: 1 }]),
      styles: uniform(world.styles),
    },
    opts,
  );
}

/**
 * Style expert (IP-Adapter analog): the exact background style (the world's default when the
 * prompt names none); squares loosely placed (offsets uniform in [−jitter, jitter]², default
 * jitter = world.square) with colours uniform over the palette.
 */
export function styleExpert(world: ShapesWorld, prompt: ShapesPrompt, opts: JitterExpertOptions = {}): ShapesMixture {
  const p = checkArgs(world, prompt, opts);
  const jitter = checkInt('opts.jitter', opts.jitter ?? world.square, 0, Math.max(world.width, world.height));
  return expertFromFactors(
    world,
    {
      positions: p.instances.map((i) => jittered(world, i.box[0], i.box[1], jitter)),
      colors: p.instances.map(() => uniform(world.colors)),
      styles: [{ value: effectiveStyle(world, p), p: 1 }],
    },
    opts,
  );
}

/** Oracle: the exact joint, one component N(renderPrompt(prompt), σ₀² I). */
export function oracleExpert(world: ShapesWorld, prompt: ShapesPrompt, opts: ExpertOptions = {}): ShapesMixture {
  const p = checkArgs(world, prompt, opts);
  return expertFromFactors(
    world,
    {
      positions: p.instances.map((i) => [{ value: { x: i.box[0], y: i.box[1] }, p: 1 }]),
      colors: p.instances.map((i) => [{ value: i.color, p: 1 }]),
      styles: [{ value: effectiveStyle(world, p), p: 1 }],
    },
    opts,
  );
}

/** The experts by name, for scripts that pick them from a list. */
export const EXPERTS = Object.freeze({
  layout: layoutExpert,
  attribute: attributeExpert,
  style: styleExpert,
  oracle: oracleExpert,
});
export type ExpertName = keyof typeof EXPERTS;

/**
 * The mixture of a product of independent factors (see the file comment): enumerated when the
 * number of combinations is ≤ opts.maxComponents, else sampled. Choices with p = 0 are dropped;
 * each factor's probabilities must sum to 1 (within 1e-9).
 */
export function expertFromFactors(world: ShapesWorld, factors: ExpertFactors, opts: ExpertOptions = {}): ShapesMixture {
  checkWorld(world);
  const maxComponents = checkInt('opts.maxComponents', opts.maxComponents ?? 512, 1, 1_000_000);
  const seed = checkInt('opts.seed', opts.seed ?? 0, 0);
  const lists = flattenFactors(world, factors);
  let total = 1;
  for (const l of lists) total *= l.length;

  const enumerated = total <= maxComponents;
  const { picks, weights } = enumerated
    ? allCombinations(lists, total)
    : sampledCombinations(lists, maxComponents, seed);

  const K = picks.length;
  const n = factors.positions.length;
  const means = new Float32Array(K * world.dim);
  const components: ShapesComponent[] = [];
  let wsum = 0;
  for (const w of weights) wsum += w;
  for (let k = 0; k < K; k++) {
    const idx = picks[k];
    const instances = [];
    for (let i = 0; i < n; i++) {
      const pos = lists[2 * i][idx[2 * i]].value as Position;
      const color = lists[2 * i + 1][idx[2 * i + 1]].value as string;
      instances.push(Object.freeze({ x: pos.x, y: pos.y, color }));
    }
    const style = lists[2 * n][idx[2 * n]].value as string;
    const img = means.subarray(k * world.dim, (k + 1) * world.dim);
    fillBackground(world, style, img);
    for (const inst of instances) paintSquare(world, inst.x, inst.y, world.palette[inst.color], img);
    components.push(Object.freeze({ instances: Object.freeze(instances), style }));
  }
  const w64 = new Float64Array(K);
  for (let k = 0; k < K; k++) w64[k] = weights[k] / wsum; // renormalize float rounding of the products
  const variances = new Float64Array(K).fill(world.sigma0 * world.sigma0);
  return Object.freeze({
    kind: 'isotropic' as const,
    dim: world.dim,
    weights: w64,
    means,
    variances,
    components: Object.freeze(components),
    enumerated,
  });
}

/** Every combination of the factors' choices (a mixed-radix counter), weighted by the product of their probabilities. */
function allCombinations(
  lists: readonly (readonly { p: number }[])[],
  total: number,
): { picks: Int32Array[]; weights: number[] } {
  const picks: Int32Array[] = [];
  const weights: number[] = [];
  const idx = new Int32Array(lists.length);
  for (let k = 0; k < total; k++) {
    let w = 1;
    for (let f = 0; f < lists.length; f++) w *= lists[f][idx[f]].p;
    picks.push(idx.slice());
    weights.push(w);
    for (let f = lists.length - 1; f >= 0; f--) {
      if (++idx[f] < lists[f].length) break;
      idx[f] = 0;
    }
  }
  return { picks, weights };
}

/** `count` combinations drawn from the factors (stream 1 of the seed); repeats add up their weight 1/count. */
function sampledCombinations(
  lists: Parameters<typeof drawIndex>[0][],
  count: number,
  seed: number,
): { picks: Int32Array[]; weights: number[] } {
  const picks: Int32Array[] = [];
  const weights: number[] = [];
  const rng: UniformSource = gaussianRng(seed, 1); // stream 1: apart from makePromptSet(seed)
  const seen = new Map<string, number>();
  for (let m = 0; m < count; m++) {
    const idx = new Int32Array(lists.length);
    for (let f = 0; f < lists.length; f++) idx[f] = drawIndex(lists[f], rng);
    const key = idx.join(',');
    const at = seen.get(key);
    if (at === undefined) {
      seen.set(key, picks.length);
      picks.push(idx);
      weights.push(1 / count);
    } else {
      weights[at] += 1 / count;
    }
  }
  return { picks, weights };
}

/** Top-left corners within ±jitter of (x, y) per axis that keep the square inside the image, uniform. */
export function jittered(world: ShapesWorld, x: number, y: number, jitter: number): Choice<Position>[] {
  const out: { value: Position; p: number }[] = [];
  for (let dy = -jitter; dy <= jitter; dy++) {
    for (let dx = -jitter; dx <= jitter; dx++) {
      const xx = x + dx;
      const yy = y + dy;
      if (xx >= 0 && yy >= 0 && xx + world.square <= world.width && yy + world.square <= world.height) {
        out.push({ value: { x: xx, y: yy }, p: 1 });
      }
    }
  }
  return normalize(out);
}

function checkArgs(world: ShapesWorld, prompt: ShapesPrompt, opts: unknown): ShapesPrompt {
  checkWorld(world);
  if (opts === null || typeof opts !== 'object') throw new TypeError(`opts must be an object, got ${describe(opts)}`);
  return validatePrompt(world, prompt);
}

function uniform<T>(values: readonly T[]): Choice<T>[] {
  return values.map((value) => ({ value, p: 1 / values.length }));
}

function normalize<T>(choices: { value: T; p: number }[]): Choice<T>[] {
  let s = 0;
  for (const c of choices) s += c.p;
  return choices.map((c) => ({ value: c.value, p: c.p / s }));
}

/** Factor lists in the order [pos₀, colour₀, pos₁, colour₁, …, style], validated, p = 0 dropped. */
function flattenFactors(world: ShapesWorld, factors: ExpertFactors): Choice<unknown>[][] {
  if (factors === null || typeof factors !== 'object') {
    throw new TypeError(`factors must be an object { positions, colors, styles }, got ${describe(factors)}`);
  }
  const { positions, colors, styles } = factors;
  if (!Array.isArray(positions) || !Array.isArray(colors) || positions.length !== colors.length) {
    throw new TypeError(`factors.positions and factors.colors must be arrays of equal length (one entry per instance)`);
  }
  if (positions.length < 1) throw new RangeError('factors.positions must describe at least 1 instance, got 0');
  const lists: Choice<unknown>[][] = [];
  const check = <T>(name: string, list: readonly Choice<T>[], ok: (v: T) => string | null): void => {
    if (!Array.isArray(list)) throw new TypeError(`${name} must be an array of { value, p }, got ${describe(list)}`);
    let s = 0;
    const kept: Choice<T>[] = [];
    list.forEach((c, i) => {
      checkNumber(`${name}[${i}].p`, c?.p, 0, 1);
      const bad = ok(c.value);
      if (bad) throw new RangeError(`${name}[${i}].value ${bad}`);
      s += c.p;
      if (c.p > 0) kept.push(c);
    });
    if (kept.length === 0 || Math.abs(s - 1) > 1e-9) {
      throw new RangeError(`${name} probabilities must sum to 1, got ${s}`);
    }
    lists.push(kept);
  };
  for (let i = 0; i < positions.length; i++) {
    check(`factors.positions[${i}]`, positions[i], (v: Position) =>
      v !== null &&
      typeof v === 'object' &&
      Number.isInteger(v.x) &&
      Number.isInteger(v.y) &&
      v.x >= 0 &&
      v.y >= 0 &&
      v.x + world.square <= world.width &&
      v.y + world.square <= world.height
        ? null
        : `must be a corner { x, y } with the square inside the ${world.width}×${world.height} image (0 ≤ x ≤ ${world.width - world.square}, 0 ≤ y ≤ ${world.height - world.square}), got ${JSON.stringify(v)}`,
    );
    check(`factors.colors[${i}]`, colors[i], (v: string) =>
      typeof v === 'string' && Object.hasOwn(world.palette, v)
        ? null
        : `must be one of ${world.colors.join(', ')}, got ${describe(v)}`,
    );
  }
  check('factors.styles', styles, (v: string) =>
    typeof v === 'string' && world.styles.includes(v)
      ? null
      : `must be one of ${world.styles.join(', ')}, got ${describe(v)}`,
  );
  return lists;
}

/** Index drawn from a categorical distribution by inversion of its cumulative sum. */
function drawIndex(list: readonly Choice<unknown>[], rng: UniformSource): number {
  const u = rng.uniform();
  let acc = 0;
  for (let i = 0; i < list.length; i++) {
    acc += list[i].p;
    if (u < acc) return i;
  }
  return list.length - 1;
}
