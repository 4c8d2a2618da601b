/**
 * `amdm zoo calibrate`: runs each mini-zoo model alone through the ONNX pipeline (the path of
 * `amdm generate`) on MiniMIG prompts of levels L1–L4 and scores every image with the world's
 * exact evaluator. Each model gets the caption variant it was trained on and its family's
 * conditions (src/experiments/zoo/scene.ts); InteractDiffusion-mini needs an interaction, so it skips L1.
 *
 * The output folder (output-folder.ts: checked before any model runs, written whole at the end)
 * holds calibration.json (settings, per-model rows and every image's evaluation),
 * calibration.csv (one row per model × level, value and standard error per metric),
 * calibration.md (the table), refs/ (the style reference PNGs the IP-Adapter model read) and,
 * with --images, images/<model>/<prompt id>-r<k>.png; the table is printed too. Each prompt is
 * generated with `--seeds` noise seeds (image seeds as `amdm zoo bench`, `replicateSeed`).
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { intArg, numberArg } from '../io/options.ts';
import { jsonText } from '../io/files.ts';
import { prepareOutputFolder } from '../io/output-folder.ts';
import { csvText, markdownTable, pm, textTable } from '../jobs/table.ts';
import {
  evaluateScene,
  minimigPromptSet,
  summarizeScenes,
  type MiniMigPrompt,
  type MiniMigSummaryRow,
  type SceneEvaluation,
} from '../toy/minimig/index.ts';
import {
  folderKind,
  folderScalingFactor,
  stylePng,
  unitImageFromRgba,
  zooModelSpec,
} from '../experiments/zoo/scene.ts';
import { addWorkerFlags, checkWorkers, runInWorkers, shareOf, workerThreads, type WorkerShare } from './zoo-workers.ts';
import { MAX_NOISE_SEED, checkNoiseSeed, replicateSeed } from './zoo-methods.ts';

export const CALIBRATE_DEFAULTS = Object.freeze({
  zoo: 'models/mini-zoo',
  perLevel: 50,
  seed: 2024,
  seeds: 1,
  noiseSeed: 0,
  steps: 50,
  guidance: 5,
  out: 'out/zoo-calibration',
});
/** --quick: a smoke run, by default into its own folder (a smoke run never replaces a full run's). */
export const CALIBRATE_QUICK = Object.freeze({ perLevel: 1, steps: 3, out: 'amdm-out/zoo-calibration' });

export interface CalibrateOptions {
  /** Folder holding the model folders (default models/mini-zoo). */
  zoo?: string;
  /** Model folder names inside the zoo (default: every folder with unet/model.onnx, sorted). */
  models?: readonly string[];
  perLevel?: number;
  /** Seed of the prompt set. */
  seed?: number;
  /** Noise seeds per prompt (image seeds as `amdm zoo bench`: `replicateSeed`). */
  seeds?: number;
  /** Base of the image seeds. */
  noiseSeed?: number;
  steps?: number;
  guidance?: number;
  out?: string;
  /** A smoke run (--quick): never replaces the folder of a full run. */
  quick?: boolean;
  /** onnxruntime intra-op threads (0 = its default; with workers, the cores divided among them). */
  threads?: number;
  /** Worker processes generating images side by side (same results for any number). */
  workers?: number;
  /** Also write every generated image to images/<model>/<prompt id>-r<k>.png. */
  images?: boolean;
  /** Receives one line per finished model. */
  log?: (line: string) => void;
}

export interface ModelCalibration {
  name: string;
  kind: string;
  /** Prompts the family cannot take (InteractDiffusion without an interaction). */
  skipped: number;
  overall: MiniMigSummaryRow;
  levels: MiniMigSummaryRow[];
  images: { id: string; level: number; replicate: number; seed: number; evaluation: SceneEvaluation }[];
}

/** Every zoo folder with a UNet, sorted by name. */
async function zooModels(zoo: string): Promise<string[]> {
  const entries = await readdir(zoo, { withFileTypes: true }).catch((e: Error) => {
    throw new Error(`--zoo: cannot read the zoo folder ${zoo}: ${e.message}`);
  });
  const names = entries
    .filter((e) => e.isDirectory() && existsSync(join(zoo, e.name, 'unet', 'model.onnx')))
    .map((e) => e.name);
  if (names.length === 0) throw new RangeError(`--zoo: ${zoo} holds no model folder (a folder with unet/model.onnx)`);
  return names.sort();
}

