/**
 * What every experiment shares, whatever its world: the flat rows of its tables, and its output
 * folder — experiments/out/<name> for a full run (the recorded results),
 * amdm-out/experiments/<name> for a `--quick` smoke run, which never replaces a full run's folder.
 */
import path from 'node:path';
import type * as Plot from '@observablehq/plot';
import { prepareOutputFolder, type OutputFolder } from '../io/output-folder.ts';

/** A row of an experiment's table (results.json, the CSVs). */
export interface ExperimentRow {
  [key: string]: string | number | null;
}

/** A row's rate `key` with its standard error (the `<key>SE` column). */
export function rowEstimate(r: ExperimentRow, key: string): { value: number; se: number } {
  return { value: Number(r[key]), se: Number(r[`${key}SE`]) };
}

/** Mean and sample standard deviation (n − 1; 0 for one value) of per-sample values. */
export function meanAndSd(xs: readonly number[]): { mean: number; sd: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return { mean, sd: Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, xs.length - 1)) };
}

/** The axes of a chart of ‖x‖/√d per step (the Figure 5b analogs): step across, the norm up on a log scale. */
export function normPerStepAxes(): Plot.PlotOptions {
  return { x: { label: 'step' }, y: { label: '‖x‖/√d', type: 'log' }, color: { legend: true }, grid: true };
}

/**
 * The default output folder: the recorded full runs, or the smoke runs' scratch folder. These names
 * are those of the committed results and of the commands in EXPERIMENTS.md: keep them.
 */
export function experimentFolder(name: string, quick: boolean): string {
  return quick ? path.join('amdm-out', 'experiments', name) : path.join('experiments', 'out', name);
}

/** The files an experiment's folder holds (the map writes its own list). */
const EXPERIMENT_FILES = ['results.json', 'results.csv', 'table.md', 'chart.svg', 'sphere.csv'] as const;

/**
 * Checks (before any sampling) and prepares an experiment's output folder; quick runs are smoke
 * runs. `out`: the folder (errors name it "output folder" when it is the default,
 * experimentFolder(name, quick), and "--out" otherwise). `files`: the names the experiment
 * writes (an earlier version's folder holding only those may be replaced).
 */
export function prepareExperimentOutput(
  name: string,
  quick: boolean,
  out: string,
  files: readonly string[] = EXPERIMENT_FILES,
): Promise<OutputFolder> {
  return prepareOutputFolder(out, {
    command: `experiment ${name}`,
    smoke: quick,
    param: out === experimentFolder(name, quick) ? 'output folder' : '--out',
    writes: new RegExp(`^(${files.map((f) => f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})$`),
  });
}
