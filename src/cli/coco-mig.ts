/**
 * `amdm bench coco-mig`: generate the COCO-MIG benchmark images with AMDM over
 * InteractDiffusion (target) and MIGC, as AMDM's `infer800.py` (sources M§4.6, §2.5).
 *
 * - reads the 800-entry mig_bench.json and maps each entry with src/sd/coco-mig.ts;
 * - shards (`--shard i/n`, or `--shard auto` from a Kubernetes Indexed Job / Slurm job array);
 * - resumes: an image already written AND readable (decodePNG succeeds) is skipped, an
 *   unreadable one is generated again; every image is written atomically;
 * - records the sampling settings in `settings.json` before the first image and resumes only
 *   with the same settings (a rerun with another --steps/--s/--w… is refused, naming the
 *   setting), so a folder never mixes images made with different settings;
 * - checks (and creates) the output folder and sweeps temporary files of killed runs before a
 *   model is loaded;
 * - validates every entry of the shard against both families and folders before a model runs;
 * - shows a progress bar with ETA on stderr (cli-progress).
 * Each image's seed is `seed + key` (cocoMigSeed), so an image does not depend on the sharding.
 */
import { throwIfAborted } from '../core/abort.ts';
import type { Shard } from '../sd/coco-mig.ts';
import type { ModelFolder } from '../onnx/model-folder.ts';
import cliProgress from 'cli-progress';
import { ensureDir, sweepTempFiles } from '../io/files.ts';
import { claimSettings, recordedSettings, resolveCocoMigSettings, type CocoMigOptions } from './coco-mig-settings.ts';
import { cocoMigSeed, pendingImages, planCocoMig } from './coco-mig-plan.ts';
import { makeCocoMigImage, openCocoMigModels } from './coco-mig-models.ts';

export { COCO_MIG_REFERENCE, COCO_MIG_SETTINGS_FILE, type CocoMigOptions } from './coco-mig-settings.ts';
export { cocoMigSeed, planCocoMig } from './coco-mig-plan.ts';

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
  const s = resolveCocoMigSettings(opts);
  const outputDir = await ensureDir(opts.output, 'output');
  sweepTempFiles(outputDir);
  await claimSettings(outputDir, recordedSettings(s));
  const { todo, skipped } = await pendingImages(outputDir, entries);
  const summary: CocoMigSummary = {
    outputDir,
    shard,
    keys: entries.map((e) => e.key),
    written: [],
    skipped,
    regenerated: [],
  };
  if (todo.length === 0) return summary;
  const folders: ModelFolder[] = [];
  try {
    const models = await openCocoMigModels(
      opts,
      todo.map((t) => t.entry),
      s,
      folders,
    );
    const bar = (opts.progress ?? Boolean(process.stderr.isTTY)) ? progressBar() : null;
    bar?.start(todo.length, 0);
    try {
      for (const { entry, path, again } of todo) {
        throwIfAborted(opts.signal, 'coco-mig run');
        await makeCocoMigImage(models, entry, cocoMigSeed(s.seed, entry.key), s, path, opts.signal);
        summary.written.push(path);
        if (again) summary.regenerated.push(path);
        bar?.increment();
      }
    } finally {
      bar?.stop();
    }
  } finally {
    await Promise.all(folders.map((f) => f.release()));
  }
  return summary;
}

/** The progress bar with ETA on stderr. */
function progressBar(): cliProgress.SingleBar {
  return new cliProgress.SingleBar(
    {
      format: 'coco-mig |{bar}| {value}/{total} images · {duration_formatted} elapsed, ETA {eta_formatted}',
      stream: process.stderr,
      etaBuffer: 10,
    },
    cliProgress.Presets.shades_classic,
  );
}
