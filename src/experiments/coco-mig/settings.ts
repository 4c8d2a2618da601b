/**
 * The options of `amdm bench coco-mig` (run.ts), checked and resolved into the settings an
 * image depends on, and `settings.json`, which records them so that a folder never mixes images
 * made with different settings.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AMDM_DEFAULTS } from '../../core/defaults.ts';
import { ruleNames } from '../../core/rule-registry.ts';
import { checkInt, checkNumber, checkOneOf } from '../../core/validate.ts';
import { DEVICES, type Device } from '../../onnx/session.ts';
import { COCO_MIG_NEGATIVE_PROMPT } from '../../sd/coco-mig.ts';
import { MIGC_DEFAULT_STEPS } from '../../sd/families/migc.ts';
import { createFileAtomic, jsonText, writeFileAtomic } from '../../io/files.ts';
import type { ExperimentProgress } from '../types.ts';

export interface CocoMigOptions {
  /** mig_bench.json. */
  bench: string;
  /** Output folder for `{image_id:06d}_{key}.png`. */
  output: string;
  /** InteractDiffusion folder (target) and MIGC folder. */
  interact: string;
  migc: string;
  /** "i/n", "auto" or undefined (everything). */
  shard?: string;
  /** Shard count for `--shard auto` under Kubernetes. */
  shardCount?: number;
  /** Environment for `--shard auto` (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Only these entry keys (before sharding). */
  keys?: readonly string[];
  /** Only the first `limit` entries (before sharding). */
  limit?: number;
  /** Paper settings (InteractDiffusion + MIGC): T = 50, s = 20, w = 0.5, η = 0.3 (√d-scaled). */
  steps?: number;
  aggregateSteps?: number;
  weight?: number;
  /** η per model [interact, migc] or one for both. */
  eta?: number | readonly [number, number];
  etaScale?: 'sqrtDim' | 'absolute';
  /** A registered aggregation rule. */
  rule?: string;
  guidance?: number;
  negativePrompt?: string;
  migcSteps?: number;
  seed?: number;
  /** 'paper' (default) or 'reference' (the official loop: vp merge ω, optim 1..3, p per model). */
  preset?: 'paper' | 'reference';
  reference?: { omega: number; optimStart: number; optimEnd: number; p: readonly [number, number] };
  device?: Device;
  threads?: number;
  /** Called before the first image to make (done 0) and after each one. */
  onProgress?: (progress: ExperimentProgress) => void;
  signal?: AbortSignal;
}

/** infer800.py's official-loop values: ω 0.5, optim 1..3, p interact 45 / migc 55. */
export const COCO_MIG_REFERENCE = Object.freeze({ omega: 0.5, optimStart: 1, optimEnd: 3, p: [45, 55] as const });

/** The file in the output folder that records the settings every image there was made with. */
export const COCO_MIG_SETTINGS_FILE = 'settings.json';

/** The settings an image depends on (besides its entry), with the flag that sets each. */
const SETTING_FLAGS = {
  steps: '--steps',
  aggregateSteps: '--s',
  weight: '--w',
  eta: '--eta',
  etaScale: '--eta-scale',
  rule: '--rule',
  guidance: '--guidance',
  negativePrompt: 'negativePrompt',
  migcSteps: '--migc-steps',
  seed: '--seed',
  preset: '--preset',
  reference: 'reference',
} as const;
export type CocoMigSettings = { [K in keyof typeof SETTING_FLAGS]: unknown };

/** The options checked, with their defaults filled in. */
export interface CocoMigRunSettings {
  steps: number;
  aggregateSteps: number;
  weight: number;
  eta: number[];
  etaScale: 'sqrtDim' | 'absolute';
  rule: string;
  guidance: number;
  negativePrompt: string;
  migcSteps: number;
  seed: number;
  preset: 'paper' | 'reference';
  ref: NonNullable<CocoMigOptions['reference']>;
  device: Device;
  threads: number;
}

