/**
 * `amdm bench coco-mig`: the COCO-MIG benchmark images with AMDM over InteractDiffusion (target)
 * and MIGC, as AMDM's `infer800.py` (sources M§4.6, §2.5).
 *
 * - reads the 800-entry mig_bench.json and maps each entry with src/sd/coco-mig.ts (dataset.ts);
 * - shards (`--shard i/n`, or `--shard auto` from a Kubernetes Indexed Job / Slurm job array);
 * - resumes: an image already written AND readable (decodePNG succeeds) is skipped, an
 *   unreadable one is generated again; every image is written atomically (plan.ts);
 * - records the sampling settings in `settings.json` before the first image and resumes only
 *   with the same settings (a rerun with another --steps/--s/--w… is refused, naming the
 *   setting), so a folder never mixes images made with different settings (settings.ts);
 * - checks (and creates) the output folder and sweeps temporary files of killed runs before a
 *   model is loaded;
 * - validates every entry of the shard against both families and folders before a model runs;
 * - reports its progress through `onProgress` (the command draws the bar).
 * Each image's seed is `seed + key` (cocoMigSeed), so an image does not depend on the sharding.
 *
 * The images are made by the SD pipeline of src/sd (a model pool: each folder is loaded once,
 * each entry binds its own conditions), which loads and checks the folders, picks the paper's
 * algorithm or the official loop and decodes with the VAE's scaling factor.
 */
import { throwIfAborted } from '../../core/abort.ts';
import { cocoMigInteract, cocoMigMigc, type CocoMigEntry, type Shard } from '../../sd/coco-mig.ts';
import type { SdModelSpec, SdRunOptions } from '../../sd/pipeline.ts';
import type { SdModelPool } from '../../sd/pipeline-pool.ts';
import { ensureDir, sweepTempFiles, writeFileAtomic } from '../../io/files.ts';
import { cocoMigSeed, pendingImages, planCocoMig, type CocoMigTodo } from './plan.ts';
import {
  claimSettings,
  recordedSettings,
  resolveCocoMigSettings,
  type CocoMigOptions,
  type CocoMigRunSettings,
} from './settings.ts';

export { COCO_MIG_REFERENCE, COCO_MIG_SETTINGS_FILE, type CocoMigOptions } from './settings.ts';
export { cocoMigSeed, planCocoMig, type CocoMigPlan } from './plan.ts';

export interface CocoMigSummary {
  outputDir: string;
  shard: Shard;
  /** Keys of this shard, in order. */
  keys: string[];
  /** Paths written (new or regenerated). */
  written: string[];
  /** Paths already present and readable. */
  skipped: string[];
  /** Paths that were present but unreadable, and were generated again. */
  regenerated: string[];
}

export async function runCocoMig(opts: CocoMigOptions): Promise<CocoMigSummary> {
  const { entries, shard } = await planCocoMig(opts);
  const settings = resolveCocoMigSettings(opts);
  const outputDir = await ensureDir(opts.output, 'output');
  sweepTempFiles(outputDir);
  await claimSettings(outputDir, recordedSettings(settings));
  const { todo, skipped } = await pendingImages(outputDir, entries);
  const summary: CocoMigSummary = {
    outputDir,
    shard,
    keys: entries.map((e) => e.key),
    written: [],
    skipped,
    regenerated: [],
  };
  if (todo.length > 0) await makeImages(opts, settings, todo, summary);
  return summary;
}

/** The two models of an entry: InteractDiffusion (the target) and MIGC, each with the entry's conditions. */
export function cocoMigSpecs(
  folders: { interact: string; migc: string },
  entry: CocoMigEntry,
  migcSteps: number,
): SdModelSpec[] {
  return [
    {
      folder: folders.interact,
      kind: 'interactdiffusion',
      name: 'interactdiffusion',
      conditions: cocoMigInteract(entry),
    },
    { folder: folders.migc, kind: 'migc', name: 'migc', conditions: cocoMigMigc(entry, migcSteps) },
  ];
}

/** The pipeline's run options for the run's settings: the paper's algorithm or the official loop (`preset`). */
export function cocoMigRunOptions(settings: CocoMigRunSettings, entry: CocoMigEntry): SdRunOptions {
  const common = {
    prompt: entry.caption,
    negativePrompt: settings.negativePrompt,
    steps: settings.steps,
    guidance: settings.guidance,
    seed: cocoMigSeed(settings.seed, entry.key),
  };
  if (settings.preset === 'reference') {
    const { omega, optimStart, optimEnd, p } = settings.ref;
    return { ...common, preset: 'reference', reference: { omegas: [omega], optimStart, optimEnd, p } };
  }
  const { aggregateSteps, weight, eta, etaScale, rule } = settings;
  return { ...common, aggregateSteps, weights: weight, eta, etaScale, rule };
}

/**
 * Makes the images left to make, in order, through one model pool. Every entry is prepared (its
 * conditions checked against both folders, one latent shape, one schedule) before the first
 * image is made.
 */
async function makeImages(
  opts: CocoMigOptions,
  settings: CocoMigRunSettings,
  todo: readonly CocoMigTodo[],
  summary: CocoMigSummary,
): Promise<void> {
  const { createSdModelPool } = await import('../../sd/pipeline-pool.ts');
  await import('../../sd/families/index.ts');
  const { device, threads } = settings;
  const pool = createSdModelPool({ session: { device, ...(threads ? { intraOpNumThreads: threads } : {}) } });
  const specs = (entry: CocoMigEntry) => cocoMigSpecs(opts, entry, settings.migcSteps);
  try {
    for (const { entry } of todo) await (await pool.prepare({ models: specs(entry) })).release();
    opts.onProgress?.({ done: 0, total: todo.length, label: 'images' });
    for (const [i, { entry, path, again }] of todo.entries()) {
      throwIfAborted(opts.signal, 'coco-mig run');
      await writeFileAtomic(path, await makeImage(pool, specs(entry), cocoMigRunOptions(settings, entry), opts));
      summary.written.push(path);
      if (again) summary.regenerated.push(path);
      opts.onProgress?.({ done: i + 1, total: todo.length, label: 'images' });
    }
  } finally {
    await pool.release();
  }
}

/** One entry's image as a PNG: its pipeline prepared over the pooled folders, run, and released. */
async function makeImage(
  pool: SdModelPool,
  models: SdModelSpec[],
  run: SdRunOptions,
  opts: Pick<CocoMigOptions, 'signal'>,
): Promise<Uint8Array> {
  const pipe = await pool.prepare({ models });
  try {
    return (await pipe.run({ ...run, signal: opts.signal })).target.png[0];
  } finally {
    await pipe.release();
  }
}
