/**
 * `amdm zoo bench`: the MiniMIG benchmark, the COCO-MIG runner's analog on the learned mini-zoo.
 * Every method (a zoo model alone, or AMDM over several) generates an image for each prompt of a
 * fixed MiniMIG prompt set (levels L1–L4, with interactions and styles, src/toy/minimig/prompts.ts)
 * and each of `seeds` noise seeds, through the ONNX pipeline of `amdm generate`; the world's
 * exact evaluator scores every image.
 *
 * Like `amdm bench coco-mig` the run folder is resumable and shardable:
 * - `settings.json` records the settings before the first image; a rerun (or another shard) with
 *   other settings is refused, naming each setting that differs;
 * - each image's score is one record, `records/<method>/<prompt id>-r<k>.json`, written
 *   atomically; a record that exists and parses is not generated again;
 * - `--shard i/n` takes every n-th (prompt, seed) pair, all methods for each;
 * - once every record of the whole set exists (the last shard to finish, or any rerun), the
 *   summary is written from the records: results.json, results.csv (per method × level, value
 *   and standard error per metric), table.md and chart.svg.
 * An image's seed is the prompt's stream number + k·10⁷ (k = 0 … seeds − 1): it depends neither
 * on the sharding nor on the method, so methods are compared on the same noise.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as Plot from '@observablehq/plot';
import { plotToSVG } from '../image/plot.ts';
import { parseShard, shardItems, type Shard } from '../sd/coco-mig.ts';
import type { RGBA } from '../image/raster.ts';
import type { RuleName } from '../core/rules.ts';
import { hasRule, ruleNames } from '../core/rule-registry.ts';
import type { SdModelSpec, SdRunOptions } from '../sd/pipeline.ts';
import {
  evaluateScene,
  minimigPromptSet,
  summarizeScenes,
  type MiniMigPrompt,
  type SceneEvaluation,
} from '../toy/minimig/index.ts';
import { createFileAtomic, ensureDir, jsonText, sweepTempFiles, writeFileAtomic } from './files.ts';
import { markdownTable } from '../jobs/table.ts';
import { METRICS, calibrationCsv, tableRows, type SummaryRows } from './zoo-calibrate.ts';
import { composeSampler, type ComposeSamplerOptions } from '../sd/compose-sampler.ts';
import { folderKind, folderScalingFactor, stylePng, unitImageFromRgba, zooModelSpec } from './zoo-scene.ts';

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
 * Shapes world (`amdm experiment map`) is run on the zoo with such names.
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
  const m: { -readonly [K in keyof MiniMigMethod]: MiniMigMethod[K] } = { ...base };
  for (const kv of overrides.split(',')) {
    const [k, v] = kv.split('=');
    const num = (lo: number, hi: number, int = false) => {
      const x = Number(v);
      if (
        v === undefined ||
        v.trim() === '' ||
        !Number.isFinite(x) ||
        x < lo ||
        x > hi ||
        (int && !Number.isInteger(x))
      ) {
        throw new RangeError(
          `--methods: '${name}': ${k} must be ${int ? 'an integer' : 'a number'} in [${lo}, ${hi}], got '${v}'`,
        );
      }
      return x;
    };
    if (k === 'rule') {
      if (!hasRule(v))
        throw new RangeError(`--methods: '${name}': rule must be one of ${ruleNames().join(', ')}, got '${v}'`);
      m.rule = v as RuleName;
    } else if (k === 'w') m.weights = base.models.slice(1).map(() => num(0, 1));
    else if (k === 's') m.aggregateSteps = num(0, 1000, true);
    else if (k === 'eta') m.eta = num(0, 1e6);
    else if (k === 'deviation' && (v === 'eq9' || v === 'relative')) m.deviation = v;
    else if (k === 'scale' && (v === 'sqrtDim' || v === 'absolute')) m.etaScale = v;
    else if (k === 'deviation' || k === 'scale')
      throw new RangeError(
        `--methods: '${name}': ${k} must be ${k === 'deviation' ? 'eq9 or relative' : 'sqrtDim or absolute'}, got '${v}'`,
      );
    else throw new RangeError(`--methods: '${name}': unknown setting '${k}'; allowed: ${OVERRIDE_KEYS.join(', ')}`);
  }
  if (m.deviation === 'relative' && m.etaScale !== undefined)
    throw new RangeError(`--methods: '${name}': deviation=relative takes no scale (its η is a fraction λ ∈ [0, 1])`);
  if (m.deviation === 'relative' && m.eta !== undefined && m.eta > 1)
    throw new RangeError(`--methods: '${name}': with deviation=relative, eta is a fraction λ in [0, 1], got ${m.eta}`);
  m.label = `${base.label}, ${overrides.replaceAll(',', ', ')}`;
  return Object.freeze(m);
}

/**
 * The official loop's settings on two models, as `amdm bench coco-mig --preset reference`
 * (infer800.py: ω 0.5, deviation optimization in iterations 1..3, p 45 / 55); with T < 4 steps
 * (smoke runs) the window ends at the last iteration, T − 1.
 */
