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
 * An image's seed is noiseSeed·10¹⁰ + k·10⁷ + the prompt's stream number (k = 0 … seeds − 1,
 * `replicateSeed`): it depends neither on the sharding nor on the method, so methods are compared
 * on the same noise, and the summary gives each method's paired difference from its target model
 * alone (zoo-paired.ts) with standard errors over prompts.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as Plot from '@observablehq/plot';
import { plotToSVG } from '../image/plot.ts';
import { parseShard, shardItems, type Shard } from '../sd/coco-mig.ts';
import { minimigPromptSet, summarizeScenes, type MiniMigPrompt, type SceneEvaluation } from '../toy/minimig/index.ts';
import { createFileAtomic, ensureDir, jsonText, sweepTempFiles, writeFileAtomic } from '../io/files.ts';
import { markdownTable } from '../jobs/table.ts';
import { METRICS, calibrationCsv, tableRows, type SummaryRows } from './zoo-calibrate.ts';
import { folderScalingFactor, stylePng } from '../experiments/zoo/scene.ts';
import {
  MINIMIG_METHODS,
  checkNoiseSeed,
  generateMethodImage,
  methodRun,
  resolveMethod,
  zooKinds,
} from './zoo-methods.ts';
import { pairedCsv, pairedSummaries, pairedTable, type PairedSummary } from './zoo-paired.ts';
import { checkWorkers, runInWorkers, shareOf, workerThreads, type WorkerShare } from './zoo-workers.ts';

export const BENCH_DEFAULTS = Object.freeze({
  zoo: 'models/mini-zoo',
  methods: ['interact', 'migc', 'interact+migc'] as readonly string[],
  levels: [1, 2, 3, 4] as readonly number[],
  perLevel: 25,
  seeds: 3,
  promptSeed: 2024,
  noiseSeed: 0,
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
  /** Base of the image seeds (`replicateSeed`); 0 … MAX_NOISE_SEED. */
  noiseSeed?: number;
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
  /** onnxruntime intra-op threads (0 = its default; with workers, the cores divided among them). */
  threads?: number;
  /** Worker processes generating images side by side (same records for any number). */
  workers?: number;
  /** Inside a worker: its share of this shard's images (zoo-workers.ts). */
  share?: WorkerShare;
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
  /** Each method's paired differences from its target alone (when that is in the run), with the summary. */
  paired: PairedSummary[] | null;
}

/** A method's folder name: its name with the characters of `@rule=…,w=…` settings replaced by '_'. */
export const methodFolder = (method: string) => method.replace(/[^A-Za-z0-9+.:_-]/g, '_');
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
  // runs recorded before --noise-seed existed drew their images with noise seed 0
  const recorded: Record<string, unknown> = {
    noiseSeed: 0,
    ...(JSON.parse(await readFile(file, 'utf8')) as { settings: Record<string, unknown> }).settings,
  };
  const diffs = Object.keys(settings)
    .filter((k) => JSON.stringify(recorded[k]) !== JSON.stringify(settings[k]))
    .map((k) => `${k} ${JSON.stringify(settings[k])} here, ${JSON.stringify(recorded[k])} there`);
  if (diffs.length)
    throw new RangeError(
      `${out} holds a run with other settings (${diffs.join('; ')}); resume with the same settings or give another --out`,
    );
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
    noiseSeed: checkNoiseSeed(o.noiseSeed ?? d.noiseSeed),
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
  if (!o.share) sweepTempFiles(out); // a worker must not sweep the files its siblings are writing
  await claimSettings(out, settings);

  const pairs = prompts.flatMap((p) => Array.from({ length: seeds }, (_, k) => ({ p, k })));
  const mine = shardItems(pairs, shard);
  const refs = await ensureDir(join(out, 'refs'));
  const refPath = (id: string) => join(refs, `${id}.png`);
  const scalingFactor = await folderScalingFactor(join(zoo, resolveMethod(methods[0]).models[0]));
  const workers = checkWorkers(o.workers ?? 1);
  const threads = workerThreads(o.threads ?? 0, workers);
  // with workers, they generate every image; here only the summary follows
  const parts = workers > 1 ? await runInWorkers<BenchResult>('bench', { ...o, threads }, workers) : [];
  let written = parts.reduce((a, r) => a + r.written, 0);
  let skipped = parts.reduce((a, r) => a + r.skipped, 0);
  // every folder is loaded once; each image binds its prompt's conditions (released after the
  // loop; an error ends the command, and with it the sessions)
  const { createSdModelPool } = await import('../sd/pipeline-pool.ts');
  const pool = createSdModelPool({ session: { intraOpNumThreads: threads } });
  for (const { p, k } of workers > 1 ? [] : shareOf(mine, o.share)) {
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
        threads,
        scalingFactor,
        pool,
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
  await pool.release();
  if (o.share) return { outputDir: out, shard, written, skipped, methods: null, paired: null };
  log(
    `shard ${shard.index}/${shard.count}: ${mine.length} (prompt, seed) pairs × ${methods.length} methods, ${written} images generated, ${skipped} already done`,
  );
  const summary = await summarize(out, settings, prompts, kinds, zoo);
  if (summary === null) log('the summary is written once every shard has finished');
  else
    log(
      `wrote ${out}/{results.json,results.csv,paired.csv,table.md,chart.svg}\n${markdownTable(...tableArgs(summary.methods))}\n\n${pairedTable(summary.paired)}`,
    );
  return {
    outputDir: out,
    shard,
    written,
    skipped,
    methods: summary?.methods ?? null,
    paired: summary?.paired ?? null,
  };
}

function tableArgs(methods: readonly MethodSummary[]): [string[], string[][]] {
  // one method at a time: methods that skip a level (InteractDiffusion at L1) have fewer rows
  const rows = methods.flatMap((m) =>
    tableRows([{ ...m, name: m.label }], 'method').rows.map((r) => [...r, String(m.calls), m.seconds.toFixed(2)]),
  );
  return [[...tableRows([], 'method').header, 'UNet calls', 's / image'], rows];
}

/** Reads every record of the set; null while any is missing. Writes the summary files. */
async function summarize(
  out: string,
  settings: { methods: readonly string[]; seeds: number },
  prompts: readonly MiniMigPrompt[],
  kinds: ReadonlyMap<string, string>,
  zoo: string,
): Promise<{ methods: MethodSummary[]; paired: PairedSummary[] } | null> {
  const methods: MethodSummary[] = [];
  const records = new Map<string, BenchRecord[]>();
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
    records.set(name, recs);
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
  const paired = pairedSummaries(settings.methods, records);
  await writeFileAtomic(join(out, 'results.json'), jsonText({ command: 'zoo bench', settings, methods, paired }));
  await writeFileAtomic(join(out, 'results.csv'), calibrationCsv(methods, 'method'));
  await writeFileAtomic(join(out, 'paired.csv'), pairedCsv(paired));
  await writeFileAtomic(join(out, 'table.md'), `${markdownTable(header, rows)}\n\n${pairedTable(paired)}\n`);
  await writeFileAtomic(join(out, 'chart.svg'), plotToSVG(benchChart(methods), { figure: 'svg' }));
  return { methods, paired };
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
