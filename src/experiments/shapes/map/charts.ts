/**
 * Heat maps of `amdm experiment map` (Observable Plot): one panel per rule and η scale, with
 * a column per s, η across and w up; each cell shows its rate, marked † when fewer than the
 * clean minimum of its images are on the data.
 */
import * as Plot from '@observablehq/plot';
import type { ExperimentRow } from '../../common.ts';
import type { MapGrid } from './plan.ts';
import type { EtaScaleLabel } from '../../../toy/shapes/map-cell.ts';

const SCALE_TITLES: Record<Exclude<EtaScaleLabel, 'none'>, string> = {
  absolute: 'eq. 9, η absolute',
  sqrtDim: 'eq. 9, η × √d',
  relative: 'relative step, λ',
};

export interface HeatmapOptions {
  grid: MapGrid;
  /** Column shown (a rate in [0, 1]) and its label. */
  value: string;
  label: string;
  cleanMin: number;
  /** The target expert alone, named in each panel's title. */
  baseline?: ExperimentRow;
}

/** A chart with the line of text shown above it. */
export interface TitledPlot {
  title: string;
  plot: Plot.PlotOptions;
}

/** One Plot per (rule, η scale) that has η values; the η = 0 column appears in every panel. */
export function mapHeatmaps(rows: readonly ExperimentRow[], o: HeatmapOptions): TitledPlot[] {
  const out: TitledPlot[] = [];
  const base = o.baseline ? `; ${String(o.baseline.method)}: ${Number(o.baseline[o.value]).toFixed(2)}` : '';
  for (const rule of o.grid.rules) {
    for (const scale of Object.keys(SCALE_TITLES) as Exclude<EtaScaleLabel, 'none'>[]) {
      const etas = o.grid.eta[scale];
      if (etas.length === 0) continue;
      const cells = rows
        .filter((r) => r.rule === rule && (r.scale === scale || r.scale === 'none'))
        .map((r) => ({
          ...r,
          etaCol: String(r.eta),
          v: Number(r[o.value]),
          clean: Number(r.cleanImages) >= o.cleanMin,
        }));
      out.push({
        title: `${rule}, ${SCALE_TITLES[scale]} — ${o.label} by s (aggregated steps of T = ${o.grid.steps})${base}`,
        plot: {
          width: 150 + 130 * o.grid.s.length,
          height: 56 + 28 * o.grid.w.length,
          marginLeft: 50,
          marginTop: 24,
          marginBottom: 36,
          padding: 0.04,
          fx: { label: null, domain: o.grid.s, tickFormat: (s: number) => `s = ${s}` },
          x: { label: scale === 'relative' ? 'λ' : 'η', domain: ['0', ...etas.map(String)] },
          y: { label: 'w', domain: [...o.grid.w].reverse() },
          color: { type: 'linear', domain: [0, 1], scheme: 'viridis' },
          marks: [
            Plot.cell(cells, { fx: 's', x: 'etaCol', y: 'w', fill: 'v', inset: 0.5 }),
            Plot.text(cells, {
              fx: 's',
              x: 'etaCol',
              y: 'w',
              text: (d: { v: number; clean: boolean }) => `${d.v.toFixed(2)}${d.clean ? '' : '†'}`,
              fill: (d: { v: number }) => (d.v > 0.55 ? 'black' : 'white'),
              fontSize: 10,
            }),
          ],
        },
      });
    }
  }
  return out;
}

/**
 * Stacks standalone SVG documents vertically into one, each under its title line (each keeps
 * its own coordinates as a nested <svg>), with an optional caption line at the bottom.
 */
export function stackSVGs(
  charts: readonly { title: string; svg: string }[],
  caption = '† fewer clean images than the minimum: the squares may read right on an image that is off the data',
): string {
  const LINE = 20;
  let y = 0,
    width = 0;
  const parts: string[] = [];
  for (const { title, svg } of charts) {
    const w = Number(/^<svg[^>]*\swidth="([\d.]+)"/.exec(svg)?.[1]);
    const h = Number(/^<svg[^>]*\sheight="([\d.]+)"/.exec(svg)?.[1]);
    if (!Number.isFinite(w) || !Number.isFinite(h))
      throw new Error('stackSVGs: every chart must be an <svg> with numeric width and height');
    parts.push(textLine(10, y + 15, title, 'bold'), svg.replace(/^<svg/, `<svg x="0" y="${y + LINE}"`));
    y += LINE + h;
    width = Math.max(width, w, 20 + 7.5 * title.length);
  }
  if (caption) {
    parts.push(textLine(10, y + 15, caption));
    y += LINE;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}">${parts.join('')}</svg>`;
}

function textLine(x: number, y: number, text: string, weight = 'normal'): string {
  const esc = text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return `<text x="${x}" y="${y}" font-family="sans-serif" font-size="12" font-weight="${weight}">${esc}</text>`;
}