function referenceSettings(steps: number) {
  return { omegas: [0.5], optimStart: Math.min(1, steps - 1), optimEnd: Math.min(3, steps - 1), p: [45, 55] };
}

export const BENCH_DEFAULTS = Object.freeze({
  zoo: 'models/mini-zoo',
  methods: ['interact', 'migc', 'interact+migc'] as readonly string[],
  levels: [1, 2, 3, 4] as readonly number[],
  perLevel: 25,
  seeds: 2,
  promptSeed: 2024,
  steps: 50,
  aggregateSteps: 20,
  eta: 0.3,
  guidance: 5,
  out: 'out/minimig-bench',
});
/** --quick: a smoke run. */
export const BENCH_QUICK = Object.freeze({ perLevel: 1, seeds: 1, steps: 3, aggregateSteps: 1 });

export interface BenchOptions {
  zoo?: string;
  /** Keys of {@link MINIMIG_METHODS}. */
  methods?: readonly string[];
  levels?: readonly number[];
  perLevel?: number;
  /** Noise seeds per prompt. */
  seeds?: number;
  /** Seed of the prompt set. */
  promptSeed?: number;
  steps?: number;
  aggregateSteps?: number;
  /** η of eq. 9, ×√d. */
  eta?: number;
  guidance?: number;
  out?: string;
  /** "i/n", "auto" or undefined (everything). */
  shard?: string;
  shardCount?: number;
  env?: Readonly<Record<string, string | undefined>>;
  /** Also write every image to images/<method>/<prompt id>-r<k>.png. */
  images?: boolean;
  /** onnxruntime intra-op threads (0 = its default). */
  threads?: number;
  log?: (line: string) => void;
}

/** One image's record. */
export interface BenchRecord {
  method: string;
  id: string;
  level: number;
  replicate: number;
  seed: number;
  evaluation: SceneEvaluation;
  /** UNet calls of all models for this image. */
  calls: number;
  /** Wall time of the generation (load, sample, decode), seconds. */
  seconds: number;
}

export interface MethodSummary extends SummaryRows {
  label: string;
  /** Prompts the method's models cannot take (InteractDiffusion needs an interaction). */
  skipped: number;
  /** Mean UNet calls and wall seconds per image. */
  calls: number;
  seconds: number;
}

export interface BenchResult {
  outputDir: string;
  shard: Shard;
  written: number;
  skipped: number;
  /** The summary, once every record of the set exists; else null. */
  methods: MethodSummary[] | null;
}

const replicateSeed = (p: MiniMigPrompt, k: number) => p.seed + k * 10_000_000;
/** A method's folder name: its name with the characters of `@rule=…,w=…` settings replaced by '_'. */
const methodFolder = (method: string) => method.replace(/[^A-Za-z0-9+.:_-]/g, '_');
const recordPath = (out: string, method: string, id: string, k: number) =>
  join(out, 'records', methodFolder(method), `${id}-r${k}.json`);

async function readRecord(path: string): Promise<BenchRecord | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as BenchRecord;
  } catch {
    return null;
  }
}

function checkMethods(methods: readonly string[]): void {
  if (!Array.isArray(methods) || methods.length === 0)
    throw new RangeError(`--methods must name at least one of ${Object.keys(MINIMIG_METHODS).join(', ')}`);
  for (const m of methods) resolveMethod(m);
  if (new Set(methods).size !== methods.length)
    throw new RangeError(`--methods names a method twice: ${methods.join(',')}`);
}

