/**
 * What every Shapes-world experiment shares (registry.ts lists them): the options beyond the
 * shared run signature, the plan's two sizes, and the rows of rates with standard errors that
 * every table shows.
 */
import { summarize, type ImageEvaluation } from '../../toy/shapes/evaluate.ts';
import { pm } from '../../jobs/table.ts';
import { rowEstimate, type ExperimentRow } from '../common.ts';
import type { Experiment, ExperimentRunOptions } from '../types.ts';

/** The options only some Shapes experiments take (each has its defaults, full and quick). */
export interface ShapesExtra {
  /** Prompts and samples per prompt. */
  prompts?: number;
  samples?: number;
  /** Worker processes sampling methods side by side (map, search-shapes, confirm-shapes; default 1). */
  workers?: number;
  /** Where to print (default console.log). */
  log?: (line: string) => void;
}

/** The options a Shapes experiment's runner takes. */
export type ShapesRunOptions = ExperimentRunOptions & ShapesExtra;

/** A plan in its two sizes: the full run (the recorded results) and the `--quick` smoke run. */
export type PlanBySize<P> = (quick: boolean) => P;

/** A Shapes experiment; `replot` (where there is one) redraws an earlier run's charts and says what it wrote. */
export interface ShapesExperiment<Plan, Result, Extra = ShapesExtra> extends Experiment<Plan, Result, Extra> {
  replot?(plan: Plan, o: { quick: boolean; out: string }): Promise<string>;
}

/** The log of a run: `o.log`, or console.log. */
export function logOf(o: { log?: (line: string) => void }): (line: string) => void {
  return o.log ?? ((l: string) => console.log(l));
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
