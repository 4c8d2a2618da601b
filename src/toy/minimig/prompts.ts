/**
 * Benchmark prompt sets of the MiniMIG world: per level L1–L4 (1–4 instances), every scene with
 * a style and, from L2 on, at least one interaction (L2: 1, L3: 1–2, L4: 1–3 relations), plus a
 * style reference (the same texture and tint at another phase) and a noise seed.
 *
 * Prompt (level L, index i) is drawn from `gaussianRng(seed, L · 1 000 000 + i)`, so a set's
 * first prompts do not depend on how many are asked for, and no stream collides with the
 * training set's (stream = sample index < 1 000 000 with its own seed).
 */
import { gaussianRng } from '../../core/rng.ts';
import { checkInt, describe } from '../../core/validate.ts';
import { sampleReferencePhase, sampleSceneFrom } from './sample.ts';
import { MAX_INSTANCES, MAX_RELATIONS, type Scene, type Style } from './world.ts';

const LEVEL_STREAM = 1_000_000;

export interface MiniMigPrompt {
  /** "L2-017": level and index within the level. */
  readonly id: string;
  readonly level: number;
  readonly scene: Scene;
  /** The style reference: the scene's texture and tint at another phase. */
  readonly reference: Style;
  /** Seed of the initial noise when the prompt is generated (the prompt's stream number). */
  readonly seed: number;
}

export interface PromptSetOptions {
  /** Prompts per level (default 50; 4 levels → 200). */
  perLevel?: number;
  /** Seed of the set (default 2024). */
  seed?: number;
  /** Levels to include, each in 1..4 (default [1, 2, 3, 4]). */
  levels?: readonly number[];
}

/** One prompt of level `level`, index `index` (see the module comment). */
export function minimigPrompt(level: number, index: number, seed = 2024): MiniMigPrompt {
  checkInt('level', level, 1, MAX_INSTANCES);
  checkInt('index', index, 0, LEVEL_STREAM - 1);
  const stream = level * LEVEL_STREAM + index;
  const rng = gaussianRng(seed, stream);
  const maxRel = Math.min(MAX_RELATIONS, level - 1);
  const relations = level === 1 ? 0 : 1 + Math.floor(rng.uniform() * maxRel);
  const scene = sampleSceneFrom(rng, { instances: level, relations });
  const reference = { ...scene.style, phase: sampleReferencePhase(rng, scene.style) };
  return { id: `L${level}-${String(index).padStart(3, '0')}`, level, scene, reference, seed: stream };
}

/** `perLevel` prompts for each level, level by level. */
export function minimigPromptSet(opts: PromptSetOptions = {}): MiniMigPrompt[] {
  if (opts === null || typeof opts !== 'object') throw new TypeError(`opts must be an object, got ${describe(opts)}`);
  const perLevel = checkInt('opts.perLevel', opts.perLevel ?? 50, 1, LEVEL_STREAM);
  const seed = checkInt('opts.seed', opts.seed ?? 2024, 0, Number.MAX_SAFE_INTEGER);
  const levels = opts.levels ?? [1, 2, 3, 4];
  if (!Array.isArray(levels) || levels.length === 0)
    throw new RangeError(`opts.levels must be a non-empty array of levels in 1..4, got ${describe(levels)}`);
  levels.forEach((l, i) => checkInt(`opts.levels[${i}]`, l, 1, MAX_INSTANCES));
  return levels.flatMap((l) => Array.from({ length: perLevel }, (_, i) => minimigPrompt(l, i, seed)));
}
