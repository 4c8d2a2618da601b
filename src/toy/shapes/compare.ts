/**
 * Run the Shapes world the way the paper runs COCO-MIG: the same prompts sampled by each
 * expert alone and by AMDM (target ← others), scored by the exact evaluator. The main job
 * (`amdm demo`) and the experiments are thin layers over `compareOnShapes`.
 *
 * Pairing: every method samples prompt p from the same seed, and the target of an AMDM run
 * draws its initial noise from stream 0 — the stream its expert uses alone. So "layout alone"
 * and "AMDM layout ← attribute" start from the same latent and differ only by the aggregation.
 */
import type { Denoiser } from '../../core/types.ts';
import type { NoiseSchedule } from '../../core/schedule.ts';
import { makeSchedule } from '../../core/schedule.ts';
import { AMDM_DEFAULTS } from '../../core/defaults.ts';
import { resolveRule } from '../../core/rule-registry.ts';
import { sampleAMDM, type AMDMOptions, type AMDMResult, type StepTrace } from '../../core/sampler.ts';
import { checkInt, describe } from '../../core/validate.ts';
import { spatialMapOf, type SpatialSpec } from '../../core/spatial.ts';
import { mixtureDenoiser } from '../gmm.ts';
import { evaluateImage, summarize, type ImageEvaluation, type SummaryRow } from './evaluate.ts';
import { EXPERTS, type ExpertName, type ExpertOptions, type ShapesMixture } from './experts.ts';
import { validatePrompt, type ShapesPrompt } from './prompts.ts';
import { makeWorld, type ShapesWorld } from './world.ts';

/** Sampler settings a method or a comparison may set, as `sampleAMDM` takes them. */
type SamplerSettings<K extends keyof AMDMOptions> = Partial<Pick<AMDMOptions, K>>;

/**
 * A spatial weight map of a non-target expert, per prompt: `instances` derives it from the
 * prompt's boxes (1 inside, a linear feather of `feather` pixels outside; `invert` for the
 * complement), or a fixed map / boxes (core `SpatialSpec`, fractions of the image).
 */
export type ShapesSpatial =
  { readonly instances: true; readonly feather?: number; readonly invert?: boolean } | SpatialSpec;

/**
 * A method: its experts, and per-method overrides of the shared settings (s, w, deviation, η, its
 * scale, clipping, rule), and the options beyond the paper: windows, weight schedules (`weights`),
 * spatial maps (one per non-target expert, or null) and the map-restricted deviation step.
 */
export interface ShapesMethod extends SamplerSettings<
  | 'aggregateSteps'
  | 'weights'
  | 'deviation'
  | 'eta'
  | 'etaScale'
  | 'clipDeviation'
  | 'rule'
  | 'windows'
  | 'spatialDeviation'
> {
  spatial?: readonly (ShapesSpatial | null)[];
  /** Label in tables and grids, e.g. 'layout' or 'AMDM layout←attribute'. */
  name: string;
  /** Experts sampled together; one expert = that expert alone (plain DDIM). */
  experts: readonly ExpertName[];
  /** Index of the target in `experts` (default 0). */
  target?: number;
}

/** Builds the denoiser of one expert for one prompt (default: the exact JS mixture model). */
export type ExpertDenoiserFactory = (
  mixture: ShapesMixture,
  info: { world: ShapesWorld; prompt: ShapesPrompt; expert: ExpertName; schedule: NoiseSchedule },
) => Denoiser | Promise<Denoiser>;

/** The closed-form experts in JS (exact ε of each expert's mixture): the default. */
export const jsExpertFactory: ExpertDenoiserFactory = (mix, info) =>
  mixtureDenoiser(mix, info.schedule, { name: info.expert });

/**
 * The shared settings: T (default 50), s (default 20), w (default 0.5), deviation (eq. 9), η
 * (default 0.3, √d-scaled), rule (slerp), η_ddim: AMDM_DEFAULTS. A method's own deviation also takes its η and
 * etaScale from the method only, since η means a fraction for one mode and a length for the other.
 */
export interface ShapesCompareOptions extends SamplerSettings<
  'steps' | 'aggregateSteps' | 'weights' | 'deviation' | 'eta' | 'etaScale' | 'rule' | 'ddimEta'
