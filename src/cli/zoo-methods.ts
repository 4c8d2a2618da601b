/**
 * The methods of `amdm zoo bench` and the zoo experiments: each zoo model alone, AMDM over
 * several (the paper's settings, the official-code preset, settings changed after an `@`) and the
 * compositional baselines of Table 5; and one method's image for one prompt and seed, through the
 * ONNX pipeline of `amdm generate`, scored by the MiniMIG evaluator.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { RuleName } from '../core/rules.ts';
import { hasRule, ruleNames } from '../core/rule-registry.ts';
import type { RGBA } from '../image/raster.ts';
import { composeSampler, type ComposeSamplerOptions } from '../sd/compose-sampler.ts';
import type { SdModelSpec, SdResult, SdRunOptions } from '../sd/pipeline.ts';
import type { SdModelPool } from '../sd/pipeline-pool.ts';
import { evaluateScene, type MiniMigPrompt, type SceneEvaluation } from '../toy/minimig/index.ts';
import { folderKind, unitImageFromRgba, zooModelSpec } from '../experiments/zoo/scene.ts';
import {
  BEYOND_KEYS,
  applyBeyondSetting,
  beyondRunOptions,
  checkBeyond,
  type BeyondOptions,
} from '../experiments/zoo/merge-options.ts';

/** Largest `--noise-seed`: noiseSeed·10¹⁰ + 10¹⁰ stays below 2⁵³. */
export const MAX_NOISE_SEED = 900_000;

/**
 * An image's seed: noiseSeed·10¹⁰ + k·10⁷ + the prompt's stream number (level·10⁶ + index), the
 * same for every method and shard, so methods are compared on the same noise. Noise seed k of a
 * prompt (k < 1000) and the base `noiseSeed` (0 … MAX_NOISE_SEED) never collide with another
 * prompt's; another `noiseSeed` draws fresh noise for the same prompts (noiseSeed 0: the seeds
 * of the runs recorded before it existed).
 */
export function replicateSeed(p: MiniMigPrompt, k: number, noiseSeed = 0): number {
  if (!Number.isInteger(k) || k < 0 || k >= 1000)
    throw new RangeError(`replicate must be an integer in [0, 999], got ${k}`);
  return checkNoiseSeed(noiseSeed) * 10_000_000_000 + k * 10_000_000 + p.seed;
}

/** `--noise-seed`: an integer in [0, MAX_NOISE_SEED]. */
export function checkNoiseSeed(v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_NOISE_SEED)
    throw new RangeError(`--noise-seed must be an integer in [0, ${MAX_NOISE_SEED}], got ${String(v)}`);
  return v;
}

export interface MiniMigMethod {
  /** Row label, in the paper's notation: target(+others). */
  label: string;
  /** Zoo folder names; the first is the target. */
  models: readonly string[];
  /** Weight of each other model in eq. 8 (one per model after the first). */
  weights?: readonly number[];
  /** 'reference': the official code's loop (ω 0.5 per other model, optimization in steps 1..3). */
  preset?: 'paper' | 'reference';
  /** η of eq. 9 (×√d, or as given with etaScale 'absolute'; the fraction λ with deviation 'relative') instead of the run's --eta. */
  eta?: number;
  /** 'eq9' (default, the paper's fixed-length step) or 'relative' (x′ + λ(μ − x′), never overshoots). */
  deviation?: 'eq9' | 'relative';
  /** eq9's η scale: 'sqrtDim' (default, η·√d) or 'absolute' (η as an L2 length). */
  etaScale?: 'sqrtDim' | 'absolute';
  /** Aggregation rule instead of slerp (eq. 8). */
  rule?: RuleName;
  /** s, the aggregated steps, instead of the run's --s. */
  aggregateSteps?: number;
  /** A compositional baseline (Table 5) over the models instead of AMDM; the target is scored. */
  compose?: ComposeSamplerOptions;
  /** Windows, weight ramps and spatial maps beyond the paper (experiments/zoo/merge-options.ts). */
  beyond?: BeyondOptions;
}

const ID = 'interactdiffusion-mini';
const MIGC = 'migc-mini';
const IP = 'ipadapter-mini';

