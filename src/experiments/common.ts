/**
 * What the experiments of every world share: the default output folders, the mean and standard
 * deviation over samples, and the axes of the ‖x‖/√d charts (the Figure 5b analogs).
 */
import path from 'node:path';
import type * as Plot from '@observablehq/plot';

/**
 * The default output folder of an experiment: experiments/out/<name> for a full run (the recorded
 * results), amdm-out/experiments/<name> for a `--quick` smoke run, which never replaces a full
 * run's folder. These names are those of the committed results and of the commands in
 * EXPERIMENTS.md: keep them.
 */
export function experimentFolder(name: string, quick: boolean): string {
  return quick ? path.join('amdm-out', 'experiments', name) : path.join('experiments', 'out', name);
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