/** Records the settings in the folder, or checks them against the recorded ones (naming what differs). */
async function claimSettings(out: string, settings: Record<string, unknown>): Promise<void> {
  const file = join(out, 'settings.json');
  if (await createFileAtomic(file, jsonText({ command: 'zoo bench', settings }))) return;
  const recorded = (JSON.parse(await readFile(file, 'utf8')) as { settings: Record<string, unknown> }).settings;
  const diffs = Object.keys(settings)
    .filter((k) => JSON.stringify(recorded[k]) !== JSON.stringify(settings[k]))
    .map((k) => `${k} ${JSON.stringify(settings[k])} here, ${JSON.stringify(recorded[k])} there`);
  if (diffs.length)
    throw new RangeError(
      `${out} holds a run with other settings (${diffs.join('; ')}); resume with the same settings or give another --out`,
    );
}

/** The pipeline's model specs and run options of one method on one prompt, or null when it cannot take it. */
function methodRun(
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
  settings: { steps: number; aggregateSteps: number; eta: number; guidance: number };
  threads: number;
  scalingFactor: number | undefined;
}

export interface MethodImage {
  seed: number;
  evaluation: SceneEvaluation;
  image: RGBA;
  png: Uint8Array;
  /** UNet calls of all models. */
  calls: number;
  /** Wall time of load, sampling and decoding, seconds. */
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
  const seed = replicateSeed(c.prompt, c.replicate);
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
              eta: m.eta ?? eta,
              ...(m.deviation === 'relative'
                ? { deviation: 'relative' as const }
                : { etaScale: m.etaScale ?? ('sqrtDim' as const) }),
              rule: m.rule ?? 'slerp',
            }),
  };
  const t0 = performance.now();
  const g = await generateSd({ models: r.models, session: { intraOpNumThreads: c.threads }, ...run });
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

/** Runs (this shard of) the benchmark; writes the summary when the whole set is done. */
export async function runMiniMigBench(o: BenchOptions = {}): Promise<BenchResult> {
  const d = BENCH_DEFAULTS;
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const methods = o.methods ?? d.methods;
  checkMethods(methods);
  const zoo = resolve(o.zoo ?? d.zoo);
  const steps = o.steps ?? d.steps;
  const aggregateSteps = o.aggregateSteps ?? Math.min(d.aggregateSteps, steps);
  if (aggregateSteps > steps) throw new RangeError(`--s must be ≤ --steps (${steps}), got ${aggregateSteps}`);
  const seeds = o.seeds ?? d.seeds;
  const settings = {
    methods,
    levels: o.levels ?? d.levels,
    perLevel: o.perLevel ?? d.perLevel,
    seeds,
    promptSeed: o.promptSeed ?? d.promptSeed,
    steps,
    aggregateSteps,
    eta: o.eta ?? d.eta,
    guidance: o.guidance ?? d.guidance,
  };
  const prompts = minimigPromptSet({ perLevel: settings.perLevel, seed: settings.promptSeed, levels: settings.levels });
  const shard = parseShard(o.shard, o.env ?? process.env, o.shardCount);
  const kinds = await zooKinds(zoo, methods);
  for (const name of methods) {
    if (prompts.every((p) => methodRun(resolveMethod(name), kinds, zoo, p, '') === null)) {
      throw new RangeError(
        `--methods: '${name}' can take none of the prompts of levels ${settings.levels.join(', ')} (InteractDiffusion needs an interaction: level ≥ 2)`,
      );
    }
  }
  const out = await ensureDir(o.out ?? d.out, '--out');
  sweepTempFiles(out);
  await claimSettings(out, settings);

  const pairs = prompts.flatMap((p) => Array.from({ length: seeds }, (_, k) => ({ p, k })));
  const mine = shardItems(pairs, shard);
  const refs = await ensureDir(join(out, 'refs'));
  const refPath = (id: string) => join(refs, `${id}.png`);
  const scalingFactor = await folderScalingFactor(join(zoo, resolveMethod(methods[0]).models[0]));
  let written = 0;
  let skipped = 0;
  for (const { p, k } of mine) {
    if (!existsSync(refPath(p.id))) await writeFileAtomic(refPath(p.id), await stylePng(p.reference));
    for (const name of methods) {
      const path = recordPath(out, name, p.id, k);
      if ((await readRecord(path)) !== null) {
        skipped++;
        continue;
      }
      const g = await generateMethodImage(name, {
        kinds,
        zoo,
        prompt: p,
        replicate: k,
        refPath: refPath(p.id),
        settings,
        threads: o.threads ?? 0,
        scalingFactor,
      });
      if (g === null) continue;
      if (o.images)
        await writeFileAtomic(
          join(await ensureDir(join(out, 'images', methodFolder(name))), `${p.id}-r${k}.png`),
          g.png,
        );
      const { evaluation, calls, seconds, seed } = g;
      const rec: BenchRecord = {
        method: name,
        id: p.id,
        level: p.level,
        replicate: k,
        seed,
        evaluation,
        calls,
        seconds,
      };
      await ensureDir(join(out, 'records', methodFolder(name)));
      await writeFileAtomic(path, jsonText(rec));
      written++;
    }
  }
  log(
    `shard ${shard.index}/${shard.count}: ${mine.length} (prompt, seed) pairs × ${methods.length} methods, ${written} images generated, ${skipped} already done`,
  );
  const summary = await summarize(out, settings, prompts, kinds, zoo);
  if (summary === null) log('the summary is written once every shard has finished');
  else log(`wrote ${out}/{results.json,results.csv,table.md,chart.svg}\n${markdownTable(...tableArgs(summary))}`);
  return { outputDir: out, shard, written, skipped, methods: summary };
}

