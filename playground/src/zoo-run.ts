/**
 * What the playground computes in the mini-zoo world, with no DOM: each chosen zoo model alone
 * and AMDM (target ← others) on one MiniMIG prompt, each as a generate job run by the library's
 * `runJob` (the pipeline of `amdm generate` and the server), and every image scored by the
 * MiniMIG evaluator, so the scores the page shows are the library's for the same job. The
 * worker runs this over onnxruntime-web on the model files served with the page (zoo-entry.ts);
 * tests run it in Node on models/mini-zoo.
 *
 * Runs of a model alone do not depend on w, η, s or the rule and are cached (run-cache.ts);
 * loaded models are kept between runs by the environment's pipeline source.
 */
import { join } from 'node:path';
import {
  folderKind,
  folderScalingFactor,
  stylePng,
  unitImageFromRgba,
  zooModelSpec,
} from '../../src/experiments/zoo/scene.ts';
import type { RuleName } from '../../src/core/rules.ts';
import type { RGBA } from '../../src/image/raster.ts';
import { runJob, type JobRunOptions, type PipelineSource } from '../../src/jobs/generate.ts';
import { parseJob, type GenerateJob } from '../../src/jobs/job-schema.ts';
import {
  evaluateScene,
  summarizeScenes,
  type MiniMigPrompt,
  type MiniMigSummaryRow,
  type SceneEvaluation,
} from '../../src/toy/minimig/index.ts';
import { ZOO_SEARCH_BEST_SETTING, zooSettingRunOptions } from '../../src/experiments/zoo/search-settings.ts';
import { cachedRun } from './run-cache.ts';
import type { Settings } from './settings.ts';
import { traceCollector, type TraceRows } from './trace.ts';
import { ZOO_GUIDANCE, ZOO_MODELS, zooPrompt, type ZooModel } from './zoo-settings.ts';

/** Where the zoo's files are and how its models run. */
export interface ZooEnv {
  /** The folder holding the zoo's model folders (models/mini-zoo, or the page's served copy). */
  root: string;
  /** onnxruntime-web (the page) or onnxruntime-node. */
  backend: 'web' | 'node';
  /** Stores a style reference PNG; resolves to the path the IP-Adapter family reads it from. */
  putStyleImage(name: string, png: Uint8Array): Promise<string>;
  /** Keeps loaded models between runs (default: loaded and released per run). */
  pipelines?: PipelineSource;
}

/** One image's verdict, for its caption. */
export interface ZooVerdict {
  instancesOk: number;
  instances: number;
  relationsOk: number;
  relations: number;
  styleOk: boolean;
  clean: boolean;
}

export interface ZooMethodView {
  /** 'alone:<model>' or 'amdm'. */
  key: string;
  name: string;
  models: ZooModel[];
  /** One 32×32 RGBA image per sample. */
  images: RGBA[];
  summary: MiniMigSummaryRow;
  verdicts: ZooVerdict[];
  /** UNet calls of all models. */
  calls: number;
  /** Wall time of the run in ms (0 when it came from the cache). */
  ms: number;
}

export interface ZooResult {
  prompt: MiniMigPrompt;
  methods: ZooMethodView[];
  /** Null when there is no AMDM run (no other model) or it failed. */
  trace: TraceRows | null;
  /** Why AMDM did not run. */
  amdmError: string | null;
}

export interface ZooRunOptions {
  cache?: Map<string, ZooMethodView>;
  onMethod?: (view: ZooMethodView) => void;
  /**
   * Stops the run before its next method (and between sampler steps), rejecting with the
   * signal's reason. Each method starts on a new task, so a worker handles its messages (a
   * cancel) between methods.
   */
  signal?: AbortSignal;
  /** What the run is doing, in words: each method's loading (when not cached) and sampling steps. */
  onStatus?: (text: string) => void;
}

/** Elements of one latent sample of the zoo's models (4×8×8), for the trace's norms. */
const LATENT_DIM = 4 * 8 * 8;

/** What every job of one run shares: the prompt, its style reference, the models' families. */
interface ZooPlan {
  settings: Settings;
  env: ZooEnv;
  prompt: MiniMigPrompt;
  styleImage: string;
  kinds: Map<ZooModel, string>;
  scalingFactor: number | undefined;
}