> {
  world?: ShapesWorld;
  prompts: readonly ShapesPrompt[];
  methods: readonly ShapesMethod[];
  /** Samples per prompt and method (the batch B). Default 4. */
  samplesPerPrompt?: number;
  /** Prompt p is sampled with seed + p. Default 0. */
  seed?: number;
  schedule?: NoiseSchedule;
  /** Options per expert (e.g. { attribute: { jitter: 1 } }); `seed` defaults to the prompt's. */
  expertOptions?: Partial<Record<ExpertName, Record<string, unknown>>>;
  denoiserFactory?: ExpertDenoiserFactory;
  /** Keep the sampled images of the first k prompts (default 0). */
  keepImages?: number;
  onProgress?: (p: { done: number; total: number; method: string; prompt: number }) => void;
  /** Called with every step trace of every run (for experiments on the geometry). */
  onStep?: (trace: StepTrace, run: { method: string; prompt: number }) => void;
  signal?: AbortSignal;
}

export interface ShapesMethodResult {
  name: string;
  experts: readonly ExpertName[];
  target: number;
  evaluations: ImageEvaluation[];
  summary: { overall: SummaryRow; levels: SummaryRow[] };
  /** Model calls summed over prompts. */
  calls: number;
  /** Images of the first `keepImages` prompts: one Float32Array (B·dim) per prompt. */
  images: Float32Array[];
}

export interface ShapesCompareResult {
  world: ShapesWorld;
  prompts: readonly ShapesPrompt[];
  samplesPerPrompt: number;
  methods: ShapesMethodResult[];
}

export async function compareOnShapes(opts: ShapesCompareOptions): Promise<ShapesCompareResult> {
  const world = opts.world ?? makeWorld();
  if (!Array.isArray(opts.prompts) || opts.prompts.length < 1)
    throw new RangeError(`prompts must be a non-empty array of Shapes prompts, got ${describe(opts.prompts)}`);
  const prompts = opts.prompts.map((p, i) => validatePrompt(world, p, `prompts[${i}]`));
  if (!Array.isArray(opts.methods) || opts.methods.length < 1)
    throw new RangeError(`methods must be a non-empty array, got ${describe(opts.methods)}`);
  opts.methods.forEach(checkMethod);
  if (opts.rule !== undefined) resolveRule(opts.rule);
  const B = checkInt('samplesPerPrompt', opts.samplesPerPrompt ?? 4, 1, 100_000);
  const steps = opts.steps ?? AMDM_DEFAULTS.steps;
  const seed = checkInt('seed', opts.seed ?? 0, 0, Number.MAX_SAFE_INTEGER - prompts.length);
  const keep = checkInt('keepImages', opts.keepImages ?? 0, 0);
  const schedule = opts.schedule ?? makeSchedule();
  const factory: ExpertDenoiserFactory = opts.denoiserFactory ?? jsExpertFactory;
  const needed: ExpertName[] = [...new Set(opts.methods.flatMap((m: ShapesMethod) => [...m.experts]))];
  const results: ShapesMethodResult[] = opts.methods.map((m) => ({
    name: m.name,
    experts: m.experts,
    target: m.target ?? 0,
    evaluations: [],
    summary: undefined as never,
    calls: 0,
    images: [],
  }));
  const total = prompts.length * opts.methods.length;
  let done = 0;
  for (let p = 0; p < prompts.length; p++) {
    const prompt = prompts[p];
    const models = await expertModels(opts, { world, prompt, seed: seed + p, schedule, needed, factory });
    for (let mi = 0; mi < opts.methods.length; mi++) {
      const m = opts.methods[mi];
      const r = await sampleMethod(opts, m, { world, prompt, p, models, steps, B, seed: seed + p, schedule });
      const res = results[mi];
      res.calls += r.totalCalls;
      for (let b = 0; b < B; b++)
        res.evaluations.push(evaluateImage(world, prompt, r.latents.subarray(b * world.dim, (b + 1) * world.dim)));
      if (p < keep) res.images.push(r.latents.slice());
      done++;
      opts.onProgress?.({ done, total, method: m.name, prompt: p });
    }
    for (const d of models.values()) await (d as { release?: () => unknown }).release?.();
  }
  for (const r of results) r.summary = summarize(r.evaluations);
  return { world, prompts, samplesPerPrompt: B, methods: results };
}

/** A method's experts, names and targets checked. */
function checkMethod(m: ShapesMethod, i: number): void {
  if (!Array.isArray(m.experts) || m.experts.length < 1)
    throw new RangeError(`methods[${i}].experts must list ≥ 1 expert name`);
  (m.experts as readonly ExpertName[]).forEach((e: ExpertName, j: number) => {
    if (!Object.hasOwn(EXPERTS, e))
      throw new RangeError(
        `methods[${i}].experts[${j}] must be one of ${Object.keys(EXPERTS)
          .map((k) => `'${k}'`)
          .join(', ')}, got ${describe(e)}`,
      );
  });
  checkInt(`methods[${i}].target`, m.target ?? 0, 0, m.experts.length - 1);
  if (m.rule !== undefined) resolveRule(m.rule);
}