function tableArgs(methods: readonly MethodSummary[]): [string[], string[][]] {
  const { header, rows } = tableRows(
    methods.map((m) => ({ ...m, name: m.label })),
    'method',
  );
  const perMethod = methods[0].levels.length + 1;
  return [
    [...header, 'UNet calls', 's / image'],
    rows.map((r, i) => {
      const m = methods[Math.floor(i / perMethod)];
      return [...r, String(m.calls), m.seconds.toFixed(2)];
    }),
  ];
}

/** Reads every record of the set; null while any is missing. Writes the summary files. */
async function summarize(
  out: string,
  settings: { methods: readonly string[]; seeds: number },
  prompts: readonly MiniMigPrompt[],
  kinds: ReadonlyMap<string, string>,
  zoo: string,
): Promise<MethodSummary[] | null> {
  const methods: MethodSummary[] = [];
  for (const name of settings.methods) {
    const m = resolveMethod(name);
    const recs: BenchRecord[] = [];
    let skipped = 0;
    for (const p of prompts) {
      if (methodRun(m, kinds, zoo, p, '') === null) {
        skipped++;
        continue;
      }
      for (let k = 0; k < settings.seeds; k++) {
        const r = await readRecord(recordPath(out, name, p.id, k));
        if (r === null) return null;
        recs.push(r);
      }
    }
    const mean = (f: (r: BenchRecord) => number) => recs.reduce((a, r) => a + f(r), 0) / recs.length;
    methods.push({
      name,
      label: m.label,
      skipped,
      ...summarizeScenes(recs.map((r) => r.evaluation)),
      calls: mean((r) => r.calls),
      seconds: mean((r) => r.seconds),
    });
  }
  const [header, rows] = tableArgs(methods);
  await writeFileAtomic(join(out, 'results.json'), jsonText({ command: 'zoo bench', settings, methods }));
  await writeFileAtomic(join(out, 'results.csv'), calibrationCsv(methods, 'method'));
  await writeFileAtomic(join(out, 'table.md'), `${markdownTable(header, rows)}\n`);
  await writeFileAtomic(join(out, 'chart.svg'), plotToSVG(benchChart(methods), { figure: 'svg' }));
  return methods;
}

/** Overall value ± 2 SE of each metric per method (one panel per metric). */
export function benchChart(methods: readonly MethodSummary[]): Plot.PlotOptions {
  const pts = methods.flatMap((m) =>
    METRICS.flatMap(([, metric, f]) => {
      const e = f(m.overall);
      return e
        ? [
            {
              method: m.label,
              metric,
              value: e.value,
              lo: Math.max(0, e.value - 2 * e.se),
              hi: Math.min(1, e.value + 2 * e.se),
            },
          ]
        : [];
    }),
  );
  return {
    title: 'MiniMIG benchmark on the learned mini-zoo (overall, ± 2 SE)',
    x: { label: 'rate', domain: [0, 1], grid: true },
    y: { label: null },
    fy: { label: null },
    marginLeft: 330,
    marginRight: 110,
    height: 80 + 22 * pts.length,
    marks: [
      Plot.ruleY(pts, { y: 'method', fy: 'metric', x1: 'lo', x2: 'hi', stroke: 'method' }),
      Plot.dot(pts, { y: 'method', fy: 'metric', x: 'value', fill: 'method', r: 4 }),
      Plot.frame({ strokeOpacity: 0.2 }),
    ],
  };
}
