/**
 * The report of `amdm experiment map` (run.ts): results.json, the tables, the CSVs,
 * the heat maps and the step traces, all drawn from what results.json holds (so `--replot` can
 * redraw them).
 */
import type { MapCell } from '../../../toy/shapes/map-cell.ts';
import { cellName } from '../../../toy/shapes/map-cell.ts';
import { plotToSVG } from '../../../image/plot.ts';
import { jsonText } from '../../../io/files.ts';
import { rowEstimate as est, type ExperimentRow } from '../../common.ts';
import { csvOfRecords, csvText, markdownTable, pm } from '../../../jobs/table.ts';
import { mapHeatmaps, stackSVGs, type TitledPlot } from './charts.ts';
import { deviationTraces, traceChart, type TraceRow } from './trace.ts';
import { CLEAN_MIN, type MapGrid, type MapPlan, type MapRow } from './plan.ts';

/** What results.json holds (the report and the charts are redrawn from it by `--replot`). */
export interface MapJSON {
  experiment: 'map';
  command: string;
  quick: boolean;
  seed: number;
  seconds: number;
  cleanMin: number;
  plan: MapPlan;
  coarseSize: { prompts: number; samples: number };
  best: MapCell & { name: string };
  coarseBest: string;
  coarse: MapRow[];
  fine: MapRow[];
  three: MapRow[];
}

export function fineTable(rows: readonly ExperimentRow[]): string {
  return markdownTable(
    [
      'method',
      'instance success',
      'Δ vs layout alone',
      'Δ vs attribute alone',
      'mIoU',
      'image success',
      'clean images',
      'calls',
    ],
    rows.map((r) => [
      String(r.method),
      pm(est(r, 'instanceSuccess')),
      r.effectVsLayout === undefined ? '—' : pm(est(r, 'effectVsLayout')),
      r.effectVsAttribute === undefined ? '—' : pm(est(r, 'effectVsAttribute')),
      pm(est(r, 'mIoU')),
      pm(est(r, 'imageSuccess')),
      pm(est(r, 'cleanImages')),
      String(r.calls),
    ]),
  );
}

function threeTable(rows: readonly ExperimentRow[]): string {
  const top = [
    ...rows.filter((r) => r.rule === ''),
    ...[...rows.filter((r) => r.rule !== '' && Number(r.cleanImages) >= CLEAN_MIN)]
      .sort((a, b) => Number(b.instanceSuccess) - Number(a.instanceSuccess))
      .slice(0, 8),
  ];
  return markdownTable(
    ['method', 'instance success', 'style success', 'image success', 'clean images', 'calls'],
    top.map((r) => [
      String(r.method),
      pm(est(r, 'instanceSuccess')),
      pm(est(r, 'styleSuccess')),
      pm(est(r, 'imageSuccess')),
      pm(est(r, 'cleanImages')),
      String(r.calls),
    ]),
  );
}

/** Prompts × samples of the step traces in the report. */
const TRACE_SIZE = { prompts: 6, samples: 4 };

/** The files of a map run's folder, in this order (results.json first). */
export const MAP_FILES = [
  'results.json',
  'table.md',
  'coarse.csv',
  'fine.csv',
  'three.csv',
  'heatmap.svg',
  'heatmap-3.svg',
  'trace.csv',
  'trace.svg',
] as const;

export type MapFiles = Map<(typeof MAP_FILES)[number], string>;

/**
 * results.json, table.md, the CSVs, the heat maps and the step traces (sampled again for three
 * cells, a few seconds), as file name → content.
 */
