/**
 * The methods of the zoo experiments (`amdm zoo bench`, `zoo experiment`, the mini demo), defined
 * once here: each zoo model alone, AMDM over several (the paper's settings, the official-code
 * preset, settings changed after an `@`) and the compositional baselines of Table 5; the image
 * seeds they share; and each method's model specs on one prompt. method-image.ts makes a
 * method's image.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { RuleName } from '../../core/rules.ts';
import { hasRule, ruleNames } from '../../core/rule-registry.ts';
import type { ComposeSamplerOptions } from '../../sd/compose-sampler.ts';
import type { SdModelSpec } from '../../sd/pipeline.ts';
import type { MiniMigPrompt } from '../../toy/minimig/index.ts';
import { folderKind, zooModelSpec } from './scene.ts';
import { BEYOND_KEYS, applyBeyondSetting, checkBeyond, type BeyondOptions } from './merge-options.ts';

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

/** A method of the zoo experiments: which zoo models, and how they are combined. */
export interface ZooMethod {
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
export const ZOO_METHODS: Readonly<Record<string, ZooMethod>> = Object.freeze({
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
 * A method by name: a key of {@link ZOO_METHODS}, or an aggregated one with settings changed
 * after an `@` — `interact+migc@rule=lerp,w=0.9,s=40,eta=0` (rule: a registered rule name,
 * built-in or from `amdm --import`; w: the weight of every other model; s: aggregated steps; eta:
 * η of eq. 9 ×√d; scale=absolute: η as an L2 length instead; deviation=relative: the
 * non-overshooting step x′ + λ(μ − x′) with λ = eta ∈ [0, 1]). The parameter map of the
 * Shapes world (`amdm experiment map`) is run on the zoo with such names. Beyond the paper:
 * start, sched, wend, map, feather, mapdev (windows, weight ramps, maps from the prompt's boxes;
 * experiments/zoo/merge-options.ts).
 */
export function resolveMethod(name: string): ZooMethod {
  const allowed = () =>
    `allowed: ${Object.keys(ZOO_METHODS).join(', ')}, or <aggregated method>@${OVERRIDE_KEYS.map((k) => `${k}=…`).join(',')}`;
  if (typeof name !== 'string') throw new RangeError(`--methods: a method must be a string; ${allowed()}`);
  const [baseName, overrides, extra] = name.split('@');
  if (!Object.hasOwn(ZOO_METHODS, baseName) || extra !== undefined)
    throw new RangeError(`--methods: unknown method '${name}'; ${allowed()}`);
  const base = ZOO_METHODS[baseName];
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

type MutableMethod = { -readonly [K in keyof ZooMethod]: ZooMethod[K] };

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

/** The pipeline's model specs and run options of one method on one prompt, or null when it cannot take it. */
export function methodRun(
  m: ZooMethod,
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
