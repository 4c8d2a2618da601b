/**
 * The SD pipeline's run options: checked, with their defaults, into the settings of one run
 * (`resolveRunSettings`), and the warnings about prompts longer than a text encoder reads.
 */
import { AMDM_DEFAULTS } from '../core/defaults.ts';
import { resolveReferencePlan, type ReferenceOptions } from '../core/reference.ts';
import type { AMDMOptions } from '../core/sampler.ts';
import { resolveAMDMPlan } from '../core/sampler-plan.ts';
import { spatialMapOf } from '../core/spatial.ts';
import { checkInt, checkNumber, checkOneOf, describe } from '../core/validate.ts';
import {
  NOISE_SOURCES,
  PRESETS,
  SD_SCALING_FACTOR,
  type NoiseSource,
  type LoadedModel,
  type PreparedModels,
  type Preset,
  type SdRunOptions,
  type SdSampler,
} from './pipeline-types.ts';

/** The run options, checked and with their defaults. */
export interface RunSettings {
  negativePrompt: string;
  steps: number;
  guidance: number;
  seed: number;
  noise: NoiseSource;
  batch: number;
  scalingFactor: number;
  preset: Preset;
  ddimEta: number;
  /** The sampler's options besides its models (`sampleAMDM`'s, or `sampleAMDMReference`'s). */
  paper: Omit<AMDMOptions, 'models'>;
  reference: Omit<ReferenceOptions, 'models'> | null;
  /** A custom sampler instead of AMDM (`SdRunOptions.sampler`), or null. */
  sampler: SdSampler | null;
}

/**
 * The SD pipeline's s when a run gives none: min(3, T), not the paper's 20 of 50
 * (AMDM_DEFAULTS.aggregateSteps). Neither the history nor the docs record why 3 was chosen; the
 * nearest source is the official code's loop, which merges in 3 iterations (optim_start 1 to
 * optim_end 3 in infer800.py, `COCO_MIG_REFERENCE`). It is kept so that jobs without
 * `aggregateSteps` sample as they always did; the example jobs set it explicitly.
 */
export function sdAggregateSteps(steps: number): number {
  return Math.min(3, steps);
}

/** The prompt, the negative prompt (default '') and the warning callback, checked. */
export function checkPrompts(options: SdRunOptions): string {
  if (options === null || typeof options !== 'object') throw new TypeError('run options must be an object');
  if (typeof options.prompt !== 'string')
    throw new TypeError(`prompt must be a string, got ${describe(options.prompt)}`);
  const negativePrompt = options.negativePrompt ?? '';
  if (typeof negativePrompt !== 'string')
    throw new TypeError(`negativePrompt must be a string, got ${describe(negativePrompt)}`);
  if (options.onWarning !== undefined && typeof options.onWarning !== 'function')
    throw new TypeError('onWarning must be a function');
  return negativePrompt;
}

/** `validate`: every check of a run, and the warnings about prompts the text encoder cuts; no model runs. */
export function validateRun(prepared: PreparedModels, options: SdRunOptions): void {
  const negativePrompt = checkPrompts(options);
  if (options.onWarning)
    for (const w of longPromptWarnings(prepared.loaded, options.prompt, negativePrompt)) options.onWarning(w);
  resolveRunSettings(prepared, options);
}

/** `SdRunOptions.sampler`: a function, with the paper preset and without `decodeAll`; null when absent. */
function checkSampler(sampler: unknown, preset: Preset, decodeAll: boolean): SdSampler | null {
  if (sampler === undefined) return null;
  if (typeof sampler !== 'function') throw new TypeError(`sampler must be a function, got ${describe(sampler)}`);
  if (preset !== 'paper') throw new RangeError(`sampler needs preset 'paper' (the default), got '${preset}'`);
  if (decodeAll)
    throw new RangeError(
      'sampler cannot be combined with decodeAll (a custom sampler returns the target latents only)',
    );
  return sampler as SdSampler;
}