export async function mapReportFiles(json: MapJSON): Promise<MapFiles> {
  const files: MapFiles = new Map([['results.json', jsonText(json)]]);
  const csv = (rows: readonly ExperimentRow[]) =>
    csvOfRecords(
      rows,
      Object.keys(rows[0]).filter((h) => h !== 'successes'),
    );
  files.set('coarse.csv', csv(json.coarse));
  files.set('fine.csv', csv(json.fine));
  files.set('three.csv', csv(json.three));
  const traceMd = await addTraceFiles(json, files);
  files.set(
    'table.md',
    `${resultsMarkdown(json)}\nStep traces (means over ${TRACE_SIZE.prompts} fine-run prompts × ${TRACE_SIZE.samples} samples; steps 0–2, then every 5th):\n\n${traceMd}\n`,
  );
  addHeatmapFiles(json, files);
  return files;
}

/** table.md's first part: the best cell, the fine run's table and the three models' best cells. */
function resultsMarkdown(json: MapJSON): string {
  return [
    `Best cell (fine run): **${json.best.name}**; coarse best: ${json.coarseBest}.`,
    '',
    `Fine run: the best coarse cell's neighbourhood on fresh prompts (${json.plan.fine.prompts} × ${json.plan.fine.samples}); Δ = paired difference in instance success.`,
    '',
    fineTable(json.fine),
    '',
    `Three models (layout ← attribute + style), best clean cells of ${json.three.length - 3}:`,
    '',
    threeTable(json.three),
    '',
  ].join('\n');
}

/**
 * trace.csv and trace.svg: the step traces of the paper's point, the best cell and η = 0 there
 * (sampled again: cheap). Returns their table for table.md.
 */
async function addTraceFiles(json: MapJSON, files: MapFiles): Promise<string> {
  const { name: _, ...best } = json.best;
  const traced = [
    { label: 'paper', cell: json.plan.paper },
    { label: 'best', cell: best },
    { label: 'η = 0', cell: { ...best, scale: 'none' as const, eta: 0 } },
  ].filter((t, i, all) => all.findIndex((u) => cellName(u.cell) === cellName(t.cell)) === i);
  const traces = await deviationTraces(traced, {
    steps: json.plan.pair.steps,
    prompts: TRACE_SIZE.prompts,
    samples: TRACE_SIZE.samples,
    promptSeed: 2000 + json.seed,
    seed: json.seed,
  });
  files.set(
    'trace.csv',
    csvText(
      ['method', 'step', 'distance', 'stepLength', 'angle'],
      traces.map((t) => [t.method, t.step, t.distance, t.stepLength, t.angle]),
      { quoted: [0] },
    ),
  );
  files.set('trace.svg', plotToSVG(traceChart(traces), { figure: 'svg' }));
  const shown = (t: TraceRow) => t.step < 3 || t.step % 5 === 4;
  return markdownTable(
    ['method', 'step', '‖x′ − μ_target‖', 'step length', 'angle (°)'],
    traces
      .filter(shown)
      .map((t) => [t.method, String(t.step), t.distance.toFixed(2), t.stepLength.toFixed(2), t.angle.toFixed(1)]),
  );
}

/** heatmap.svg (the pair's instance success) and heatmap-3.svg (the three models' instance and style success). */
function addHeatmapFiles(json: MapJSON, files: MapFiles): void {
  const heatmaps = (rows: readonly ExperimentRow[], grid: MapGrid, value: string, label: string) =>
    mapHeatmaps(rows, {
      grid,
      value,
      label,
      cleanMin: json.cleanMin,
      baseline: rows.find((r) => r.method === 'layout alone'),
    });
  const draw = (charts: readonly TitledPlot[]) =>
    stackSVGs(charts.map((c) => ({ title: c.title, svg: plotToSVG(c.plot, { figure: 'svg' }) })));
  files.set('heatmap.svg', draw(heatmaps(json.coarse, json.plan.pair, 'instanceSuccess', 'instance success')));
  const three = heatmaps(json.three, json.plan.three, 'instanceSuccess', 'instance success');
  const threeStyle = heatmaps(json.three, json.plan.three, 'styleSuccess', 'style success');
  files.set('heatmap-3.svg', draw([...three, ...threeStyle]));
}