export const METRICS = [
  ['instance_success', 'instance success', (r: MiniMigSummaryRow) => r.instanceSuccess],
  ['miou', 'mIoU', (r: MiniMigSummaryRow) => r.mIoU],
  ['interaction_success', 'interaction success', (r: MiniMigSummaryRow) => r.interactionSuccess],
  ['relation_success', 'relation success', (r: MiniMigSummaryRow) => r.relationSuccess],
  ['image_success', 'image success', (r: MiniMigSummaryRow) => r.imageSuccess],
  ['style_success', 'style success', (r: MiniMigSummaryRow) => r.styleSuccess],
  ['clean_rate', 'clean rate', (r: MiniMigSummaryRow) => r.cleanRate],
] as const;

/** Per-level and overall rows of one named run (a model alone, or a benchmark method). */
export type SummaryRows = Pick<ModelCalibration, 'name' | 'levels' | 'overall'>;

const rowsOf = (m: SummaryRows) => [...m.levels, m.overall].map((r) => ({ model: m.name, r }));
const levelName = (r: MiniMigSummaryRow) => (r.level === 'all' ? 'all' : `L${r.level}`);

export function calibrationCsv(models: readonly SummaryRows[], first = 'model'): string {
  const header = [first, 'level', 'images', ...METRICS.flatMap(([k]) => [k, `${k}_se`])];
  const lines = models.flatMap(rowsOf).map(({ model, r }) => [
    model,
    levelName(r),
    r.images,
    ...METRICS.flatMap(([, , f]) => {
      const e = f(r);
      return e ? [e.value, e.se] : [null, null];
    }),
  ]);
  return csvText(header, lines);
}

export function tableRows(models: readonly SummaryRows[], first = 'model'): { header: string[]; rows: string[][] } {
  const header = [first, 'level', 'images', ...METRICS.map(([, h]) => h)];
  const rows = models
    .flatMap(rowsOf)
    .map(({ model, r }) => [model, levelName(r), String(r.images), ...METRICS.map(([, , f]) => pm(f(r)))]);
  return { header, rows };
}

interface ModelRun {
  name: string;
  folder: string;
  prompts: readonly MiniMigPrompt[];
  seeds: number;
  noiseSeed: number;
  refPath: (id: string) => string;
  steps: number;
  guidance: number;
  threads: number;
  /** Receives each generated PNG (image name `<prompt id>-r<k>`, bytes), or null. */
  onImage: ((name: string, png: Uint8Array) => void) | null;
  /** Worker processes (zoo-workers.ts): what they need to rebuild this run, and their count. */
  workers?: { count: number; task: CalibrateShareTask };
  /** Inside a worker: its share of the prompts. */
  share?: WorkerShare;
}

/** A worker's calibration task: plain data from which it rebuilds the prompts and their style files. */
interface CalibrateShareTask {
  name: string;
  folder: string;
  perLevel: number;
  seed: number;
  /** Folder of the style references, `<prompt id>.png`. */
  refs: string;
  steps: number;
  guidance: number;
  threads: number;
  images: boolean;
  seeds: number;
  noiseSeed: number;
}

type ShareResult = { images: ModelCalibration['images']; skipped: number; pngs: [string, Uint8Array][] };

/** A worker's share of one model's calibration: its images, skips and PNGs. */
export async function calibrateShare(o: CalibrateShareTask & { share: WorkerShare }): Promise<ShareResult> {
  const pngs: [string, Uint8Array][] = [];
  const r = await calibrateModel({
    ...o,
    prompts: minimigPromptSet({ perLevel: o.perLevel, seed: o.seed }),
    refPath: (id) => join(o.refs, `${id}.png`),
    onImage: o.images ? (id, png) => pngs.push([id, png]) : null,
  });
  return { images: r.images, skipped: r.skipped, pngs };
}

