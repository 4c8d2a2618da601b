/**
 * One generate job in memory: a validated job (job-schema.ts) → the SD pipeline → the images,
 * the trace and the resolved settings, without touching the output folder. `amdm generate`
 * writes what this returns; the HTTP handler sends it. Both therefore run the same code for
 * the same job and give the same bytes.
 */
import type { SdPipeline, SdPipelineOptions, SdResult, SdRunOptions } from '../sd/pipeline.ts';
import { prepareSdPipeline } from '../sd/pipeline.ts';
// Registers the grounded families (interactdiffusion, migc, ipadapter) with the pipeline.
import '../sd/families/index.ts';
import type { GenerateJob } from './job-schema.ts';
import { precheckJob } from './job-precheck.ts';
import type { RGBA } from '../image/raster.ts';
import { npyFloat32 } from './npy.ts';

/** Where a job's pipeline comes from: loaded for this run (default) or kept across runs. */
export interface PipelineSource {
  /** A loaded pipeline for these options and a function to call when the run is over. */
  acquire(options: SdPipelineOptions): Promise<{ pipeline: SdPipeline; done: () => Promise<void> }>;
}

/** Load for one run, release after it. */
export const loadPerRun: PipelineSource = {
  async acquire(options) {
    const pipeline = await prepareSdPipeline(options);
    return { pipeline, done: () => pipeline.release() };
  },
};

export interface JobRunOptions {
  /** Receives notes such as the CPU fallback of device 'auto' (default: dropped). */
  log?: (message: string) => void;
  /** Called after each target step with (done, total). */
  onProgress?: (done: number, total: number) => void;
  /** Receives each AMDM step's trace as it happens (paper preset). */
  onStep?: SdRunOptions['onStep'];
  /** Aborts the sampling between steps. */
  signal?: AbortSignal;
  /** Default: load the folders for this run and release them after it. */
  pipelines?: PipelineSource;
  /** Called once the job's options are validated and the models are loaded, before sampling. */
  onReady?: (pipeline: SdPipeline) => void;
}

export interface JobFile {
  /** File name: target.png (target-<b>.png for batch > 1), after-aggregation-<k>-<name>.png, trace.json. */
  name: string;
  data: Uint8Array | string;
}

/** One decoded image of a run and what it is. */
export interface JobImage {
  /** Its file name (`JobFile.name`). */
  name: string;
  /**
   * 'target': the run's result, the target model's sample (AMDM's result with several models,
   * plain DDIM with one); 'after-aggregation': a non-target model's own image (saveAll), which
   * shares the first s steps' merged latents with the target and then samples alone.
   */
  role: 'target' | 'after-aggregation';
  /** Index of the model in the job. */
  model: number;
  /** Its (resolved) name. */
  modelName: string;
  /** Sample index in the batch. */
  sample: number;
  image: RGBA;
  png: Uint8Array;
}

export interface JobRun {
  job: GenerateJob;
  result: SdResult;
  /** The images and the trace, in the order `amdm generate` writes them (resolved.json apart). */
  files: JobFile[];
  /** The images among `files`, target first, with what each is. */
  images: JobImage[];
  /** The trace document (saveTrace), or null. */
  trace: Record<string, unknown> | null;
  /** What resolved.json holds, less the job file and the file list. */
  resolved: Record<string, unknown>;
}

/** The pipeline's load options for a job (folders, kinds, conditions, latent size, sessions). */
export function pipelineOptions(job: GenerateJob, log?: (message: string) => void): SdPipelineOptions {
  return {
    models: job.models.map((m) => ({
      folder: m.folder,
      kind: m.kind,
      conditions: m.conditions,
      name: m.name,
      prompt: m.prompt,
    })),
    target: job.target,
    decodeAll: job.saveAll,
    latentSize: job.height !== undefined && job.width !== undefined ? [job.height / 8, job.width / 8] : undefined,
    session: { device: job.device, backend: job.backend, intraOpNumThreads: job.threads, onFallback: log },
    unetWorkers: job.unetWorkers,
  };
}

