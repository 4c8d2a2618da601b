/**
 * The report of `amdm experiment compose-shapes` (run.ts): a method's row of
 * rates and costs, table.md and chart.svg.
 */
import * as Plot from '@observablehq/plot';
import type { ImageEvaluation } from '../../../toy/shapes/evaluate.ts';
import { markdownTable } from '../../../jobs/table.ts';
import type { ExperimentRow } from '../../common.ts';
import { RATE_HEADERS, rateCells, rateColumns } from '../common.ts';
import type { ComposeMethod, MethodRun } from './methods.ts';

/** A row of results.json/csv: the method's description, rates with SEs, costs. */
export type ComposeRow = ExperimentRow;

/** What one method spent and produced over the prompts. */
export interface Tally {
  evaluations: ImageEvaluation[];
  epsCalls: number;
  logDensityCalls: number;
  /** Σ calls × batch size. */
  epsEvals: number;
  logDensityEvals: number;
  ms: number;
  acceptance: number[];
  resamples: number[];
}

/** A tally before the first prompt. */
export function emptyTally(): Tally {
  return {
    evaluations: [],
    epsCalls: 0,
    logDensityCalls: 0,
    epsEvals: 0,
    logDensityEvals: 0,
    ms: 0,
    acceptance: [],
    resamples: [],
  };
}

/** Adds one method's run on one prompt (`ms` of wall time, the evaluations of its kept samples). */
export function recordRun(tally: Tally, run: MethodRun, ms: number, evaluations: readonly ImageEvaluation[]): void {
  tally.ms += ms;
  tally.epsCalls += run.eps;
  tally.logDensityCalls += run.logq;
  tally.epsEvals += run.epsEvals;
  tally.logDensityEvals += run.logqEvals;
  if (run.acceptance !== undefined) tally.acceptance.push(run.acceptance);
  if (run.resamples !== undefined) tally.resamples.push(run.resamples);
  tally.evaluations.push(...evaluations);
}

/** A method's row: its description, rates with SEs, model evaluations per prompt and per kept sample, wall time. */
export function composeRow(m: ComposeMethod, t: Tally, prompts: number, kept: number): ComposeRow {
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
  return {
    method: m.name,
    group: m.group,
    kind: m.kind,
    experts: m.experts.join('+'),
    particlesPerSample: m.particlesPerSample ?? 1,
    ...rateColumns(t.evaluations),
    epsCallsPerPrompt: t.epsCalls / prompts,
    logDensityCallsPerPrompt: t.logDensityCalls / prompts,
    epsPerSample: t.epsEvals / kept,
    logDensityPerSample: t.logDensityEvals / kept,
    seconds: t.ms / 1000,
    secondsPerPrompt: t.ms / 1000 / prompts,
    acceptance: mean(t.acceptance),
    resamplesPerPrompt: mean(t.resamples),
  };
}

/** table.md: rates ± SE, model evaluations (ε and log q separately) and wall time. */
export function composeTable(rows: readonly ComposeRow[]): string {
  const num = (v: unknown, d = 0) => (v === null || v === undefined ? '—' : Number(v).toFixed(d));
  return markdownTable(
    [
      'method',
      ...RATE_HEADERS,
      'ε calls / prompt',
      'log q calls / prompt',
      'ε / sample',
      'log q / sample',
      'wall s',
      'HMC accept',
      'resamples',
    ],
    rows.map((r) => [
      String(r.method),
      ...rateCells(r),
      num(r.epsCallsPerPrompt),
      num(r.logDensityCallsPerPrompt),
      num(r.epsPerSample),
      num(r.logDensityPerSample),
      num(r.seconds, 1),
      num(r.acceptance, 2),
      num(r.resamplesPerPrompt, 1),
    ]),
  );
}

const GROUP_COLORS: Record<string, string> = {
  'single expert': '#777777',
  'layout+attribute': '#1f77b4',
  '+style': '#d62728',
};

/**
 * Instance success (±2 SE) against model evaluations per kept sample (ε + log q), log x axis.
 * Points carry their table row number; the key on the right lists the methods by group (a
 * standalone SVG has no room for Plot's HTML legend).
 */
export function composeChart(rows: readonly ComposeRow[]): Plot.PlotOptions {
  const pts = rows.map((r, i) => ({
    id: i + 1,
    group: String(r.group),
    method: String(r.method),
    cost: Number(r.epsPerSample) + Number(r.logDensityPerSample),
    y: Number(r.instanceSuccess),
    lo: Math.max(0, Number(r.instanceSuccess) - 2 * Number(r.instanceSuccessSE)),
    hi: Math.min(1, Number(r.instanceSuccess) + 2 * Number(r.instanceSuccessSE)),
  }));
  const groups = [...new Set(pts.map((p) => p.group))];
  const colorOf = (g: string) => GROUP_COLORS[g] ?? '#2ca02c';
  let line = 0;
  const key = groups.map((g) => {
    const lines = [g, ...pts.filter((p) => p.group === g).map((p) => `  ${p.id}  ${p.method}`)];
    const mark = Plot.text([lines.join('\n')], {
      frameAnchor: 'top-right',
      textAnchor: 'start',
      lineAnchor: 'top',
      dx: 14,
      dy: line * 12,
      fill: colorOf(g),
      fontSize: 10,
    });
    line += lines.length + 0.5;
    return mark;
  });
  return {
    width: 900,
    height: Math.max(420, line * 12 + 60),
    marginRight: 330,
    marginTop: 30,
    x: {
      type: 'log',
      label: 'model evaluations per kept sample (ε + log q) →',
      domain: [Math.min(...pts.map((p) => p.cost)) / 1.25, Math.max(...pts.map((p) => p.cost)) * 1.25],
    },
    y: { label: '↑ instance success (±2 SE)', domain: [0, 1] },
    grid: true,
    marks: [
      Plot.ruleX(pts, {
        x: 'cost',
        y1: 'lo',
        y2: 'hi',
        stroke: (d: { group: string }) => colorOf(d.group),
        strokeOpacity: 0.6,
      }),
      Plot.dot(pts, { x: 'cost', y: 'y', fill: (d: { group: string }) => colorOf(d.group), r: 4 }),
      // row numbers, nudged up/level/down in turn so that coinciding points stay readable
      ...[-1, 0, 1].map((k) =>
        Plot.text(
          pts.filter((p) => ((p.id % 3) + 3) % 3 === k + 1),
          { x: 'cost', y: 'y', text: 'id', dx: 7, dy: k * 9, textAnchor: 'start', fontSize: 9 },
        ),
      ),
      ...key,
    ],
  };
}