/** The methods of the paper's tables on the zoo; weights as in the paper (MIGC 0.5, IP-Adapter 0.65). */
export const MINIMIG_METHODS: Readonly<Record<string, MiniMigMethod>> = Object.freeze({
  base: { label: 'mini SD (base) alone', models: ['base'] },
  interact: { label: 'InteractDiffusion-mini alone', models: [ID] },
  migc: { label: 'MIGC-mini alone', models: [MIGC] },
  ip: { label: 'IP-Adapter-mini alone', models: [IP] },
  'interact+migc': { label: 'InteractDiffusion-mini(+MIGC-mini)', models: [ID, MIGC], weights: [0.5] },
  'migc+interact': { label: 'MIGC-mini(+InteractDiffusion-mini)', models: [MIGC, ID], weights: [0.5] },
  'interact+ip': { label: 'InteractDiffusion-mini(+IP-Adapter-mini)', models: [ID, IP], weights: [0.65] },
  'interact+migc+ip': {
    label: 'InteractDiffusion-mini(+MIGC-mini, +IP-Adapter-mini)',
    models: [ID, MIGC, IP],
    weights: [0.5, 0.65],
  },
  'interact+migc:reference': {
    label: 'InteractDiffusion-mini(+MIGC-mini), reference preset',
    models: [ID, MIGC],
    preset: 'reference',
  },
  'interact+migc:eta0': {
    label: 'InteractDiffusion-mini(+MIGC-mini), η = 0',
    models: [ID, MIGC],
    weights: [0.5],
    eta: 0,
  },
  'interact+migc:eta1': {
    label: 'InteractDiffusion-mini(+MIGC-mini), η = 1·√d',
    models: [ID, MIGC],
    weights: [0.5],
    eta: 1,
  },
  'interact+migc:lerp': {
    label: 'InteractDiffusion-mini(+MIGC-mini), lerp',
    models: [ID, MIGC],
    weights: [0.5],
    rule: 'lerp',
  },
  'interact+migc:nlerp': {
    label: 'InteractDiffusion-mini(+MIGC-mini), nlerp',
    models: [ID, MIGC],
    weights: [0.5],
    rule: 'nlerp',
  },
  // Table 5 analog: the compositional baselines over the same two models (sd/compose-sampler.ts)
  'interact+migc:sum': {
    label: 'sum of ε, DDPM (Du et al. 2023)',
    models: [ID, MIGC],
    compose: { method: 'sum' },
  },
  'interact+migc:sum-ddim': {
    label: 'sum of ε, DDIM η = 0',
    models: [ID, MIGC],
    compose: { method: 'sum', step: 'ddim' },
  },
  'interact+migc:sum-uhmc': {
    label: 'sum of ε + U-HMC (K = 4; Du et al. 2023)',
    models: [ID, MIGC],
    compose: { method: 'sum', mcmcSteps: 4 },
  },
  'interact+migc:projective': {
    label: 'projective, background mini SD on the caption (Bradley et al. 2025)',
    models: [ID, MIGC, 'base'],
    compose: { method: 'projective' },
  },
  'interact+migc:fkc': {
    label: 'FKC product, N = 4 particles (Skreta et al. 2025)',
    models: [ID, MIGC],
    compose: { method: 'fkc', particlesPerSample: 4 },
  },
  'interact+migc+ip:sum': {
    label: 'sum of ε over the three, DDPM',
    models: [ID, MIGC, IP],
    compose: { method: 'sum' },
  },
});

const OVERRIDE_KEYS = ['rule', 'w', 's', 'eta', 'deviation', 'scale'] as const;

/**
 * A method by name: a key of {@link MINIMIG_METHODS}, or an aggregated one with settings changed
 * after an `@` — `interact+migc@rule=lerp,w=0.9,s=40,eta=0` (rule: a registered rule name,
 * built-in or from `amdm --import`; w: the weight of every other model; s: aggregated steps; eta:
 * η of eq. 9 ×√d; scale=absolute: η as an L2 length instead; deviation=relative: the
 * non-overshooting step x′ + λ(μ − x′) with λ = eta ∈ [0, 1]). The parameter map of the
 * Shapes world (`amdm experiment map`) is run on the zoo with such names. Beyond the paper:
 * start, sched, wend, map, feather, mapdev (windows, weight ramps, maps from the prompt's boxes;
 * experiments/zoo/merge-options.ts).
 */
export function resolveMethod(name: string): MiniMigMethod {
  const allowed = () =>
    `allowed: ${Object.keys(MINIMIG_METHODS).join(', ')}, or <aggregated method>@${OVERRIDE_KEYS.map((k) => `${k}=…`).join(',')}`;
  if (typeof name !== 'string') throw new RangeError(`--methods: a method must be a string; ${allowed()}`);
  const [baseName, overrides, extra] = name.split('@');
  if (!Object.hasOwn(MINIMIG_METHODS, baseName) || extra !== undefined)
    throw new RangeError(`--methods: unknown method '${name}'; ${allowed()}`);
  const base = MINIMIG_METHODS[baseName];
  if (overrides === undefined) return base;
  if (base.models.length < 2 || base.preset === 'reference' || base.compose)
    throw new RangeError(
      `--methods: '${name}': settings after @ need an aggregated method of the paper's algorithm, got '${baseName}'`,
    );
  const m: MutableMethod = { ...base };
  for (const kv of overrides.split(',')) {
    const [k, v] = kv.split('=');
    applySetting(m, k, v, name);
  }
  if (m.beyond) checkBeyond(m.beyond, name, m.aggregateSteps);
  if (m.deviation === 'relative' && m.etaScale !== undefined)
    throw new RangeError(`--methods: '${name}': deviation=relative takes no scale (its η is a fraction λ ∈ [0, 1])`);
  if (m.deviation === 'relative' && m.eta !== undefined && m.eta > 1)
    throw new RangeError(`--methods: '${name}': with deviation=relative, eta is a fraction λ in [0, 1], got ${m.eta}`);
  m.label = `${base.label}, ${overrides.replaceAll(',', ', ')}`;
  return Object.freeze(m);
}

