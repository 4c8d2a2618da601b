/**
 * `amdm experiment map`: where in (w, η, η's scale, s, rule) AMDM transfers the attribute
 * expert's colours into the layout expert's sample, in the Shapes world. Three stages, one
 * command:
 *  1. coarse: every cell of the layout ← attribute grid (w × s × rule × η on three scales: eq. 9
 *     absolute, eq. 9 ×√d, and the relative step's λ) on a few prompts;
 *  2. fine: the best coarse cell, its neighbours along each axis, the same cell with the other
 *     rule and the best coarse cell of each η scale, rerun on a *fresh* prompt set with more
 *     samples (so the selection's luck on the coarse prompts does not inflate the reported
 *     rate), beside the experts alone, the paper's point and η = 0; the best fine cell is the
 *     map's answer;
 *  3. three models: layout ← attribute + style on a coarser grid.
 * "Best" = the highest instance success among cells whose images stay on the data (clean-image
 * rate ≥ CLEAN_MIN): an image can read right and be noise (EXPERIMENTS.md, experiment 5).
 * The grids: plan.ts; the report and charts: report.ts, charts.ts, trace.ts.
 */

import path from 'node:path';
import type { ShapesMethod } from '../../../toy/shapes/compare.ts';
import { makePromptSet } from '../../../toy/shapes/prompts.ts';
import { meanEstimate, type Estimate } from '../../../toy/shapes/evaluate.ts';
import { makeWorld, type ShapesWorld } from '../../../toy/shapes/world.ts';
import type { ExpertName } from '../../../toy/shapes/experts.ts';
import { cellName, cellSettings, type MapCell } from '../../../toy/shapes/map-cell.ts';
import { writeFileAtomic } from '../../../io/files.ts';
import type { OutputFolder } from '../../../io/output-folder.ts';
import { pm } from '../../../jobs/table.ts';
import { prepareExperimentOutput, rowEstimate } from '../../common.ts';
import { logOf, rateColumns, type PlanBySize, type ShapesExperiment, type ShapesRunOptions } from '../common.ts';
import { compareInWorkers, type PoolMethodResult } from '../pool.ts';
import { CLEAN_MIN, bestRow, cellOf, fineCells, gridCells, mapPlan, type MapPlan, type MapRow } from './plan.ts';
import { MAP_FILES, fineTable, mapReportFiles, type MapJSON } from './report.ts';

/**
 * The plan is mapPlan. `prompts` and `samples` size the coarse grids (defaults 6 × 2; quick
 * 2 × 2); `workers` processes sample cells side by side (the same numbers for any count).
 */
export const experiment: ShapesExperiment<PlanBySize<MapPlan>, MapResult> = {
  title: 'Where in (w, η and its scale, s, rule) layout ← attribute transfers',
  plan: () => mapPlan,
  run: runMap,
  replot: async (_plan, o) => `wrote the report and heat maps in ${await replotMap(o.out)}`,
};

export interface MapResult {
  coarse: MapRow[];
  fine: MapRow[];
  three: MapRow[];
  best: MapRow;
  outDir: string;
}

const PAIR: ExpertName[] = ['layout', 'attribute'];
const THREE: ExpertName[] = ['layout', 'attribute', 'style'];

/** Runs the three stages and writes the run's folder (MAP_FILES). */
export async function runMap(planOf: PlanBySize<MapPlan>, o: ShapesRunOptions): Promise<MapResult> {
  const log = logOf(o);
  const { quick, seed } = o;
  // the output location is checked before any cell is sampled
  const output = await prepareExperimentOutput('map', quick, o.out, MAP_FILES);
  const plan = planOf(quick);
  const run: StageRun = { world: makeWorld(), o: { ...o, log } };
  const started = Date.now();
  const coarseSize = { prompts: o.prompts ?? plan.coarse.prompts, samples: o.samples ?? plan.coarse.samples };

  // 1. coarse grid, layout ← attribute
  const pairCells = gridCells(plan.pair);
  const coarseStage = { steps: plan.pair.steps, promptSeed: 1000 + seed, size: coarseSize, experts: PAIR };
  const coarse = await stage(run, 'coarse', coarseStage, pairCells);
  const coarseBest = bestRow(coarse);
  if (!coarseBest) throw new Error(`no cell of the coarse grid keeps ≥ ${CLEAN_MIN * 100} % clean images`);

  // 2. the best cell's neighbourhood on fresh prompts, with more samples
  // beside it: the best coarse cell of each η scale, the paper's point and η = 0 at the best's
  // (rule, w, s), so every scale's best and the references get standard errors below 0.03 too
  const fineAll = fineCells(coarse, cellOf(coarseBest), plan);
  const fineStage = { steps: plan.pair.steps, promptSeed: 2000 + seed, size: plan.fine, experts: PAIR };
  const fine = await stage(run, 'fine', fineStage, fineAll);
  const best = bestRow(fine);
  if (!best)
    throw new Error(`no cell of the best neighbourhood keeps ≥ ${CLEAN_MIN * 100} % clean images on the fine prompts`);
  addEffects(fine);

  // 3. three models, layout ← attribute + style
  const threeCells = gridCells(plan.three);
  const threeStage = { steps: plan.three.steps, promptSeed: 3000 + seed, size: coarseSize, experts: THREE };
  const three = await stage(run, 'three', threeStage, threeCells);

  const seconds = (Date.now() - started) / 1000;
  const json: MapJSON = {
    experiment: 'map',
    command: mapCommand(o),
    quick,
    seed,
    seconds,
    cleanMin: CLEAN_MIN,
    plan,
    coarseSize,
    best: { ...cellOf(best), name: best.method },
    coarseBest: coarseBest.method,
    coarse,
    fine,
    three,
  };
  await writeMap(output, json, best, `${pairCells.length} + ${fineAll.length} + ${threeCells.length} cells`, log);
  return { coarse, fine, three, best, outDir: output.path };
}