/** Checks the sampling options (each error names its option) and fills in the defaults. */
export function resolveCocoMigSettings(opts: CocoMigOptions): CocoMigRunSettings {
  const steps = checkInt('steps', opts.steps ?? AMDM_DEFAULTS.steps, 1, 1000);
  const aggregateSteps = checkInt(
    'aggregateSteps',
    opts.aggregateSteps ?? Math.min(AMDM_DEFAULTS.aggregateSteps, steps),
    0,
    steps,
  );
  const weight = checkNumber('weight', opts.weight ?? AMDM_DEFAULTS.weight, 0, 1);
  const etaOpt = opts.eta ?? AMDM_DEFAULTS.eta;
  const eta = typeof etaOpt === 'number' ? [etaOpt, etaOpt] : [...etaOpt];
  if (eta.length !== 2) throw new RangeError(`eta must be a number or [interact, migc], got ${eta.length} values`);
  eta.forEach((v, i) => checkNumber(`eta[${i}]`, v, 0, 1e6));
  const etaScale = checkOneOf('etaScale', opts.etaScale ?? AMDM_DEFAULTS.etaScale, ['sqrtDim', 'absolute'] as const);
  const rule = checkOneOf('rule', opts.rule ?? AMDM_DEFAULTS.rule, ruleNames());
  const guidance = checkNumber('guidance', opts.guidance ?? AMDM_DEFAULTS.guidance, 0, 100);
  const negativePrompt = opts.negativePrompt ?? COCO_MIG_NEGATIVE_PROMPT;
  // MIGC runs at steps i ≤ migcSteps; steps − 1 already means every step
  const migcSteps = checkInt('migcSteps', opts.migcSteps ?? Math.min(MIGC_DEFAULT_STEPS, steps - 1), -1, steps - 1);
  const seed = checkInt('seed', opts.seed ?? AMDM_DEFAULTS.seed, 0, 2 ** 40);
  const preset = checkOneOf('preset', opts.preset ?? 'paper', ['paper', 'reference'] as const);
  const ref = opts.reference ?? COCO_MIG_REFERENCE;
  if (preset === 'reference') {
    checkNumber('reference.omega', ref.omega, 0, 1);
    checkInt('reference.optimStart', ref.optimStart, 0, steps - 1);
    checkInt('reference.optimEnd', ref.optimEnd, ref.optimStart, steps - 1);
    if (!Array.isArray(ref.p) || ref.p.length !== 2) throw new RangeError('reference.p must be [interact, migc]');
    ref.p.forEach((v, i) => checkNumber(`reference.p[${i}]`, v, 0, 1e6));
  }
  const device = checkOneOf('device', opts.device ?? 'cpu', DEVICES);
  const threads = checkInt('threads', opts.threads ?? 0, 0, 1024);
  return {
    steps,
    aggregateSteps,
    weight,
    eta,
    etaScale,
    rule,
    guidance,
    negativePrompt,
    migcSteps,
    seed,
    preset,
    ref,
    device,
    threads,
  };
}

/** What settings.json records of the run's settings, in its order. */
export function recordedSettings(s: CocoMigRunSettings): CocoMigSettings {
  const { ref, device: _device, threads: _threads, ...settings } = s;
  return {
    ...settings,
    reference:
      s.preset === 'reference'
        ? { omega: ref.omega, optimStart: ref.optimStart, optimEnd: ref.optimEnd, p: [...ref.p] }
        : null,
  };
}

/**
 * Records `settings` in the folder (first run), or checks that they equal the recorded ones;
 * the RangeError names every setting that differs, as the flag the user typed.
 */
export async function claimSettings(outputDir: string, settings: CocoMigSettings): Promise<void> {
  const file = join(outputDir, COCO_MIG_SETTINGS_FILE);
  if (await createFileAtomic(file, jsonText({ command: 'bench coco-mig', settings }))) return;
  let recorded: Partial<CocoMigSettings>;
  try {
    recorded = (JSON.parse(await readFile(file, 'utf8')) as { settings: CocoMigSettings }).settings ?? {};
  } catch (e) {
    throw new Error(
      `${file} cannot be read (${(e as Error).message}); it records the settings of the images in ${outputDir}`,
    );
  }
  const show = (v: unknown) => (v === undefined ? '(not set)' : JSON.stringify(v));
  const diffs = (Object.keys(SETTING_FLAGS) as (keyof CocoMigSettings)[])
    .filter((k) => JSON.stringify(recorded[k]) !== JSON.stringify(settings[k]))
    .map((k) => `${SETTING_FLAGS[k]} ${show(settings[k])} here, ${show(recorded[k])} there`);
  const images = (await readdir(outputDir)).some((n) => n.endsWith('.png'));
  if (diffs.length && !images) {
    await writeFileAtomic(file, jsonText({ command: 'bench coco-mig', settings }));
  } else if (diffs.length) {
    throw new RangeError(
      `${outputDir} holds images made with other settings (${diffs.join('; ')}); resume with the same settings or give another --out`,
    );
  }
}