/** The workers' shares in prompt order. */
async function calibrateInWorkers(m: ModelRun): Promise<ShareResult> {
  const parts = await runInWorkers<ShareResult>('calibrate', { ...m.workers!.task }, m.workers!.count);
  const order = new Map(m.prompts.map((p, i) => [p.id, i]));
  const images = parts.flatMap((r) => r.images).sort((a, b) => order.get(a.id)! - order.get(b.id)!);
  const pngs = parts.flatMap((r) => r.pngs).sort((a, b) => order.get(a[0])! - order.get(b[0])!);
  for (const [id, png] of pngs) m.onImage?.(id, png);
  return { images, skipped: parts.reduce((a, r) => a + r.skipped, 0), pngs: [] };
}

/** One model alone on every prompt it can take, through the pipeline of `amdm generate`. */
async function calibrateModel(m: ModelRun): Promise<ModelCalibration> {
  const { createSdModelPool } = await import('../sd/pipeline-pool.ts');
  const { runPooled } = await import('./zoo-methods.ts');
  await import('../sd/families/index.ts');
  const kind = await folderKind(m.folder);
  const scalingFactor = await folderScalingFactor(m.folder);
  const inWorkers = (m.workers?.count ?? 1) > 1;
  const { images, skipped: skippedThere } = inWorkers
    ? await calibrateInWorkers(m)
    : { images: [] as ModelCalibration['images'], skipped: 0 };
  let skipped = skippedThere;
  // the folder is loaded once; each prompt binds its scene's conditions for its run
  const pool = createSdModelPool({ session: { intraOpNumThreads: m.threads } });
  try {
    for (const p of inWorkers ? [] : shareOf(m.prompts, m.share)) {
      const spec = zooModelSpec(kind, p.scene, m.folder, m.name, m.refPath(p.id));
      if (spec === null) {
        skipped++;
        continue;
      }
      for (let k = 0; k < m.seeds; k++) {
        const seed = replicateSeed(p, k, m.noiseSeed);
        const run = {
          prompt: spec.prompt,
          negativePrompt: '',
          steps: m.steps,
          guidance: m.guidance,
          seed,
          scalingFactor,
        };
        const r = await runPooled(pool, [spec], run);
        const evaluation = evaluateScene(p.scene, unitImageFromRgba(r.target.images[0]));
        images.push({ id: p.id, level: p.level, replicate: k, seed, evaluation });
        m.onImage?.(`${p.id}-r${k}`, r.target.png[0]);
      }
    }
  } finally {
    await pool.release();
  }
  if (images.length === 0 && !m.share)
    throw new RangeError(`${m.name} (kind ${kind}) could take none of the ${m.prompts.length} prompts`);
  return { name: m.name, kind, skipped, ...summarizeScenes(images.map((i) => i.evaluation)), images };
}

