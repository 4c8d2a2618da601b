/**
 * What every Shapes-world experiment shares (experiment-registry.ts lists them): the options,
 * the rows of rates with standard errors, and the output folder — experiments/out/<name> for a
 * full run (the recorded results), amdm-out/experiments/<name> for a `--quick` smoke run, which
 * never replaces a full run's folder.
 */
import { summarize, type ImageEvaluation } from '../toy/shapes/evaluate.ts';
import { prepareOutputFolder, type OutputFolder } from '../io/output-folder.ts';
import { pm } from '../jobs/table.ts';
import { experimentFolder } from '../experiments/common.ts';

/** Shared with the zoo's experiments (src/experiments/common.ts). */
export { experimentFolder, meanAndSd, normPerStepAxes } from '../experiments/common.ts';

export interface ExperimentOptions {
  /** The small smoke version (few prompts and steps). */
  quick?: boolean;
  /** Output folder (default experiments/out/<name>; quick: amdm-out/experiments/<name>). */
  out?: string;
  seed?: number;
  /** Prompts and samples per prompt (each experiment has its defaults, full and quick). */
  prompts?: number;
  samples?: number;
  progress?: boolean;
  log?: (line: string) => void;
}

export interface ExperimentRow {
  [key: string]: string | number | null;
}

/**
 * The evaluator's rates over a set of images as flat columns with standard errors: instance,
 * image and style success, mIoU, colour right, IoU ≥ 0.5, clean images. Shared by every
 * Shapes-world experiment table.
 */
export function rateColumns(evaluations: readonly ImageEvaluation[]): ExperimentRow {
  const o = summarize(evaluations).overall;
  const inst = evaluations.flatMap((e) => e.instances);
  const n = inst.length;
  const color = inst.filter((i) => i.colorOk).length / n;
  const pos = inst.filter((i) => i.iou >= 0.5).length / n;
  return {
    instanceSuccess: o.instanceSuccess.value,
    instanceSuccessSE: o.instanceSuccess.se,
    mIoU: o.mIoU.value,
    mIoUSE: o.mIoU.se,
    imageSuccess: o.imageSuccess.value,
    imageSuccessSE: o.imageSuccess.se,
    styleSuccess: o.styleSuccess?.value ?? null,
    styleSuccessSE: o.styleSuccess?.se ?? null,
    colorAccuracy: color,
    colorAccuracySE: Math.sqrt((color * (1 - color)) / n),
    positionAccuracy: pos,
    positionAccuracySE: Math.sqrt((pos * (1 - pos)) / n),
    cleanImages: o.cleanImages.value,
    cleanImagesSE: o.cleanImages.se,
    instances: n,
    images: evaluations.length,
  };
}

/** A row's rate `key` with its standard error (the `<key>SE` column). */
export function rowEstimate(r: ExperimentRow, key: string): { value: number; se: number } {
  return { value: Number(r[key]), se: Number(r[`${key}SE`]) };
}

/** The rate columns every Shapes-world table shows first after the method, and their cells (value ± SE). */
export const RATE_HEADERS = ['instance success', 'mIoU', 'image success', 'style success'] as const;
export function rateCells(r: ExperimentRow): string[] {
  return [
    pm(rowEstimate(r, 'instanceSuccess')),
    pm(rowEstimate(r, 'mIoU')),
    pm(rowEstimate(r, 'imageSuccess')),
    r.styleSuccess === null ? '—' : pm(rowEstimate(r, 'styleSuccess')),
  ];
}

/** The files an experiment's folder holds (the map writes its own list). */
const EXPERIMENT_FILES = ['results.json', 'results.csv', 'table.md', 'chart.svg', 'sphere.csv'] as const;

/**
 * Checks (before any sampling) and prepares an experiment's output folder; quick runs are smoke
 * runs. `files`: the names the experiment writes (an earlier version's folder holding only those
 * may be replaced).
 */
export function prepareExperimentOutput(
  name: string,
  quick: boolean,
  out: string | undefined,
  files: readonly string[] = EXPERIMENT_FILES,
): Promise<OutputFolder> {
  return prepareOutputFolder(out ?? experimentFolder(name, quick), {
    command: `experiment ${name}`,
    smoke: quick,
    param: out === undefined ? 'output folder' : '--out',
    writes: new RegExp(`^(${files.map((f) => f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})$`),
  });
}