/** Checks the run options after the prompts, the sampler's through its own resolver: no model runs. */
// Over 60 lines: every run option checked in the order a run reads them, so that the first bad option is the one reported.
export function resolveRunSettings(prepared: PreparedModels, options: SdRunOptions): RunSettings {
  const { target, shape, schedule, decodeAll } = prepared;
  const N = prepared.loaded.length;
  const negativePrompt = options.negativePrompt ?? '';
  const steps = checkInt('steps', options.steps ?? AMDM_DEFAULTS.steps, 1, schedule.alphasCumprod.length);
  const aggregateSteps = options.aggregateSteps ?? sdAggregateSteps(steps);
  const guidance = checkNumber('guidance', options.guidance ?? AMDM_DEFAULTS.guidance, 0);
  if (!Number.isFinite(guidance)) throw new RangeError(`guidance must be a finite number >= 0, got ${guidance}`);
  const seed = checkInt('seed', options.seed ?? AMDM_DEFAULTS.seed, 0, Number.MAX_SAFE_INTEGER);
  const batch = checkInt('batch', options.batch ?? AMDM_DEFAULTS.batch, 1, 1024);
  const noise = checkOneOf('noise', options.noise ?? 'amdm', NOISE_SOURCES);
  if (noise === 'torch' && options.sampler !== undefined)
    throw new RangeError("noise 'torch' sets the initial latents of AMDM's samplers; a custom sampler draws its own");
  const scalingFactor = checkNumber('scalingFactor', options.scalingFactor ?? SD_SCALING_FACTOR, 0, Infinity, {
    minExclusive: true,
  });
  if (!Number.isFinite(scalingFactor))
    throw new RangeError(`scalingFactor must be a finite number > 0, got ${scalingFactor}`);
  const preset = checkOneOf('preset', options.preset ?? 'paper', PRESETS);
  const ddimEta = options.ddimEta ?? AMDM_DEFAULTS.ddimEta;
  if (preset === 'reference') {
    if (!options.reference || typeof options.reference !== 'object') {
      throw new TypeError("reference must be { omegas, optimStart, optimEnd, p } when preset is 'reference'");
    }
    if (ddimEta !== 0)
      throw new RangeError(
        `ddimEta must be 0 with preset 'reference' (the official code is deterministic DDIM), got ${ddimEta}`,
      );
  }
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function')
    throw new TypeError('onProgress must be a function');
  if (options.onStep !== undefined && typeof options.onStep !== 'function')
    throw new TypeError('onStep must be a function');
  const sampler = checkSampler(options.sampler, preset, decodeAll);
  const common = { target, steps, shape, batch, seed, schedule };
  const paper = {
    ...common,
    aggregateSteps,
    weights: options.weights,
    deviation: options.deviation,
    eta: options.eta,
    etaScale: options.etaScale,
    rule: options.rule,
    ddimEta,
    windows: options.windows,
    spatialWeights: spatialWeightsOf(options.spatial, shape),
    spatialDeviation: options.spatialDeviation,
  };
  let reference: RunSettings['reference'] = null;
  if (preset === 'reference') {
    const { omegas, optimStart, optimEnd, p } = options.reference!;
    reference = { ...common, omegas, optimStart, optimEnd, p };
    resolveReferencePlan({ ...reference, models: N });
  } else {
    resolveAMDMPlan({ ...paper, models: N });
  }
  return {
    negativePrompt,
    steps,
    guidance,
    seed,
    noise,
    batch,
    scalingFactor,
    preset,
    ddimEta,
    paper,
    reference,
    sampler,
  };
}

/** The maps of the run's `spatial` specs for the latent shape (undefined when none are given). */
function spatialWeightsOf(specs: SdRunOptions['spatial'], shape: readonly number[]): AMDMOptions['spatialWeights'] {
  if (specs === undefined) return undefined;
  if (!Array.isArray(specs))
    throw new TypeError(`spatial must be an array (one entry per non-target model), got ${describe(specs)}`);
  return specs.map((s, j) => (s === null ? null : spatialMapOf(`spatial[${j}]`, s, shape)));
}

/**
 * A warning per prompt (each model's own or the job's, and the negative prompt) that has more
 * tokens than its model's text encoder reads (maxLength − 2: the start and end tokens take two);
 * the tokenizer truncates them, as diffusers does, so the end of the text has no effect.
 */
function longPromptWarnings(loaded: readonly LoadedModel[], prompt: string, negativePrompt: string): string[] {
  const out: string[] = [];
  loaded.forEach((m, k) => {
    for (const [what, text] of [
      ['prompt', m.spec.prompt ?? prompt],
      ['negativePrompt', negativePrompt],
    ] as const) {
      const tokens = m.tokenizer.encode(text, { padding: 'none', truncation: false }).length - 2;
      const reads = m.tokenizer.maxLength - 2;
      if (tokens > reads) {
        out.push(
          `models[${k}] (${m.name}): the ${what} is ${tokens} tokens and the text encoder reads ${reads}, so the last ${tokens - reads} are dropped; shorten it`,
        );
      }
    }
  });
  return out;
}
