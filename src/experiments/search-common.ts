/**
 * What the merge searches of both worlds (the Shapes search and the zoo's) share beside the
 * search machinery itself (successive halving, paired differences, the frontier): the seeded
 * draw of settings from an option grid and the Pareto chart of the confirmation.
 */
import * as Plot from '@observablehq/plot';
import { gaussianRng } from '../core/rng.ts';
import { plotToSVG } from '../image/plot.ts';

/** `count` items of `all`, drawn without replacement by a seeded shuffle (Fisher–Yates on stream `stream` of `seed`). */
export function seededSample<T>(all: readonly T[], count: number, seed: number, stream: number): T[] {
  const out = [...all];
  const rng = gaussianRng(seed, stream);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out.slice(0, count);
}

/** One labelled point of the chart: a method of a family (`kind`) with its joint success as the dot's size. */
export interface ParetoPoint {
  label: string;
  kind: string;
  x: number;
  y: number;
  joint: number;
}

export interface ParetoChartOptions {
  width: number;
  marginRight: number;
  x: { label: string; domain: [number, number] };
  y: { label: string; domain: [number, number] };
  /** The joint success's domain (default: the data's). */
  r?: [number, number];
  /** Characters of a label shown. */
  labelChars: number;
}

/**
 * Each family's points, coloured (experts grey, AMDM without the new options blue, with them red,
 * the baselines green; no legend in a standalone SVG: every point is labelled "label (joint)"),
 * and each family's frontier (`frontiers`: kind → labels on it) joined by a dashed line.
 */
export function paretoChart(
  pts: readonly ParetoPoint[],
  frontiers: Record<string, readonly string[]>,
  o: ParetoChartOptions,
): string {
  const line = Object.entries(frontiers).flatMap(([kind, names]) =>
    pts.filter((p) => p.kind === kind && names.includes(p.label)).sort((a, b) => a.x - b.x),
  );
  return plotToSVG(
    {
      width: o.width,
      height: 480,
      marginRight: o.marginRight,
      x: o.x,
      y: o.y,
      color: {
        domain: ['expert', 'amdm', 'amdm+options', 'baseline'],
        range: ['#888', '#4269d0', '#ff725c', '#3ca951'],
      },
      r: { ...(o.r ? { domain: o.r } : {}), range: [3, 9] },
      grid: true,
      marks: [
        Plot.line(line, { x: 'x', y: 'y', z: 'kind', stroke: 'kind', strokeDasharray: '4 3' }),
        Plot.dot(pts, { x: 'x', y: 'y', fill: 'kind', r: 'joint', tip: false }),
        Plot.text(pts, {
          x: 'x',
          y: 'y',
          text: (p: ParetoPoint) => `${p.label.slice(0, o.labelChars)} (${p.joint.toFixed(2)})`,
          dx: 8,
          textAnchor: 'start',
          fontSize: 9,
        }),
      ],
    },
    { figure: 'svg' },
  );
}
