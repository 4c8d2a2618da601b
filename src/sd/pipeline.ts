/**
 * Text-to-image with one or more SD-1.x ONNX model folders (AMDM, paper Algorithm 1):
 *
 *   prompt ─ CLIP tokenizer (77 tokens, padded with 49407) ─ text encoder ─┐ (cond rows)
 *   negative prompt ─ same ────────────────────────────────────────────────┘ (uncond rows)
 *   → one Denoiser per model (its family: CFG ε = ε_u + g(ε_c − ε_u), sources M§2.7)
 *   → sampleAMDM over all models, one shared schedule (or sampleDDIM for one model, or the
 *     official-code preset sampleAMDMReference)
 *   → VAE decoder on latents / scaling factor (0.18215, M§6) → (x/2 + 0.5)·255 RGBA → PNG.
 *
 * Loading (`prepareSdPipeline`) does every check that can fail before a model runs: the job's
 * sampler options (through the samplers' own validation), each folder's files, input names and
 * dtypes (loadModelFolder), each family's conditions and folder check, equal latent shapes and
 * equal noise schedules across models. Text-encoder and VAE sessions are opened once per
 * distinct file (same real path or same bytes) and shared between folders.
 *
 * `decodeAll` also decodes every model's own image: each non-target model keeps sampling plain
 * DDIM from where AMDM left it (after its s aggregated steps) down to t = 0, as the official
 * code decodes every model (sources M§2.1). Its DDIM noise (η_ddim > 0) then comes from
 * stream 1000 + k of the seed.
 *
 * Modules: pipeline-types.ts (options, results), pipeline-load.ts (folders), pipeline-settings.ts
 * (run options), pipeline-run.ts (one run). A run may replace AMDM by a custom sampler over the
 * same denoisers (`SdRunOptions.sampler`, e.g. the compositional baselines of compose-sampler.ts).
 */
import { makeSchedule } from '../core/schedule.ts';
import { checkInt, describe } from '../core/validate.ts';
import {
  loadModels,
  resolveFamilies,
  sharedLatentShape,
  sharedScheduleConfig,
  type FolderSource,
} from './pipeline-load.ts';
import { runPipeline } from './pipeline-run.ts';
import { validateRun } from './pipeline-settings.ts';
import type {
  PreparedModels,
  SdGenerateOptions,
  SdPipeline,
  SdPipelineOptions,
  SdResult,
  SdRunOptions,
} from './pipeline-types.ts';

export { sdAggregateSteps } from './pipeline-settings.ts';
export { PRESETS, SD_SCALING_FACTOR } from './pipeline-types.ts';
export type {
  ModelImages,
  Preset,
  ReferenceSettings,
  SdGenerateOptions,
  SdModelSpec,
  SdPipeline,
  SdPipelineOptions,
  SdResult,
  SdRunOptions,
  SdSampler,
  SdSamplerContext,
  SdSamplerResult,
} from './pipeline-types.ts';

/** Load and check every model folder; no model runs. */
export async function prepareSdPipeline(opts: SdPipelineOptions): Promise<SdPipeline> {
  return preparePipelineFrom(opts, undefined);
}

/**
 * `prepareSdPipeline` over folders from `source` (default: opened for this pipeline and freed by
 * its `release`; `createSdModelPool` keeps them across pipelines).
 */
export async function preparePipelineFrom(
  opts: SdPipelineOptions,
  source: FolderSource | undefined,
): Promise<SdPipeline> {
  if (opts === null || typeof opts !== 'object') throw new TypeError('options must be an object');
  const specs = opts.models;
  if (!Array.isArray(specs) || specs.length < 1)
    throw new RangeError(`models must be an array of ≥ 1 model specs, got ${describe(specs)}`);
  const target = checkInt('target', opts.target ?? 0, 0, specs.length - 1);
  const decodeAll = opts.decodeAll ?? false;
  if (typeof decodeAll !== 'boolean') throw new TypeError(`decodeAll must be a boolean, got ${describe(decodeAll)}`);
  if (opts.latentSize !== undefined) {
    const ls = opts.latentSize;
    if (!Array.isArray(ls) || ls.length !== 2)
      throw new RangeError(`latentSize must be [height, width], got ${describe(ls)}`);
    ls.forEach((v, i) => checkInt(`latentSize[${i}]`, v, 1, 4096));
  }
  const families = resolveFamilies(specs);
  const workerModels = unetWorkerModels(opts.unetWorkers, specs.length, target);
  if (workerModels.length > 0 && source)
    throw new RangeError(
      'unetWorkers: a pooled pipeline runs its UNets on this thread (prepare it with prepareSdPipeline)',
    );
  const models = await loadModels(specs, families, {
    target,
    decodeAll,
    session: opts.session,
    source,
    unetWorkers: workerModels,
  });
  try {
    const { loaded } = models;
    const shape = sharedLatentShape(loaded, target, opts.latentSize);
    const scheduleConfig = sharedScheduleConfig(loaded, target);
    const schedule = makeSchedule(scheduleConfig);
    // with UNets in worker threads the models' calls of an aggregated step are started together,
    // those on this thread last
    const concurrent = workerModels.length > 0;
    const startLast = concurrent ? loaded.map((_, k) => k).filter((k) => !workerModels.includes(k)) : [];
    const prepared: PreparedModels = { loaded, target, decodeAll, shape, schedule, concurrent, startLast };
    return Object.freeze({
      models: loaded.map((m) => ({
        name: m.name,
        kind: m.family.kind,
        folder: m.folder.dir,
        conditions: m.conditions,
        device: m.folder.unet.session.device,
      })),
      target,
      shape,
      schedule,
      scheduleConfig,
      textEncoders: models.textEncoders,
      vaeDecoders: models.vaeDecoders,
      validate: async (options: SdRunOptions) => validateRun(prepared, options),
      run: (options: SdRunOptions) => runPipeline(prepared, options),
      release: models.release,
    });
  } catch (e) {
    await models.release();
    throw e;
  }
}

/** Load, run and release: the whole text-to-image call. */
export async function generateSd(opts: SdGenerateOptions): Promise<SdResult> {
  const p = await prepareSdPipeline(opts);
  try {
    await p.validate(opts);
    return await p.run(opts);
  } finally {
    await p.release();
  }
}

/**
 * The models whose UNets run in worker threads: none (false), every non-target model (true), or
 * the non-target indices listed.
 */
function unetWorkerModels(value: SdPipelineOptions['unetWorkers'], models: number, target: number): number[] {
  if (value === undefined || value === false) return [];
  if (value === true) return [...Array(models).keys()].filter((k) => k !== target);
  if (!Array.isArray(value))
    throw new TypeError(`unetWorkers must be a boolean or an array of model indices, got ${describe(value)}`);
  value.forEach((k, i) => {
    checkInt(`unetWorkers[${i}]`, k, 0, models - 1);
    if (k === target)
      throw new RangeError(`unetWorkers[${i}] must not be the target (${target}): its UNet runs on this thread`);
  });
  if (new Set(value).size !== value.length)
    throw new RangeError(`unetWorkers must list each model once, got [${value.join(', ')}]`);
  return [...value];
}
