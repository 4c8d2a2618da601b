/**
 * The zoo methods' settings beyond the paper: where, when and how much the other models are
 * merged, written after the `@` of an aggregated zoo method beside rule, w, s, eta, deviation and
 * scale (zoo-methods.ts), e.g. `interact+migc@rule=slerp,w=0.9,s=45,eta=0,map=boxes,feather=1`:
 *
 * - `start=<i>`: every other model is merged on steps [i, s) instead of [0, s) (the sampler's
 *   `windows`; a model whose window starts late joins the target's sample there);
 * - `sched=linear|cosine` with `wend=<w′>`: the weight over that window is a ramp from w to w′
 *   (a `WeightSchedule`, core/sampler-types.ts);
 * - `map=boxes`: each other model only inside the prompt's instance boxes, the target elsewhere
 *   (a spatial weight map, core/spatial.ts: w·m per latent cell, slerp's angle measured inside
 *   the map); `map=boxes-dots`: the same, but the latent cells of the "looking at" dots are left
 *   to the target too (where the world draws a dot for a subject box and an object box,
 *   src/toy/minimig/render.ts — a rule of this world, which a model conditioned on the two boxes
 *   and the action learns);
 * - `feather=<cells>`: the map's feathered edge, in latent cells (0 … 4; default 0);
 * - `mapdev=1`: the deviation step restricted to the map (`spatialDeviation`).
 *
 * Parsing is per key (`applyBeyondSetting`, errors name the key and what is allowed) and across
 * keys (`checkBeyond`); `beyondRunOptions` turns the settings and a prompt's scene into the
 * pipeline's run options. No command-line module is imported here: the playground reads it too.
 */
import type { WeightSchedule } from '../../core/sampler-types.ts';
import { boxWeightMap, type SpatialSpec } from '../../core/spatial.ts';
import { dotMask } from '../../toy/minimig/render.ts';
import { IMAGE_SIZE, boxXyxy, type Scene } from '../../toy/minimig/world.ts';

/** The keys this module reads after an `@`. */
export const BEYOND_KEYS = Object.freeze(['start', 'sched', 'wend', 'map', 'feather', 'mapdev'] as const);

export const ZOO_MAP_KINDS = Object.freeze(['boxes', 'boxes-dots'] as const);
export type ZooMapKind = (typeof ZOO_MAP_KINDS)[number];

/** Largest feather, in latent cells (the zoo's latents are 8×8). */
export const MAX_FEATHER = 4;

/** The zoo's latent side (32×32 images, a VAE that downsamples by 4): the maps are 8×8. */
export const ZOO_LATENT_SIDE = 8;

