/**
 * `amdm zoo calibrate`: runs each mini-zoo model alone through the ONNX pipeline (the path of
 * `amdm generate`) on MiniMIG prompts of levels L1–L4 and scores every image with the world's
 * exact evaluator. Each model gets the caption variant it was trained on and its family's
 * conditions (scene.ts); InteractDiffusion-mini needs an interaction, so it skips L1.
 *
 * The output folder (src/io/output-folder.ts: checked before any model runs, written whole at the end)
 * holds calibration.json (settings, per-model rows and every image's evaluation),
 * calibration.csv (one row per model × level, value and standard error per metric),
 * calibration.md (the table), refs/ (the style reference PNGs the IP-Adapter model read) and,
 * with --images, images/<model>/<prompt id>-r<k>.png; the table is printed too. Each prompt is
 * generated with `--seeds` noise seeds (image seeds as `amdm zoo bench`, `replicateSeed`).
 * calibrate-model.ts runs one model.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { jsonText } from '../../io/files.ts';
import { prepareOutputFolder } from '../../io/output-folder.ts';
import { markdownTable, textTable } from '../../jobs/table.ts';
import { minimigPromptSet, type MiniMigPrompt } from '../../toy/minimig/index.ts';
import { calibrateModel, type ModelCalibration } from './calibrate-model.ts';
import { checkNoiseSeed } from './methods.ts';
import { stylePng } from './scene.ts';
import { summaryCsv, summaryTable } from './tables.ts';
import { checkWorkers, workerThreads } from './workers.ts';

export type { ModelCalibration } from './calibrate-model.ts';

/** The defaults of `amdm zoo calibrate`; `out` is the folder named in EXPERIMENTS.md's commands: keep it. */
export const ZOO_CALIBRATE_DEFAULTS = Object.freeze({
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
export const ZOO_CALIBRATE_QUICK = Object.freeze({ perLevel: 1, steps: 3, out: 'amdm-out/zoo-calibration' });

export interface ZooCalibrateOptions {
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

/** The options checked, with their defaults: everything the models' runs need. */
async function calibration(o: ZooCalibrateOptions) {
  const d = ZOO_CALIBRATE_DEFAULTS;
  const zoo = resolve(o.zoo ?? d.zoo);
  const names = o.models ?? (await zooModels(zoo));
  for (const n of names)
    if (!existsSync(join(zoo, n, 'unet', 'model.onnx')))
      throw new RangeError(`--models: ${join(zoo, n)} is not a model folder (no unet/model.onnx)`);
  const perLevel = o.perLevel ?? d.perLevel;
  const seed = o.seed ?? d.seed;
  const workers = checkWorkers(o.workers ?? 1);
  return {
    zoo,
    names,
    perLevel,
    seed,
    prompts: minimigPromptSet({ perLevel, seed }),
    workers,
    threads: workerThreads(o.threads ?? 0, workers),
    steps: o.steps ?? d.steps,
    guidance: o.guidance ?? d.guidance,
    seeds: o.seeds ?? d.seeds,
    noiseSeed: checkNoiseSeed(o.noiseSeed ?? d.noiseSeed),
  };
}
type Calibration = Awaited<ReturnType<typeof calibration>>;

/** Runs the calibration; resolves to the per-model results after writing the files. */
export async function runZooCalibrate(o: ZooCalibrateOptions = {}): Promise<ModelCalibration[]> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const c = await calibration(o);
  const output = await prepareOutputFolder(o.out ?? (o.quick ? ZOO_CALIBRATE_QUICK.out : ZOO_CALIBRATE_DEFAULTS.out), {
    command: 'zoo calibrate',
    smoke: o.quick ?? false,
    param: '--out',
    writes: /^(calibration\.(json|csv|md)|refs|images)$/,
  });
  const files = new Map<string, Uint8Array | string>();
  const results = await calibrateModels(c, { images: o.images ?? false, files, log });
  const { header, rows } = summaryTable(results);
  const settings = {
    zoo: c.zoo,
    models: c.names,
    prompts: c.prompts.length,
    perLevel: c.perLevel,
    seed: c.seed,
    seeds: c.seeds,
    noiseSeed: c.noiseSeed,
    steps: c.steps,
    guidance: c.guidance,
    negativePrompt: '',
  };
  files.set('calibration.json', jsonText({ settings, models: results }));
  files.set('calibration.csv', summaryCsv(results));
  files.set('calibration.md', `${markdownTable(header, rows)}\n`);
  await output.commit(files);
  log(textTable(header, rows));
  return results;
}

/**
 * Every model alone, one after the other; the style references (refs/) and, with `images`, every
 * image go into `files`. The IP-Adapter model reads its style reference from a file: a scratch
 * folder during the run.
 */
async function calibrateModels(
  c: Calibration,
  o: { images: boolean; files: Map<string, Uint8Array | string>; log: (line: string) => void },
): Promise<ModelCalibration[]> {
  const scratch = await mkdtemp(join(tmpdir(), 'amdm-calibrate-'));
  const refPath = (id: string) => join(scratch, `${id}.png`);
  const results: ModelCalibration[] = [];
  try {
    await writeRefs(c.prompts, refPath, o.files);
    const { perLevel, seed, steps, guidance, threads, seeds, noiseSeed } = c;
    for (const name of c.names) {
      const t0 = performance.now();
      const onImage = o.images ? (id: string, png: Uint8Array) => o.files.set(`images/${name}/${id}.png`, png) : null;
      const folder = join(c.zoo, name);
      const task = { name, folder, perLevel, seed, refs: scratch, steps, guidance, threads, seeds, noiseSeed };
      const workers = { count: c.workers, task: { ...task, images: onImage !== null } };
      const run = { name, folder, prompts: c.prompts, seeds, noiseSeed, refPath, steps, guidance, threads, onImage };
      const r = await calibrateModel({ ...run, workers });
      results.push(r);
      o.log(
        `${name}: ${r.images.length} images (${r.skipped} prompts skipped) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return results;
}

/** Each prompt's style reference, written to its scratch path and kept for refs/. */
async function writeRefs(
  prompts: readonly MiniMigPrompt[],
  refPath: (id: string) => string,
  files: Map<string, Uint8Array | string>,
): Promise<void> {
  for (const p of prompts) {
    const png = await stylePng(p.reference);
    await writeFile(refPath(p.id), png);
    files.set(`refs/${p.id}.png`, png);
  }
}