/** Runs every method of `settings` (validated by parseSettings, world 'zoo') on its prompt. */
export async function runZoo(settings: Settings, env: ZooEnv, opts: ZooRunOptions = {}): Promise<ZooResult> {
  const prompt = zooPrompt(settings.zooPrompt);
  const models = [settings.zooTarget, ...settings.zooOthers];
  const kinds = new Map<ZooModel, string>();
  for (const m of models) kinds.set(m, await folderKind(join(env.root, m)));
  const plan: ZooPlan = {
    settings,
    env,
    prompt,
    styleImage: await env.putStyleImage(`${prompt.id}.png`, await stylePng(prompt.reference)),
    kinds,
    scalingFactor: await folderScalingFactor(join(env.root, settings.zooTarget)),
  };
  const cache = opts.cache ?? new Map<string, ZooMethodView>();
  const methods: ZooMethodView[] = [];
  const emit = (v: ZooMethodView) => {
    methods.push(v);
    opts.onMethod?.(v);
  };
  const signal = opts.signal;
  const status = (name: string) => zooStatus(name, settings.T, opts.onStatus);
  for (const m of models) {
    const key = JSON.stringify(['zoo', prompt.id, m, settings.T, settings.seed, settings.samples]);
    const name = `${ZOO_MODELS[m]} alone`;
    emit(await cachedRun(cache, key, () => runZooMethod(plan, [m], name, `alone:${m}`, { signal, ...status(name) })));
  }
  if (settings.zooOthers.length === 0) return { prompt, methods, trace: null, amdmError: null };
  if (settings.rule === 'custom') {
    return {
      prompt,
      methods,
      trace: null,
      amdmError:
        'the mini-zoo runs generate jobs, which take the built-in rules only; the written rule runs in the Shapes world',
    };
  }
  const collector = traceCollector({
    names: models.map((m) => ZOO_MODELS[m]),
    symmetric: settings.rule === 'sphericalMean',
    dim: LATENT_DIM,
  });
  const name = `AMDM ${ZOO_MODELS[settings.zooTarget]} ← ${settings.zooOthers.map((m) => ZOO_MODELS[m]).join(' + ')}`;
  try {
    emit(await runZooMethod(plan, models, name, 'amdm', { signal, onStep: collector.onStep, ...status(name) }));
  } catch (e) {
    if (signal?.aborted) throw e;
    return { prompt, methods, trace: null, amdmError: e instanceof Error ? e.message : String(e) };
  }
  return { prompt, methods, trace: collector.rows, amdmError: null };
}

/** A method's status lines: loading until its models are ready, then its sampling steps of T. */
function zooStatus(
  name: string,
  T: number,
  onStatus: ((text: string) => void) | undefined,
): Pick<JobRunOptions, 'onReady' | 'onProgress'> {
  if (!onStatus) return {};
  onStatus(`${name}: loading its models…`);
  return {
    onReady: () => onStatus(`${name}: sampling, step 0 of ${T}`),
    onProgress: (done) => onStatus(`${name}: sampling, step ${done} of ${T}`),
  };
}

/** The generate job of `models` (the target first) on the plan's prompt; one model samples plain DDIM. */
function zooJob(plan: ZooPlan, models: readonly ZooModel[]): GenerateJob {
  const { settings: s, prompt } = plan;
  const specs = models.map((m) => {
    const spec = zooModelSpec(plan.kinds.get(m)!, prompt.scene, join(plan.env.root, m), m, plan.styleImage);
    if (spec === null) throw new RangeError(`${ZOO_MODELS[m]} cannot take prompt ${prompt.id} (it has no interaction)`);
    return spec;
  });
  const amdm =
    models.length > 1
      ? {
          aggregateSteps: s.s,
          weights: s.w,
          deviation: s.deviation,
          eta: s.eta,
          ...(s.deviation === 'eq9' ? { etaScale: s.etaScale } : {}),
          rule: s.rule as RuleName,
        }
      : { aggregateSteps: 0 };
  return parseJob(
    {
      prompt: specs[0].prompt,
      models: specs,
      steps: s.T,
      guidance: ZOO_GUIDANCE,
      seed: s.seed,
      batch: s.samples,
      ...(plan.scalingFactor === undefined ? {} : { scalingFactor: plan.scalingFactor }),
      backend: plan.env.backend,
      ...(models.length > 1 && s.zooMerge === 'search-best' ? searchBestOptions(plan, models) : amdm),
    },
    `the ${models.join(' + ')} job`,
  );
}

/** The zoo search's best setting at T on the plan's prompt; it is for InteractDiffusion-mini ← MIGC-mini only. */
function searchBestOptions(plan: ZooPlan, models: readonly ZooModel[]) {
  if (models.join(',') !== 'interactdiffusion-mini,migc-mini')
    throw new RangeError(
      `zooMerge 'search-best' is a setting of InteractDiffusion-mini ← MIGC-mini; choose those models, got ${models.map((m) => ZOO_MODELS[m]).join(' ← ')}`,
    );
  return zooSettingRunOptions(ZOO_SEARCH_BEST_SETTING, plan.prompt.scene, plan.settings.T);
}

/** A new task: messages that came in meanwhile are handled first. */
const nextTask = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

async function runZooMethod(
  plan: ZooPlan,
  models: ZooModel[],
  name: string,
  key: string,
  o: Pick<JobRunOptions, 'signal' | 'onStep' | 'onReady' | 'onProgress'>,
): Promise<ZooMethodView> {
  await nextTask();
  o.signal?.throwIfAborted();
  const started = performance.now();
  const run = await runJob(zooJob(plan, models), { pipelines: plan.env.pipelines, ...o });
  const images = run.result.target.images;
  const evaluations: SceneEvaluation[] = images.map((img) => evaluateScene(plan.prompt.scene, unitImageFromRgba(img)));
  return {
    key,
    name,
    models,
    images,
    summary: summarizeScenes(evaluations).overall,
    verdicts: evaluations.map((e) => ({
      instancesOk: e.instances.filter((i) => i.ok).length,
      instances: e.instances.length,
      relationsOk: e.relations.filter((r) => r.ok).length,
      relations: e.relations.length,
      styleOk: e.style.ok,
      clean: e.clean.ok,
    })),
    calls: run.result.totalCalls,
    ms: performance.now() - started,
  };
}
