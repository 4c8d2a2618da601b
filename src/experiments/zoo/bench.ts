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
 * alone (paired.ts) with standard errors over prompts.
 *
 * Modules: bench-records.ts (the records and settings.json), bench-summary.ts (the summary
 * files), methods.ts and method-image.ts (the methods and their images), workers.ts (--workers).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseShard, shardItems, type Shard } from '../../sd/coco-mig.ts';
import { minimigPromptSet, type MiniMigPrompt } from '../../toy/minimig/index.ts';
import { ensureDir, jsonText, sweepTempFiles, writeFileAtomic } from '../../io/files.ts';
import { markdownTable } from '../../jobs/table.ts';
import type { ExperimentProgress } from '../types.ts';
import { claimSettings, methodFolder, readRecord, recordPath, type ZooBenchRecord } from './bench-records.ts';
import { benchTable, writeBenchSummary, type MethodSummary } from './bench-summary.ts';
import { generateMethodImage } from './method-image.ts';
import { ZOO_METHODS, checkNoiseSeed, methodRun, resolveMethod, zooKinds } from './methods.ts';
import { pairedTable, type PairedSummary } from './paired.ts';
import { folderScalingFactor, stylePng } from './scene.ts';
import { checkWorkers, runInWorkers, shareOf, workerThreads, type WorkerShare } from './workers.ts';

export type { ZooBenchRecord } from './bench-records.ts';
export type { MethodSummary } from './bench-summary.ts';

