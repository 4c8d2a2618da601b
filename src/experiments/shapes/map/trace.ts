/**
 * Why a cell of the map transfers or not, read from the sampler's step traces: per aggregated
 * step, the target's distance ‖x′ − μ_target‖ from the merge to its own step mean, and the
 * length of the step the deviation takes back toward μ_target (η or η·√d for eq. 9, whatever
 * the distance; λ·‖x′ − μ‖ for the relative step). When the step is about as long as the
 * distance, the target continues from about its own proposal and the merge is undone.
 */
import * as Plot from '@observablehq/plot';
import { compareOnShapes } from '../../../toy/shapes/compare.ts';
import { makePromptSet } from '../../../toy/shapes/prompts.ts';
import { makeWorld } from '../../../toy/shapes/world.ts';
import { cellName, cellSettings, type MapCell } from '../../../toy/shapes/map-cell.ts';

export interface TraceRow {
  method: string;
  step: number;
  /** Means over all prompts and samples. */
  distance: number;
  stepLength: number;
  /** Angle between the two proposals, degrees. */
  angle: number;
}

/** Traces layout ← attribute at each cell on `prompts` × `samples` (fresh prompts of `promptSeed`). */
export async function deviationTraces(
  cells: readonly { label: string; cell: MapCell }[],
  o: { steps: number; prompts: number; samples: number; promptSeed: number; seed: number },
): Promise<TraceRow[]> {
  const world = makeWorld();
  const prompts = makePromptSet(world, { seed: o.promptSeed, count: o.prompts, withStyle: true });
  const acc = new Map<string, { method: string; step: number; d: number; l: number; a: number; n: number }>();
  await compareOnShapes({
    world,
    prompts,
    samplesPerPrompt: o.samples,
    steps: o.steps,
    seed: o.seed,
    methods: cells.map(({ label, cell }) => ({
      name: `${label}: ${cellName(cell)}`,
      experts: ['layout', 'attribute'],
      ...cellSettings(cell),
    })),
    onStep: (tr, run) => {
      if (!tr.aggregated) return;
      const relative = cells.find((c) => run.method.startsWith(`${c.label}:`))!.cell.scale === 'relative';
      const key = `${run.method}|${tr.step}`;
      const r = acc.get(key) ?? { method: run.method, step: tr.step, d: 0, l: 0, a: 0, n: 0 };
      const dist = tr.deviations![0],
        ang = tr.angles![0];
      for (let b = 0; b < dist.length; b++) {
        r.d += dist[b];
        r.l += relative ? tr.etas![0] * dist[b] : tr.etas![0];
        r.a += (ang[b] * 180) / Math.PI;
        r.n++;
      }
      acc.set(key, r);
    },
  });
  return [...acc.values()].map((r) => ({
    method: r.method,
    step: r.step,
    distance: r.d / r.n,
    stepLength: r.l / r.n,
    angle: r.a / r.n,
  }));
}

/** One panel per traced cell: the distance and the step length per aggregated step. */
export function traceChart(rows: readonly TraceRow[]): Plot.PlotOptions {
  const long = rows.flatMap((r) => [
    { method: r.method, step: r.step, what: '‖x′ − μ_target‖', value: r.distance },
    { method: r.method, step: r.step, what: 'deviation step length', value: r.stepLength },
  ]);
  return {
    width: 900,
    height: 220 * new Set(rows.map((r) => r.method)).size,
    marginRight: 150,
    marginLeft: 50,
    fy: { axis: null },
    x: { label: 'DDIM step (aggregated steps only)' },
    y: { label: 'length', grid: true },
    marks: [
      Plot.frame({ stroke: '#ddd' }),
      Plot.line(long, { fy: 'method', x: 'step', y: 'value', stroke: 'what', marker: 'circle' }),
      Plot.text(
        long,
        Plot.selectLast({
          fy: 'method',
          x: 'step',
          y: 'value',
          z: 'what',
          text: 'what',
          fill: 'what',
          dx: 6,
          textAnchor: 'start',
        }),
      ),
      Plot.text(
        rows,
        Plot.selectFirst({ fy: 'method', frameAnchor: 'top-left', text: 'method', dx: 6, dy: 6, z: 'method' }),
      ),
    ],
  };
}