/** The pipeline's run options for a job. */
export function runOptions(
  job: GenerateJob,
  opts: Pick<JobRunOptions, 'onProgress' | 'onStep' | 'signal' | 'log'> = {},
): SdRunOptions {
  return {
    prompt: job.prompt,
    negativePrompt: job.negativePrompt,
    steps: job.steps,
    aggregateSteps: job.aggregateSteps,
    weights: job.weights,
    windows: job.windows,
    spatial: job.spatial,
    spatialDeviation: job.spatialDeviation,
    deviation: job.deviation,
    eta: job.eta,
    etaScale: job.etaScale,
    rule: job.rule,
    ddimEta: job.ddimEta,
    guidance: job.guidance,
    seed: job.seed,
    noise: job.noise,
    batch: job.batch,
    scalingFactor: job.scalingFactor,
    preset: job.preset,
    reference: job.reference,
    trace: job.saveTrace,
    onProgress: opts.onProgress,
    onStep: opts.onStep,
    signal: opts.signal,
    // e.g. a prompt longer than the text encoder reads (tokens dropped)
    onWarning: opts.log ? (m) => opts.log!(`warning: ${m}`) : undefined,
  };
}

/** File-name-safe form of a model name. */
function safeName(name: string): string {
  return (
    name
      .replace(/[^A-Za-z0-9_.-]+/g, '_')
      .replace(/^[._]+/, '')
      .slice(0, 64) || 'model'
  );
}

/** Typed arrays as plain arrays, for JSON. */
export function plain(v: unknown): unknown {
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number>);
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

/**
 * Run a validated job: load (or acquire) the pipeline, check the run options exactly as a run
 * would, sample, decode. Nothing is written; a bad job fails before any model runs.
 */
// Over 60 lines: one job from acquiring the pipeline to releasing it, in order, so that a failure at any point releases it.
export async function runJob(job: GenerateJob, opts: JobRunOptions = {}): Promise<JobRun> {
  await precheckJob(job); // what can be checked without loading a model
  const { pipeline, done } = await (opts.pipelines ?? loadPerRun).acquire(pipelineOptions(job, opts.log));
  let result: SdResult;
  try {
    const sdRun = runOptions(job, opts);
    await pipeline.validate(sdRun);
    opts.onReady?.(pipeline);
    result = await pipeline.run(sdRun);
  } finally {
    await done();
  }
  const suffix = (b: number) => (job.batch > 1 ? `-${b}` : '');
  const images: JobImage[] = [];
  const { target } = pipeline;
  for (let b = 0; b < job.batch; b++) {
    const [image, png] = [result.target.images[b], result.target.png[b]];
    images.push({
      name: `target${suffix(b)}.png`,
      role: 'target',
      model: target,
      modelName: result.target.name,
      sample: b,
      image,
      png,
    });
  }
  // the target's own image is target.png itself: only the others are written (saveAll)
  for (const m of result.models ?? []) {
    if (m.model === target) continue;
    for (let b = 0; b < job.batch; b++) {
      const name = `after-aggregation-${m.model}-${safeName(m.name)}${suffix(b)}.png`;
      images.push({
        name,
        role: 'after-aggregation',
        model: m.model,
        modelName: m.name,
        sample: b,
        image: m.images[b],
        png: m.png[b],
      });
    }
  }
  const files: JobFile[] = images.map((i) => ({ name: i.name, data: i.png }));
  if (job.saveLatents)
    files.push({ name: 'latents.npy', data: npyFloat32(result.target.latents, [job.batch, ...pipeline.shape]) });
  const trace = job.saveTrace
    ? {
        preset: job.preset,
        timesteps: result.timesteps,
        aggregatedAt: result.aggregatedAt,
        steps: plain(result.trace) as unknown[],
      }
    : null;
  const resolved = {
    job: { ...job, models: job.models.map((m, k) => ({ ...m, name: pipeline.models[k].name })) },
    models: pipeline.models,
    schedule: pipeline.scheduleConfig,
    latentShape: pipeline.shape,
    timesteps: result.timesteps,
    calls: result.calls,
    finishCalls: result.finishCalls,
    totalCalls: result.totalCalls,
    textEncoderRuns: result.textEncoderRuns,
    vaeRuns: result.vaeRuns,
  };
  return { job, result, files, images, trace, resolved };
}