/** The defaults of `amdm zoo bench`; `out` is the folder named in EXPERIMENTS.md's commands: keep it. */
export const ZOO_BENCH_DEFAULTS = Object.freeze({
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
export const ZOO_BENCH_QUICK = Object.freeze({ perLevel: 1, seeds: 1, steps: 3, aggregateSteps: 1 });

export interface ZooBenchOptions {
  zoo?: string;
  /** Keys of {@link ZOO_METHODS}, or aggregated ones with settings after '@' (`resolveMethod`). */
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
  /** Inside a worker: its share of this shard's images (workers.ts). */
  share?: WorkerShare;
  log?: (line: string) => void;
  /** Called after each (prompt, seed, method) of this process's share: made, found done or skipped. */
  onProgress?: (progress: ExperimentProgress) => void;
}

export interface ZooBenchResult {
  outputDir: string;
  shard: Shard;
  written: number;
  skipped: number;
  /** The summary, once every record of the set exists; else null. */
  methods: MethodSummary[] | null;
  /** Each method's paired differences from its target alone (when that is in the run), with the summary. */
  paired: PairedSummary[] | null;
}

/** The settings every image of a run folder is made with (settings.json records them). */
type BenchSettings = ReturnType<typeof benchSettings>;

function checkMethods(methods: readonly string[]): void {
  if (!Array.isArray(methods) || methods.length === 0)
    throw new RangeError(`--methods must name at least one of ${Object.keys(ZOO_METHODS).join(', ')}`);
  for (const m of methods) resolveMethod(m);
  if (new Set(methods).size !== methods.length)
    throw new RangeError(`--methods names a method twice: ${methods.join(',')}`);
}

/** The options checked, with their defaults, as settings.json records them. */
function benchSettings(o: ZooBenchOptions) {
  const d = ZOO_BENCH_DEFAULTS;
  const methods = o.methods ?? d.methods;
  checkMethods(methods);
  const steps = o.steps ?? d.steps;
  const aggregateSteps = o.aggregateSteps ?? Math.min(d.aggregateSteps, steps);
  if (aggregateSteps > steps) throw new RangeError(`--s must be ≤ --steps (${steps}), got ${aggregateSteps}`);
  return {
    methods,
    levels: o.levels ?? d.levels,
    perLevel: o.perLevel ?? d.perLevel,
    seeds: o.seeds ?? d.seeds,
    promptSeed: o.promptSeed ?? d.promptSeed,
    noiseSeed: checkNoiseSeed(o.noiseSeed ?? d.noiseSeed),
    steps,
    aggregateSteps,
    eta: o.eta ?? d.eta,
    guidance: o.guidance ?? d.guidance,
  };
}

/** A run, checked and its folder claimed, before any image: what the share and the summary need. */
interface BenchRun {
  zoo: string;
  out: string;
  settings: BenchSettings;
  prompts: MiniMigPrompt[];
  shard: Shard;
  kinds: Map<string, string>;
}

/** Checks everything that can fail before an image is made, then claims the run folder. */
async function openBench(o: ZooBenchOptions): Promise<BenchRun> {
  const settings = benchSettings(o);
  const { methods, levels } = settings;
  const zoo = resolve(o.zoo ?? ZOO_BENCH_DEFAULTS.zoo);
  const prompts = minimigPromptSet({ perLevel: settings.perLevel, seed: settings.promptSeed, levels });
  const shard = parseShard(o.shard, o.env ?? process.env, o.shardCount);
  const kinds = await zooKinds(zoo, methods);
  for (const name of methods) {
    if (prompts.every((p) => methodRun(resolveMethod(name), kinds, zoo, p, '') === null)) {
      throw new RangeError(
        `--methods: '${name}' can take none of the prompts of levels ${levels.join(', ')} (InteractDiffusion needs an interaction: level ≥ 2)`,
      );
    }
  }
  const out = await ensureDir(o.out ?? ZOO_BENCH_DEFAULTS.out, '--out');
  if (!o.share) sweepTempFiles(out); // a worker must not sweep the files its siblings are writing
  await claimSettings(out, settings);
  return { zoo, out, settings, prompts, shard, kinds };
}

/** Runs (this shard of) the benchmark; writes the summary when the whole set is done. */
export async function runZooBench(o: ZooBenchOptions = {}): Promise<ZooBenchResult> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const run = await openBench(o);
  const { out, shard, settings } = run;
  const pairs = run.prompts.flatMap((p) => Array.from({ length: settings.seeds }, (_, k) => ({ p, k })));
  const mine = shardItems(pairs, shard);
  const workers = checkWorkers(o.workers ?? 1);
  const threads = workerThreads(o.threads ?? 0, workers);
  // with workers, they generate every image; here only the summary follows
  const counts =
    workers > 1
      ? sumCounts(await runInWorkers<ZooBenchResult>('bench', { ...o, threads }, workers))
      : await generateShare(run, shareOf(mine, o.share), { ...o, threads });
  const { written, skipped } = counts;
  if (o.share) return { outputDir: out, shard, written, skipped, methods: null, paired: null };
  log(
    `shard ${shard.index}/${shard.count}: ${mine.length} (prompt, seed) pairs × ${settings.methods.length} methods, ${written} images generated, ${skipped} already done`,
  );
  const summary = await writeBenchSummary(run);
  if (summary === null) log('the summary is written once every shard has finished');
  else
    log(
      `wrote ${out}/{results.json,results.csv,paired.csv,table.md,chart.svg}\n${markdownTable(...benchTable(summary.methods))}\n\n${pairedTable(summary.paired)}`,
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

function sumCounts(parts: readonly { written: number; skipped: number }[]): { written: number; skipped: number } {
  return {
    written: parts.reduce((a, r) => a + r.written, 0),
    skipped: parts.reduce((a, r) => a + r.skipped, 0),
  };
}

/**
 * Makes the images of `items` this process takes that have no record yet, every method of each
 * (prompt, seed): every folder is loaded once, each image binds its prompt's conditions (the
 * folders are released at the end; an error ends the command, and with it the sessions).
 */
async function generateShare(
  run: BenchRun,
  items: readonly { p: MiniMigPrompt; k: number }[],
  o: ZooBenchOptions & { threads: number },
): Promise<{ written: number; skipped: number }> {
  const { zoo, out, settings, kinds } = run;
  const { methods } = settings;
  const refs = await ensureDir(join(out, 'refs'));
  const refPath = (id: string) => join(refs, `${id}.png`);
  const scalingFactor = await folderScalingFactor(join(zoo, resolveMethod(methods[0]).models[0]));
  const { createSdModelPool } = await import('../../sd/pipeline-pool.ts');
  const pool = createSdModelPool({ session: { intraOpNumThreads: o.threads } });
  const total = items.length * methods.length;
  let [written, skipped, done] = [0, 0, 0];
  for (const { p, k } of items) {
    if (!existsSync(refPath(p.id))) await writeFileAtomic(refPath(p.id), await stylePng(p.reference));
    for (const name of methods) {
      const path = recordPath(out, name, p.id, k);
      if ((await readRecord(path)) !== null) skipped++;
      else {
        const context = { kinds, zoo, prompt: p, replicate: k, refPath: refPath(p.id), settings, scalingFactor };
        const g = await generateMethodImage(name, { ...context, threads: o.threads, pool });
        if (g !== null) {
          if (o.images) await writeImage(out, name, `${p.id}-r${k}.png`, g.png);
          const { evaluation, calls, seconds, seed } = g;
          const rec: ZooBenchRecord = {
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
      o.onProgress?.({ done: ++done, total, label: 'images' });
    }
  }
  await pool.release();
  return { written, skipped };
}

/** images/<method>/<file>. */
async function writeImage(out: string, method: string, file: string, png: Uint8Array): Promise<void> {
  await writeFileAtomic(join(await ensureDir(join(out, 'images', methodFolder(method))), file), png);
}
