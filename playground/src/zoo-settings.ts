/**
 * The mini-zoo world's part of the settings: its models (folders of models/mini-zoo, served with
 * the page), its prompts (MiniMIG prompts by id), and the sampler defaults that keep one update
 * within a few seconds on a laptop CPU.
 */
import { caption, minimigPrompt, type MiniMigPrompt } from '../../src/toy/minimig/index.ts';

/** The zoo models the page offers (folder name → label); the base model is left out. */
export const ZOO_MODELS = Object.freeze({
  'interactdiffusion-mini': 'InteractDiffusion-mini',
  'migc-mini': 'MIGC-mini',
  'ipadapter-mini': 'IP-Adapter-mini',
} as const);
export type ZooModel = keyof typeof ZOO_MODELS;
export const ZOO_MODEL_NAMES = Object.keys(ZOO_MODELS) as ZooModel[];

/** What each model reads from the prompt (the zoo's README), for the page's help line. */
export const ZOO_MODEL_HELP =
  'InteractDiffusion-mini: boxes and interaction marks, colours from its caption (weaker with 3–4 instances) · MIGC-mini: colour and shape per box, no interactions · IP-Adapter-mini: the style reference’s background';

/** Levels offered: every MiniMIG prompt from L2 on has an interaction, which InteractDiffusion-mini needs. */
export const ZOO_LEVELS = [2, 3, 4] as const;
const PRESETS_PER_LEVEL = 4;
/** The prompts of the preset list: the first few of each level of the benchmark's set (seed 2024). */
export const ZOO_PRESET_IDS: readonly string[] = ZOO_LEVELS.flatMap((l) =>
  Array.from({ length: PRESETS_PER_LEVEL }, (_, i) => minimigPrompt(l, i).id),
);

/** Classifier-free guidance of every zoo run (the zoo's demo and benchmark use 5). */
export const ZOO_GUIDANCE = 5;
/** Samples per method at most: each one is a full ONNX run in the browser. */
export const ZOO_MAX_SAMPLES = 4;
/** Sampler settings of the zoo world that differ from the Shapes world's (T small, s ≈ 0.4·T as the paper's 20 of 50, η = 0.3·√d as the paper). */
export const ZOO_SAMPLER_DEFAULTS = Object.freeze({ T: 12, s: 5, eta: 0.3, samples: 1 });

const ID_PATTERN = /^L(\d)-(\d{3,6})$/;

/** The MiniMIG prompt of an id such as "L3-002" (levels 2–4); errors name the setting. */
export function zooPrompt(id: unknown): MiniMigPrompt {
  const m = typeof id === 'string' ? ID_PATTERN.exec(id) : null;
  const level = m ? Number(m[1]) : NaN;
  if (!m || !(ZOO_LEVELS as readonly number[]).includes(level)) {
    throw new RangeError(
      `zooPrompt must be a MiniMIG prompt id L<level>-<index> with level ${ZOO_LEVELS.join(', ')} (each has an interaction), e.g. "L3-002", got ${JSON.stringify(id)}`,
    );
  }
  return minimigPrompt(level, Number(m[2]));
}

/** "L3-002: a magenta circle linked to …" */
export function zooPromptText(id: string): string {
  return `${id}: ${caption(zooPrompt(id).scene)}`;
}