/** The experts the methods need, as denoisers of one prompt (its seed, the factory's backend). */
async function expertModels(
  opts: ShapesCompareOptions,
  c: {
    world: ShapesWorld;
    prompt: ShapesPrompt;
    seed: number;
    schedule: NoiseSchedule;
    needed: readonly ExpertName[];
    factory: ExpertDenoiserFactory;
  },
): Promise<Map<ExpertName, Denoiser>> {
  const { world, prompt, schedule } = c;
  const models = new Map<ExpertName, Denoiser>();
  for (const e of c.needed) {
    const eo = { seed: c.seed, ...(opts.expertOptions?.[e] ?? {}) } as ExpertOptions;
    const mix = (EXPERTS[e] as (w: ShapesWorld, pr: ShapesPrompt, o: ExpertOptions) => ShapesMixture)(
      world,
      prompt,
      eo,
    );
    models.set(e, await c.factory(mix, { world, prompt, expert: e, schedule }));
  }
  return models;
}

/** One method's AMDM run on one prompt: B samples from the prompt's seed. */
function sampleMethod(
  opts: ShapesCompareOptions,
  m: ShapesMethod,
  c: {
    world: ShapesWorld;
    prompt: ShapesPrompt;
    p: number;
    models: Map<ExpertName, Denoiser>;
    steps: number;
    B: number;
    seed: number;
    schedule: NoiseSchedule;
  },
): Promise<AMDMResult> {
  const { world, prompt, p, models, steps, B, seed, schedule } = c;
  return sampleAMDM({
    models: m.experts.map((e: ExpertName) => models.get(e)!),
    target: m.target ?? 0,
    steps,
    aggregateSteps:
      m.experts.length > 1 ? (m.aggregateSteps ?? opts.aggregateSteps ?? AMDM_DEFAULTS.aggregateSteps) : 0,
    weights: m.weights ?? opts.weights,
    windows: m.windows,
    spatialWeights: m.spatial?.map((sp: ShapesSpatial | null, j: number) =>
      sp === null ? null : shapesSpatialMap(world, prompt, sp, `spatial[${j}]`),
    ),
    spatialDeviation: m.spatialDeviation,
    ...deviationOf(m, opts),
    rule: m.rule ?? opts.rule,
    ddimEta: opts.ddimEta,
    shape: [world.channels, world.height, world.width],
    batch: B,
    seed,
    schedule,
    signal: opts.signal,
    onStep: opts.onStep ? (t) => opts.onStep!(t, { method: m.name, prompt: p }) : undefined,
  });
}

/** A method's deviation settings: its own when it names a deviation mode, else the shared ones. */
function deviationOf(
  m: ShapesMethod,
  opts: ShapesCompareOptions,
): Pick<ShapesMethod, 'deviation' | 'eta' | 'etaScale' | 'clipDeviation'> {
  if (m.deviation !== undefined)
    return { deviation: m.deviation, eta: m.eta, etaScale: m.etaScale, clipDeviation: m.clipDeviation };
  return {
    deviation: opts.deviation,
    eta: m.eta ?? opts.eta,
    etaScale: m.etaScale ?? opts.etaScale,
    clipDeviation: m.clipDeviation,
  };
}

/** The map (H×W) of a method's spatial entry for one prompt. */
export function shapesSpatialMap(
  world: ShapesWorld,
  prompt: ShapesPrompt,
  sp: ShapesSpatial,
  name = 'spatial',
): Float32Array {
  const shape = [world.channels, world.height, world.width];
  if (!('instances' in sp)) return spatialMapOf(name, sp, shape);
  const boxes = prompt.instances.map(({ box: [x0, y0, x1, y1] }) => [
    x0 / world.width,
    y0 / world.height,
    x1 / world.width,
    y1 / world.height,
  ]);
  return spatialMapOf(name, { boxes, feather: sp.feather, invert: sp.invert }, shape);
}

/** The demo's methods: each expert alone, then AMDM layout ← attribute and layout ← attribute + style. */
export function demoMethods(): ShapesMethod[] {
  return [
    { name: 'layout', experts: ['layout'] },
    { name: 'attribute', experts: ['attribute'] },
    { name: 'style', experts: ['style'] },
    { name: 'AMDM layout←attribute', experts: ['layout', 'attribute'] },
    { name: 'AMDM layout←attribute+style', experts: ['layout', 'attribute', 'style'] },
  ];
}