/** The command line that reruns this map. */
function mapCommand(o: ShapesRunOptions): string {
  return `npx amdm experiment map${o.quick ? ' --quick' : ''}${o.seed ? ` --seed ${o.seed}` : ''}${o.prompts ? ` --prompts ${o.prompts}` : ''}${o.samples ? ` --samples ${o.samples}` : ''}`;
}

/** Writes the run's folder and logs the fine table and the best cell. */
async function writeMap(
  output: OutputFolder,
  json: MapJSON,
  best: MapRow,
  cells: string,
  log: (line: string) => void,
): Promise<void> {
  const files = await mapReportFiles(json);
  await output.commit(files);
  const written = [...files.keys()];
  log(`experiment 'map': ${cells} in ${json.seconds.toFixed(0)} s`);
  log(fineTable(json.fine));
  log(
    `best: ${best.method} (instance success ${pm(rowEstimate(best, 'instanceSuccess'))}, coarse best was ${json.coarseBest})`,
  );
  log(`wrote ${output.path}/{${written.join(',')}}`);
}

/** What every stage of a run shares. */
interface StageRun {
  world: ShapesWorld;
  o: ShapesRunOptions & { log: (line: string) => void };
}

/** One stage: its T, prompt set (seed and size) and experts (each alone, and merged by every cell). */
interface StagePlan {
  steps: number;
  promptSeed: number;
  size: { prompts: number; samples: number };
  experts: ExpertName[];
}

/** Samples and scores each expert alone, then every cell's AMDM over the experts: one row each. */
async function stage(run: StageRun, name: string, p: StagePlan, cells: MapCell[]): Promise<MapRow[]> {
  const { world, o } = run;
  const alone = p.experts.map((e): ShapesMethod => ({ name: `${e} alone`, experts: [e] }));
  const merged = cells.map((c): ShapesMethod => ({ name: cellName(c), experts: p.experts, ...cellSettings(c) }));
  const prompts = makePromptSet(world, { seed: p.promptSeed, count: p.size.prompts, withStyle: true });
  const methods = [...alone, ...merged];
  const total = prompts.length * methods.length;
  let done = 0;
  const res = await compareInWorkers(
    { prompts, methods, samplesPerPrompt: p.size.samples, steps: p.steps, seed: o.seed },
    o.workers ?? 1,
    (method) => o.onProgress?.({ done: ++done, total, label: `map ${name}`, item: method }),
  );
  o.log(`map ${name}: ${methods.length} methods × ${prompts.length} prompts × ${p.size.samples} samples done`);
  return res.map((m, i) => {
    const c = i >= alone.length ? cells[i - alone.length] : null;
    return {
      method: m.name,
      ...(c ? { ...c } : { rule: '', w: '', s: '', scale: '', eta: '' }),
      ...rateColumns(m.evaluations),
      calls: m.calls,
      successes: successVector(m),
    };
  });
}

/** Per-instance success (1/0) in evaluation order: the same prompts pair rows instance by instance. */
function successVector(m: PoolMethodResult): string {
  return m.evaluations.flatMap((e) => e.instances.map((i) => (i.ok ? '1' : '0'))).join('');
}

/** Paired differences of instance success against each expert alone. */
function addEffects(rows: MapRow[]): void {
  const vec = (name: string) => String(rows.find((r) => r.method === name)!.successes);
  const refs: [string, string][] = [
    ['VsLayout', 'layout alone'],
    ['VsAttribute', 'attribute alone'],
  ];
  for (const r of rows) {
    for (const [key, ref] of refs) {
      const d = pairedDifference(String(r.successes), vec(ref));
      r[`effect${key}`] = d.value;
      r[`effect${key}SE`] = d.se;
    }
  }
}

/** Mean and standard error of the per-instance difference a − b (1/0 strings of equal length). */
export function pairedDifference(a: string, b: string): Estimate {
  if (a.length !== b.length || a.length === 0)
    throw new RangeError(`paired rows must score the same instances (${a.length} vs ${b.length})`);
  const d: number[] = [];
  for (let i = 0; i < a.length; i++) d.push(Number(a[i]) - Number(b[i]));
  return meanEstimate(d);
}

/** Redraws the report and charts of a finished run in `out` from its results.json (and the traces). */
export async function replotMap(out: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const outDir = path.resolve(out);
  const json = JSON.parse(await readFile(path.join(outDir, 'results.json'), 'utf8')) as MapJSON;
  // every file but results.json is redrawn in place, each written atomically
  for (const [name, content] of await mapReportFiles(json))
    if (name !== 'results.json') await writeFileAtomic(path.join(outDir, name), content);
  return outDir;
}
