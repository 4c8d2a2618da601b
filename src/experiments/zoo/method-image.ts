/**
 * One zoo method's image for one prompt and noise seed (methods.ts), through the ONNX pipeline
 * of `amdm generate` (src/sd), scored by the MiniMIG world's exact evaluator.
 */
import type { RGBA } from '../../image/raster.ts';
import { composeSampler } from '../../sd/compose-sampler.ts';
import type { SdModelSpec, SdResult, SdRunOptions } from '../../sd/pipeline.ts';
import type { SdModelPool } from '../../sd/pipeline-pool.ts';
import { evaluateScene, type MiniMigPrompt, type SceneEvaluation } from '../../toy/minimig/index.ts';
import { methodRun, replicateSeed, resolveMethod, type ZooMethod } from './methods.ts';
import { unitImageFromRgba } from './scene.ts';
import { beyondRunOptions } from './merge-options.ts';

/**
 * The official loop's settings on two models, as `amdm bench coco-mig --preset reference`
 * (infer800.py: ω 0.5, deviation optimization in iterations 1..3, p 45 / 55); with T < 4 steps
 * (smoke runs) the window ends at the last iteration, T − 1.
 */
function referenceSettings(steps: number) {
  return { omegas: [0.5], optimStart: Math.min(1, steps - 1), optimEnd: Math.min(3, steps - 1), p: [45, 55] };
}

export interface MethodImageContext {
  /** Family of each zoo folder name. */
  kinds: ReadonlyMap<string, string>;
  zoo: string;
  prompt: MiniMigPrompt;
  replicate: number;
  /** The style reference PNG of the prompt (IP-Adapter reads it). */
  refPath: string;
  settings: { steps: number; aggregateSteps: number; eta: number; guidance: number; noiseSeed?: number };
  threads: number;
  scalingFactor: number | undefined;
  /** Folders loaded once for every image (default: loaded for this image and released). */
  pool?: SdModelPool;
}

export interface MethodImage {
  seed: number;
  evaluation: SceneEvaluation;
  image: RGBA;
  png: Uint8Array;
  /** UNet calls of all models. */
  calls: number;
  /** Wall time of load (or of binding the conditions to pooled folders), sampling and decoding, seconds. */
  seconds: number;
}

/** One method's image for one prompt and seed, scored by the evaluator; null when the method cannot take the prompt. */
export async function generateMethodImage(name: string, c: MethodImageContext): Promise<MethodImage | null> {
  const m = resolveMethod(name);
  const r = methodRun(m, c.kinds, c.zoo, c.prompt, c.refPath);
  if (r === null) return null;
  const { generateSd } = await import('../../sd/pipeline.ts');
  await import('../../sd/families/index.ts');
  const seed = replicateSeed(c.prompt, c.replicate, c.settings.noiseSeed ?? 0);
  const run: SdRunOptions = {
    prompt: r.models[0].prompt!,
    negativePrompt: '',
    steps: c.settings.steps,
    guidance: c.settings.guidance,
    seed,
    scalingFactor: c.scalingFactor,
    ...methodSampling(m, r.models.length, c.settings, c.prompt),
  };
  const t0 = performance.now();
  const g = c.pool
    ? await runPooled(c.pool, r.models, run)
    : await generateSd({ models: r.models, session: { intraOpNumThreads: c.threads }, ...run });
  const seconds = (performance.now() - t0) / 1000;
  const image = g.target.images[0];
  return {
    seed,
    evaluation: evaluateScene(c.prompt.scene, unitImageFromRgba(image)),
    image,
    png: g.target.png[0],
    calls: g.totalCalls,
    seconds,
  };
}

/**
 * How a method samples: a compositional baseline, one model alone (plain DDIM), the official
 * loop, or the paper's algorithm at the method's settings (the run's where it sets none).
 */
function methodSampling(
  m: ZooMethod,
  models: number,
  settings: MethodImageContext['settings'],
  prompt: MiniMigPrompt,
): Partial<SdRunOptions> {
  const { steps, aggregateSteps, eta } = settings;
  if (m.compose) return { sampler: composeSampler(m.compose) };
  if (models === 1) return { aggregateSteps: 0 };
  if (m.preset === 'reference') return { preset: 'reference', reference: referenceSettings(steps) };
  const s = Math.min(m.aggregateSteps ?? aggregateSteps, steps);
  return {
    aggregateSteps: s,
    weights: [...m.weights!],
    // windows, weight ramps and maps beyond the paper (merge-options.ts)
    ...(m.beyond && beyondRunOptions(m.beyond, { scene: prompt.scene, s, weights: m.weights! })),
    eta: m.eta ?? eta,
    ...(m.deviation === 'relative' ? { deviation: 'relative' as const } : { etaScale: m.etaScale ?? 'sqrtDim' }),
    rule: m.rule ?? 'slerp',
  };
}

/** One run over pooled folders: the models' conditions bound for this run only. */
export async function runPooled(pool: SdModelPool, models: SdModelSpec[], run: SdRunOptions): Promise<SdResult> {
  const pipe = await pool.prepare({ models });
  try {
    return await pipe.run(run);
  } finally {
    await pipe.release();
  }
}
