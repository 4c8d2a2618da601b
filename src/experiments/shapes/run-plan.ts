/**
 * The Shapes-world experiments that are a plan of methods run by `compareOnShapes` (experts,
 * eta, rules, sphere, weights; one file each, listed in registry.ts): the plan type and the
 * runner. Each run writes results.json, results.csv, table.md and chart.svg into its output
 * folder; EXPERIMENTS.md records the full runs with their commands, whose output is committed in
 * experiments/out/<name>. `--quick` is the small smoke version CI runs: it writes to
 * amdm-out/experiments/<name> and refuses to replace a full run's folder, so following the
 * README never changes the recorded numbers.
 */
import { AMDM_DEFAULTS } from '../../core/defaults.ts';
import path from 'node:path';
import type * as Plot from '@observablehq/plot';
import {
  compareOnShapes,
  type ShapesCompareResult,
  type ShapesMethod,
  type ShapesMethodResult,
} from '../../toy/shapes/compare.ts';
import { makePromptSet, type ShapesPrompt } from '../../toy/shapes/prompts.ts';
import { makeWorld, type ShapesWorld } from '../../toy/shapes/world.ts';
import type { RuleName } from '../../core/rules.ts';
import type { StepTrace } from '../../core/sampler.ts';
import { plotToSVG } from '../../image/plot.ts';
import { jsonText, writeFileAtomic } from '../../io/files.ts';
import { csvOfRecords, markdownTable, pm } from '../../jobs/table.ts';
import { prepareExperimentOutput, rowEstimate, type ExperimentRow } from '../common.ts';
import type { ExperimentProgress } from '../types.ts';
import {
  logOf,
  RATE_HEADERS,
  rateCells,
  rateColumns,
  type PlanBySize,
  type ShapesExperiment,
  type ShapesRunOptions,
} from './common.ts';

export interface ShapesPlan {
  methods: ShapesMethod[];
  steps: number;
  /** Columns describing each method, in table order. */
  describe: (m: ShapesMethod) => Record<string, string | number>;
  chart?: (rows: ExperimentRow[]) => Plot.PlotOptions;
  /** Records ‖x‖/√d per step of every run and reports them (the sphere experiment). */
  norms?: NormsReport;
}

/** Per method: per step, the per-sample ‖x′‖/√d of the merged latent and ‖y‖/√d of the target's proposal. */
export type StepNorms = Record<string, { mixed: number[][]; target: number[][] }>;

/** What a plan makes of the recorded norms: rows (results.json's `sphere`, sphere.csv), its chart and log lines. */
export interface NormsReport {
  rows(norms: StepNorms, run: { world: ShapesWorld; prompts: readonly ShapesPrompt[]; steps: number }): ExperimentRow[];
  /** The columns of sphere.csv. */
  columns: readonly string[];
  chart(rows: ExperimentRow[]): Plot.PlotOptions;
  summary(rows: ExperimentRow[]): string[];
}

/** The aggregation rules the plans compare. */
export const COMPARED_RULES: readonly RuleName[] = ['slerp', 'lerp', 'nlerp', 'vp'];

/**
 * T and s of every plan (the paper's 50 and 20; quick: 10 and 4) and an AMDM method with that s
 * unless `extra` sets its own.
 */
export function planSteps(quick: boolean): {
  T: number;
  s: number;
  amdm: (name: string, experts: ShapesMethod['experts'], extra?: Partial<ShapesMethod>) => ShapesMethod;
} {
  // the paper's T and s (AMDM_DEFAULTS); a quick run keeps their share at T = 10
  const T = quick ? 10 : AMDM_DEFAULTS.steps;
  const s = quick ? 4 : AMDM_DEFAULTS.aggregateSteps;
  return { T, s, amdm: (name, experts, extra = {}) => ({ name, experts, aggregateSteps: s, ...extra }) };
}

/** A plan experiment: its name (output folder, command line), title and plan in both sizes. */
export function planExperiment(
  name: string,
  title: string,
  plan: PlanBySize<ShapesPlan>,
): ShapesExperiment<PlanBySize<ShapesPlan>, ExperimentRow[]> {
  return {
    title,
    plan: () => plan,
    run: (p, o) => runPlanExperiment(name, p, o),
    replot: async (p, o) => `wrote ${await replotPlanExperiment(name, p, o.out)}`,
  };
}

/** The numbers of one method as a flat row (rates with standard errors, model calls). */
function methodRow(m: ShapesMethodResult): ExperimentRow {
  return { ...rateColumns(m.evaluations), calls: m.calls };
}

