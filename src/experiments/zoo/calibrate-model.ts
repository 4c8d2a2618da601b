/**
 * One zoo model alone on the calibration's prompts (calibrate.ts), in this process or dealt to
 * `--workers` processes (workers.ts), through the pipeline of `amdm generate` (a model pool: the
 * folder is loaded once, each prompt binds its scene's conditions), scored by the evaluator.
 */
import { join } from 'node:path';
import {
  evaluateScene,
  minimigPromptSet,
  summarizeScenes,
  type MiniMigPrompt,
  type MiniMigSummaryRow,
  type SceneEvaluation,
} from '../../toy/minimig/index.ts';
import { runPooled } from './method-image.ts';
import { replicateSeed } from './methods.ts';
import { folderKind, folderScalingFactor, unitImageFromRgba, zooModelSpec } from './scene.ts';
import { runInWorkers, shareOf, type WorkerShare } from './workers.ts';

export interface ModelCalibration {
  name: string;
  kind: string;
  /** Prompts the family cannot take (InteractDiffusion without an interaction). */
  skipped: number;
  overall: MiniMigSummaryRow;
  levels: MiniMigSummaryRow[];
  images: { id: string; level: number; replicate: number; seed: number; evaluation: SceneEvaluation }[];
}

/** One model's calibration run. */
export interface ModelRun {
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
  /** Worker processes (workers.ts): what they need to rebuild this run, and their count. */
  workers?: { count: number; task: CalibrateShareTask };
  /** Inside a worker: its share of the prompts. */
  share?: WorkerShare;
}

/** A worker's calibration task: plain data from which it rebuilds the prompts and their style files. */
export interface CalibrateShareTask {
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
export async function calibrateModel(m: ModelRun): Promise<ModelCalibration> {
  const { createSdModelPool } = await import('../../sd/pipeline-pool.ts');
  await import('../../sd/families/index.ts');
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
