/**
 * The playground's three trace charts as Observable Plot options (no DOM here: the page passes
 * them to Plot.plot, tests render them with plotToSVG).
 */
import * as Plot from '@observablehq/plot';
import type { TraceRows } from './run.ts';

const WIDTH = 420;
const HEIGHT = 230;

type Row = Record<string, unknown>;
const perSample = (key: string) => (d: Row) => `${d[key]}#${d.sample}`;

/** Angle θ that slerp interpolates over, per aggregated step, one line per sample. */
export function anglesChart(trace: TraceRows, steps: number): Plot.PlotOptions {
  return {
    width: WIDTH,
    height: HEIGHT,
    grid: true,
    marginLeft: 44,
    x: { label: 'step', domain: [0, steps - 1] },
    y: { label: 'angle θ (degrees, symlog)', type: 'symlog' },
    color: { legend: true },
    marks: [
      Plot.lineY(trace.angles, { x: 'step', y: 'degrees', stroke: 'pair', z: perSample('pair'), strokeOpacity: 0.7 }),
      Plot.dot(trace.angles, { x: 'step', y: 'degrees', fill: 'pair', r: 1.5 }),
    ],
  };
}

/**
 * ‖x′ − μₖ‖ per model and sample (solid) against the eq. 9 step length (dashed): where the
 * dashed line is above a model's distance, the step passes μₖ and lands beyond it.
 */
export function deviationsChart(trace: TraceRows, steps: number): Plot.PlotOptions {
  return {
    width: WIDTH,
    height: HEIGHT,
    grid: true,
    marginLeft: 44,
    x: { label: 'step', domain: [0, steps - 1] },
    y: { label: '‖x′ − μₖ‖ · step length (symlog)', type: 'symlog' },
    color: { legend: true },
    marks: [
      Plot.lineY(trace.deviations, {
        x: 'step',
        y: 'distance',
        stroke: 'model',
        z: perSample('model'),
        strokeOpacity: 0.7,
      }),
      Plot.lineY(trace.etas, { x: 'step', y: 'eta', stroke: 'model', strokeDasharray: '5,3', strokeWidth: 2 }),
    ],
  };
}

/** ‖y‖/√d of every proposal and of the merge, against the sphere the data's latents lie near. */
export function normsChart(trace: TraceRows, steps: number): Plot.PlotOptions {
  return {
    width: WIDTH,
    height: HEIGHT,
    grid: true,
    marginLeft: 44,
    x: { label: 'step', domain: [0, steps - 1] },
    y: { label: '‖x‖ / √d' },
    color: { legend: true },
    marks: [
      Plot.lineY(trace.sphere, { x: 'step', y: 'value', stroke: '#999', strokeWidth: 6, strokeOpacity: 0.35 }),
      Plot.text(
        trace.sphere,
        Plot.selectFirst({
          x: 'step',
          y: 'value',
          text: () => 'sphere √(ᾱ·E x₀² + 1 − ᾱ)',
          dy: -10,
          textAnchor: 'start',
          fill: '#777',
        }),
      ),
      Plot.lineY(trace.norms, { x: 'step', y: 'value', stroke: 'series', z: perSample('series'), strokeOpacity: 0.7 }),
    ],
  };
}

export const CHARTS = [
  { id: 'angles', title: 'Angle between the merged proposals', make: anglesChart },
  { id: 'deviations', title: '‖x′ − μₖ‖ (solid) against the step length η (dashed)', make: deviationsChart },
  { id: 'norms', title: 'Norms of the proposals and of the merge', make: normsChart },
] as const;