type MutableMethod = { -readonly [K in keyof MiniMigMethod]: MiniMigMethod[K] };

/** One `key=value` setting after the `@` of method `name`, checked and applied to `m`. */
function applySetting(m: MutableMethod, k: string, v: string | undefined, name: string): void {
  const fail = (what: string) => new RangeError(`--methods: '${name}': ${k} must be ${what}, got '${v}'`);
  const num = (lo: number, hi: number, integer: 'integer' | 'number') => {
    const x = Number(v);
    const bad = v === undefined || v.trim() === '' || !Number.isFinite(x) || x < lo || x > hi;
    if (bad || (integer === 'integer' && !Number.isInteger(x)))
      throw fail(`${integer === 'integer' ? 'an integer' : 'a number'} in [${lo}, ${hi}]`);
    return x;
  };
  if (k === 'rule') {
    if (v === undefined || !hasRule(v)) throw fail(`one of ${ruleNames().join(', ')}`);
    m.rule = v as RuleName;
  } else if (k === 'w') m.weights = m.models.slice(1).map(() => num(0, 1, 'number'));
  else if (k === 's') m.aggregateSteps = num(0, 1000, 'integer');
  else if (k === 'eta') m.eta = num(0, 1e6, 'number');
  else if (k === 'deviation') {
    if (v !== 'eq9' && v !== 'relative') throw fail('eq9 or relative');
    m.deviation = v;
  } else if (k === 'scale') {
    if (v !== 'sqrtDim' && v !== 'absolute') throw fail('sqrtDim or absolute');
    m.etaScale = v;
  } else if (!applyBeyondSetting((m.beyond ??= {}), k, v, name))
    throw new RangeError(
      `--methods: '${name}': unknown setting '${k}'; allowed: ${[...OVERRIDE_KEYS, ...BEYOND_KEYS].join(', ')}`,
    );
}

/**
 * The official loop's settings on two models, as `amdm bench coco-mig --preset reference`
 * (infer800.py: ω 0.5, deviation optimization in iterations 1..3, p 45 / 55); with T < 4 steps
 * (smoke runs) the window ends at the last iteration, T − 1.
 */
function referenceSettings(steps: number) {
  return { omegas: [0.5], optimStart: Math.min(1, steps - 1), optimEnd: Math.min(3, steps - 1), p: [45, 55] };
}

/** The pipeline's model specs and run options of one method on one prompt, or null when it cannot take it. */
export function methodRun(
  m: MiniMigMethod,
  kinds: ReadonlyMap<string, string>,
  zoo: string,
  p: MiniMigPrompt,
  ref: string,
): { models: SdModelSpec[] } | null {
  const models: SdModelSpec[] = [];
  for (const name of m.models) {
    const spec = zooModelSpec(kinds.get(name)!, p.scene, join(zoo, name), name, ref);
    if (spec === null) return null;
    models.push(spec);
  }
  return { models };
}

/** The family of every zoo folder the methods use; names a missing folder. */
export async function zooKinds(zoo: string, methods: readonly string[]): Promise<Map<string, string>> {
  const kinds = new Map<string, string>();
  for (const name of new Set(methods.flatMap((m) => resolveMethod(m).models))) {
    if (!existsSync(join(zoo, name, 'unet', 'model.onnx')))
      throw new RangeError(`--zoo: ${join(zoo, name)} is not a model folder (no unet/model.onnx)`);
    kinds.set(name, await folderKind(join(zoo, name)));
  }
  return kinds;
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
  const { generateSd } = await import('../sd/pipeline.ts');
  await import('../sd/families/index.ts');
  const { steps, aggregateSteps, eta, guidance } = c.settings;
  const seed = replicateSeed(c.prompt, c.replicate, c.settings.noiseSeed ?? 0);
  const run: SdRunOptions = {
    prompt: r.models[0].prompt!,
    negativePrompt: '',
    steps,
    guidance,
    seed,
    scalingFactor: c.scalingFactor,
    ...(m.compose
      ? { sampler: composeSampler(m.compose) }
      : r.models.length === 1
        ? { aggregateSteps: 0 }
        : m.preset === 'reference'
          ? { preset: 'reference' as const, reference: referenceSettings(steps) }
          : {
              aggregateSteps: Math.min(m.aggregateSteps ?? aggregateSteps, steps),
              weights: [...m.weights!],
              ...(m.beyond &&
                beyondRunOptions(m.beyond, {
                  scene: c.prompt.scene,
                  s: Math.min(m.aggregateSteps ?? aggregateSteps, steps),
                  weights: m.weights!,
                })),
              eta: m.eta ?? eta,
              ...(m.deviation === 'relative'
                ? { deviation: 'relative' as const }
                : { etaScale: m.etaScale ?? ('sqrtDim' as const) }),
              rule: m.rule ?? 'slerp',
            }),
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

/** One run over pooled folders: the models' conditions bound for this run only. */
export async function runPooled(pool: SdModelPool, models: SdModelSpec[], run: SdRunOptions): Promise<SdResult> {
  const pipe = await pool.prepare({ models });
  try {
    return await pipe.run(run);
  } finally {
    await pipe.release();
  }
}