/** Runs the plan (in its size for `o.quick`) and writes the run's folder; returns one row per method. */
export async function runPlanExperiment(
  name: string,
  plan: PlanBySize<ShapesPlan>,
  o: ShapesRunOptions,
): Promise<ExperimentRow[]> {
  const log = logOf(o);
  const { quick, seed } = o;
  const p = plan(quick);
  const world = makeWorld();
  const prompts = makePromptSet(world, { seed: 1000 + seed, count: o.prompts ?? (quick ? 3 : 36), withStyle: true });
  const samples = o.samples ?? (quick ? 2 : 4);
  const output = await prepareExperimentOutput(name, quick, o.out);
  const started = Date.now();
  const { res, norms } = await sampleExperiment(p, { world, prompts, samples, seed }, (q) =>
    o.onProgress?.({ ...q, label: name }),
  );
  const rows = res.methods.map((m, i) => ({ ...p.describe(p.methods[i]), ...methodRow(m) }));
  const table = resultsTable(
    res.methods.map((m) => m.name),
    rows,
  );
  const normRows = p.norms ? p.norms.rows(norms, { world, prompts, steps: p.steps }) : [];
  const seconds = (Date.now() - started) / 1000;
  const meta = {
    experiment: name,
    command: `npx amdm experiment ${name}${quick ? ' --quick' : ''}${seed ? ` --seed ${seed}` : ''}`,
    quick,
    seed,
    prompts: prompts.length,
    samplesPerPrompt: samples,
    steps: p.steps,
    seconds,
  };
  const files = experimentFiles(p, { rows, normRows, table, meta });
  await output.commit(files);
  log(`experiment '${name}': ${prompts.length} prompts × ${samples} samples, T = ${p.steps} (${seconds.toFixed(1)} s)`);
  log(table);
  if (p.norms && normRows.length) for (const line of p.norms.summary(normRows)) log(line);
  log(`wrote ${output.path}/{${[...files.keys()].sort().join(',')}}`);
  return rows;
}

/** Samples every method of the plan on the prompts, recording the norms when the plan reports them. */
async function sampleExperiment(
  p: ShapesPlan,
  run: { world: ShapesWorld; prompts: ShapesPrompt[]; samples: number; seed: number },
  onProgress: (p: ExperimentProgress) => void,
): Promise<{ res: ShapesCompareResult; norms: StepNorms }> {
  const { world, prompts, samples, seed } = run;
  const norms: StepNorms = {};
  const res = await compareOnShapes({
    world,
    prompts,
    methods: p.methods,
    samplesPerPrompt: samples,
    steps: p.steps,
    seed,
    onProgress: (q) => onProgress({ done: q.done, total: q.total, item: q.method }),
    onStep: p.norms ? normsRecorder(norms, world) : undefined,
  });
  return { res, norms };
}

/** An onStep callback adding each step's ‖y‖/√d (target's proposal) and ‖x′‖/√d (merged latent) per sample to `norms`. */
function normsRecorder(norms: StepNorms, world: ShapesWorld): (t: StepTrace, run: { method: string }) => void {
  return (t, run) => {
    const rec = (norms[run.method] ??= { mixed: [], target: [] });
    const sq = Math.sqrt(world.dim);
    (rec.target[t.step] ??= []).push(...Array.from(t.proposalNorms[0], (v) => v / sq));
    if (t.mixedNorms) (rec.mixed[t.step] ??= []).push(...Array.from(t.mixedNorms, (v) => v / sq));
  };
}

/** The run's files: results.csv, sphere.csv (norm plans), chart.svg, results.json and table.md. */
function experimentFiles(
  p: ShapesPlan,
  r: { rows: ExperimentRow[]; normRows: ExperimentRow[]; table: string; meta: Record<string, unknown> },
): Map<string, string> {
  const files = new Map<string, string>();
  files.set('results.csv', csvOfRecords(r.rows));
  if (p.norms) {
    files.set('sphere.csv', csvOfRecords(r.normRows, p.norms.columns));
    files.set('chart.svg', plotToSVG(p.norms.chart(r.normRows), { figure: 'svg' }));
  } else if (p.chart) {
    files.set('chart.svg', plotToSVG(p.chart(r.rows), { figure: 'svg' }));
  }
  const { rows, normRows } = r;
  files.set('results.json', jsonText({ ...r.meta, rows, sphere: normRows.length ? normRows : undefined }));
  files.set('table.md', `${r.table}\n`);
  return files;
}

/** table.md: each method's rates ± SE and model calls. */
function resultsTable(names: readonly string[], rows: readonly ExperimentRow[]): string {
  return markdownTable(
    ['method', ...RATE_HEADERS, 'colour right', 'IoU ≥ 0.5', 'clean images', 'calls'],
    rows.map((r, i) => [
      names[i],
      ...rateCells(r),
      pm(rowEstimate(r, 'colorAccuracy')),
      pm(rowEstimate(r, 'positionAccuracy')),
      pm(rowEstimate(r, 'cleanImages')),
      String(r.calls),
    ]),
  );
}

/** Rewrites chart.svg of a finished run in `out` from its results.json (after a change to the charts). */
export async function replotPlanExperiment(name: string, plan: PlanBySize<ShapesPlan>, out: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const outDir = path.resolve(out);
  const json = JSON.parse(await readFile(path.join(outDir, 'results.json'), 'utf8')) as {
    rows: ExperimentRow[];
    sphere?: ExperimentRow[];
    quick: boolean;
  };
  const p = plan(json.quick);
  const chart = json.sphere && p.norms ? p.norms.chart(json.sphere) : p.chart?.(json.rows);
  if (!chart) throw new Error(`experiment '${name}' has no chart`);
  const file = path.join(outDir, 'chart.svg');
  await writeFileAtomic(file, plotToSVG(chart, { figure: 'svg' }));
  return file;
}