export interface BeyondOptions {
  /** First merged step of every other model (its window is [start, s)). */
  start?: number;
  /** The weight's ramp over the window, from w to `wEnd`. */
  schedule?: 'linear' | 'cosine';
  wEnd?: number;
  /** Where the other models are merged (unset: everywhere). */
  map?: ZooMapKind;
  /** The map's feathered edge in latent cells. */
  feather?: number;
  /** The deviation step restricted to the map. */
  mapDeviation?: boolean;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Applies `key=value` of method `name` to `b` when `key` is one of {@link BEYOND_KEYS}; returns
 * false for any other key (the caller's). Bad values throw a RangeError naming the key.
 */
export function applyBeyondSetting(b: Mutable<BeyondOptions>, k: string, v: string | undefined, name: string): boolean {
  const fail = (what: string) => new RangeError(`--methods: '${name}': ${k} must be ${what}, got '${v}'`);
  const num = (lo: number, hi: number, integer: boolean) => {
    const x = Number(v);
    if (
      v === undefined ||
      v.trim() === '' ||
      !Number.isFinite(x) ||
      x < lo ||
      x > hi ||
      (integer && !Number.isInteger(x))
    )
      throw fail(`${integer ? 'an integer' : 'a number'} in [${lo}, ${hi}]`);
    return x;
  };
  switch (k) {
    case 'start':
      b.start = num(0, 1000, true);
      return true;
    case 'sched':
      if (v !== 'linear' && v !== 'cosine') throw fail('linear or cosine (a ramp from w to wend over the window)');
      b.schedule = v;
      return true;
    case 'wend':
      b.wEnd = num(0, 1, false);
      return true;
    case 'map':
      if (!(ZOO_MAP_KINDS as readonly string[]).includes(v ?? ''))
        throw fail(`one of ${ZOO_MAP_KINDS.join(', ')} (the other models inside the prompt's instance boxes)`);
      b.map = v as ZooMapKind;
      return true;
    case 'feather':
      b.feather = num(0, MAX_FEATHER, false);
      return true;
    case 'mapdev':
      if (v !== '0' && v !== '1') throw fail('0 or 1');
      b.mapDeviation = v === '1';
      return true;
    default:
      return false;
  }
}

/** The checks across keys: a ramp needs both ends, a feather and mapdev need a map, start ≤ s when s is given. */
export function checkBeyond(b: BeyondOptions, name: string, s?: number): void {
  const fail = (what: string) => new RangeError(`--methods: '${name}': ${what}`);
  if ((b.schedule === undefined) !== (b.wEnd === undefined))
    throw fail('sched and wend go together (a ramp from w to wend over the window)');
  if (b.map === undefined && b.feather !== undefined) throw fail('feather needs map=boxes or map=boxes-dots');
  if (b.map === undefined && b.mapDeviation !== undefined) throw fail('mapdev needs map=boxes or map=boxes-dots');
  if (b.start !== undefined && s !== undefined && b.start > s)
    throw fail(`start must be ≤ s (the window is [start, s)), got start=${b.start} with s=${s}`);
}

/** The run options of `b` for one prompt (run options of sd/pipeline.ts, or a generate job's). */
export interface BeyondRunOptions {
  windows?: [number, number][];
  weights?: WeightSchedule[];
  spatial?: SpatialSpec[];
  spatialDeviation?: boolean;
}

/**
 * The pipeline's options for settings `b` on `scene`, for a run whose other models merge on
 * steps [0, `s`) with weights `weights` (one per other model): their windows [start, s), their
 * ramps from w to wend, and their maps from the scene's instance boxes. Throws when start > s.
 */
export function beyondRunOptions(
  b: BeyondOptions,
  o: { scene: Scene; s: number; weights: readonly number[] },
): BeyondRunOptions {
  const out: BeyondRunOptions = {};
  const others = o.weights.length;
  if (b.start !== undefined) {
    if (b.start > o.s)
      throw new RangeError(`start must be ≤ s (the window is [start, s)), got start=${b.start} with s=${o.s}`);
    out.windows = o.weights.map(() => [b.start!, o.s]);
  }
  if (b.schedule !== undefined) out.weights = o.weights.map((w) => ({ kind: b.schedule!, from: w, to: b.wEnd! }));
  if (b.map !== undefined) {
    const spec = zooMapSpec(o.scene, b.map, b.feather ?? 0);
    out.spatial = Array.from({ length: others }, () => spec);
    if (b.mapDeviation) out.spatialDeviation = true;
  }
  return out;
}

/**
 * The map of `kind` for `scene`: its instance boxes with a feathered edge (boxes), and with the
 * latent cells under each "looking at" dot set to 0 (boxes-dots).
 */
export function zooMapSpec(scene: Scene, kind: ZooMapKind, feather: number): SpatialSpec {
  const boxes = scene.instances.map((i) => boxXyxy(i.box));
  if (kind === 'boxes') return { boxes, feather };
  const side = ZOO_LATENT_SIDE;
  const map = Array.from(boxWeightMap({ height: side, width: side, boxes, feather }));
  const cell = IMAGE_SIZE / side;
  for (const r of scene.relations) {
    if (r.action !== 'looking at') continue;
    for (const q of dotMask(scene.instances[r.subject], scene.instances[r.object].box)) {
      const y = Math.floor(q / IMAGE_SIZE / cell),
        x = Math.floor((q % IMAGE_SIZE) / cell);
      map[y * side + x] = 0;
    }
  }
  return { map };
}