/** Runs the calibration; resolves to the per-model results after writing the files. */
export async function runZooCalibrate(o: CalibrateOptions = {}): Promise<ModelCalibration[]> {
  const d = CALIBRATE_DEFAULTS;
  const zoo = resolve(o.zoo ?? d.zoo);
  const out = o.out ?? (o.quick ? CALIBRATE_QUICK.out : d.out);
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const names = o.models ?? (await zooModels(zoo));
  for (const n of names)
    if (!existsSync(join(zoo, n, 'unet', 'model.onnx')))
      throw new RangeError(`--models: ${join(zoo, n)} is not a model folder (no unet/model.onnx)`);
  const perLevel = o.perLevel ?? d.perLevel;
  const seed = o.seed ?? d.seed;
  const prompts = minimigPromptSet({ perLevel, seed });
  const workers = checkWorkers(o.workers ?? 1);
  const threads = workerThreads(o.threads ?? 0, workers);
  const steps = o.steps ?? d.steps;
  const guidance = o.guidance ?? d.guidance;

  const output = await prepareOutputFolder(out, {
    command: 'zoo calibrate',
    smoke: o.quick ?? false,
    param: '--out',
    writes: /^(calibration\.(json|csv|md)|refs|images)$/,
  });
  const files = new Map<string, Uint8Array | string>();
  // the IP-Adapter model reads its style reference from a file: a scratch folder during the run
  const scratch = await mkdtemp(join(tmpdir(), 'amdm-calibrate-'));
  const refPath = (id: string) => join(scratch, `${id}.png`);
  const results: ModelCalibration[] = [];
  try {
    for (const p of prompts) {
      const png = await stylePng(p.reference);
      await writeFile(refPath(p.id), png);
      files.set(`refs/${p.id}.png`, png);
    }
    const seeds = o.seeds ?? d.seeds;
    const noiseSeed = checkNoiseSeed(o.noiseSeed ?? d.noiseSeed);
    for (const name of names) {
      const t0 = performance.now();
      const onImage = o.images ? (id: string, png: Uint8Array) => files.set(`images/${name}/${id}.png`, png) : null;
      const task = {
        name,
        folder: join(zoo, name),
        perLevel,
        seed,
        refs: scratch,
        steps,
        guidance,
        threads,
        seeds,
        noiseSeed,
      };
      const r = await calibrateModel({
        name,
        folder: join(zoo, name),
        prompts,
        seeds,
        noiseSeed,
        refPath,
        steps,
        guidance,
        threads,
        onImage,
        workers: { count: workers, task: { ...task, images: onImage !== null } },
      });
      results.push(r);
      log(
        `${name}: ${r.images.length} images (${r.skipped} prompts skipped) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }

  const { header, rows } = tableRows(results);
  const settings = {
    zoo,
    models: names,
    prompts: prompts.length,
    perLevel: o.perLevel ?? d.perLevel,
    seed: o.seed ?? d.seed,
    seeds: o.seeds ?? d.seeds,
    noiseSeed: o.noiseSeed ?? d.noiseSeed,
    steps,
    guidance,
    negativePrompt: '',
  };
  files.set('calibration.json', jsonText({ settings, models: results }));
  files.set('calibration.csv', calibrationCsv(results));
  files.set('calibration.md', `${markdownTable(header, rows)}\n`);
  await output.commit(files);
  log(textTable(header, rows));
  return results;
}

export function zooCommand(): Command {
  const d = CALIBRATE_DEFAULTS;
  const zoo = new Command('zoo').description('the learned mini-zoo (models/mini-zoo) on the MiniMIG world');
  addWorkerFlags(zoo.command('calibrate'), 'results')
    .description(
      'each zoo model alone on MiniMIG prompts (L1–L4) through the ONNX pipeline, scored by the exact evaluator; writes calibration.{json,csv,md}',
    )
    .option('--zoo <dir>', 'folder holding the model folders', d.zoo)
    .option(
      '--models <list>',
      'comma-separated model folder names (default: every folder with unet/model.onnx)',
      (v: string) => v.split(','),
    )
    .option('--per-level <n>', 'prompts per level', intArg(1, 100_000), d.perLevel)
    .option('--seed <seed>', 'seed of the prompt set', intArg(0, 2 ** 40), d.seed)
    .option('--seeds <n>', 'noise seeds per prompt', intArg(1, 1000), d.seeds)
    .option(
      '--noise-seed <seed>',
      `base of the image seeds (seed = noise-seed·10¹⁰ + k·10⁷ + the prompt's stream, as zoo bench)`,
      intArg(0, MAX_NOISE_SEED),
      d.noiseSeed,
    )
    .option('--steps <T>', 'DDIM steps', intArg(1, 1000), d.steps)
    .option('--guidance <g>', 'CFG scale (MIGC needs ≠ 1)', numberArg(0, 100), d.guidance)
    .option('--out <dir>', `output folder (default ${d.out}; with --quick ${CALIBRATE_QUICK.out})`)
    .option('--images', 'also write every generated image to images/<model>/<id>-r<k>.png (k: the noise seed index)')
    .option(
      '--quick',
      `smoke run: ${CALIBRATE_QUICK.perLevel} prompt per level, ${CALIBRATE_QUICK.steps} steps (overrides --per-level and --steps)`,
    )
    .action(async (opts) => {
      const { perLevel, steps } = CALIBRATE_QUICK;
      await runZooCalibrate({ ...opts, ...(opts.quick ? { perLevel, steps } : {}) });
    });
  zoo
    .command('jobs')
    .description(
      'writes the example jobs examples/jobs/mini-*.json (each zoo model alone, and AMDM with the paper settings) and their style reference PNG',
    )
    .option('--out <dir>', 'folder of the jobs', 'examples/jobs')
    .option('--zoo <dir>', 'folder holding the model folders', d.zoo)
    .action(async (opts) => {
      const { writeZooJobs } = await import('./zoo-jobs.ts');
      for (const f of await writeZooJobs(opts)) console.log(`wrote ${f}`);
    });
  return zoo;
}
