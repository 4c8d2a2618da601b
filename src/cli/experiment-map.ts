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
 */
import path from 'node:path';
import type { ShapesMethod } from '../toy/shapes/compare.ts';
import { compareInWorkers, type PoolMethodResult } from './shapes-pool.ts';
import { makePromptSet } from '../toy/shapes/prompts.ts';
import { meanEstimate, type Estimate } from '../toy/shapes/evaluate.ts';
import { makeWorld, type ShapesWorld } from '../toy/shapes/world.ts';
import type { ExpertName } from '../toy/shapes/experts.ts';
import { ETA_SCALE_LABELS, cellName, cellSettings, type EtaScaleLabel, type MapCell } from '../toy/shapes/map-cell.ts';
import { plotToSVG } from '../image/plot.ts';
import { jsonText, writeFileAtomic } from './files.ts';
import {
  experimentFolder,
  prepareExperimentOutput,
  rateColumns,
  type ExperimentOptions,
  type ExperimentRow,
} from './experiment-common.ts';
import { progressBar } from './progress.ts';
import { csvOfRecords, csvText, markdownTable, pm } from '../jobs/table.ts';
import { mapHeatmaps, stackSVGs, type TitledPlot } from './map-charts.ts';
import { deviationTraces, traceChart, type TraceRow } from './map-trace.ts';

export interface MapGrid {
  steps: number;
  rules: MapCell['rule'][];
  w: number[];
  s: number[];
  /** η values per scale; η = 0 is added once as the 'none' column. */
  eta: Record<Exclude<EtaScaleLabel, 'none'>, number[]>;
}

export interface MapPlan {
  pair: MapGrid;
  three: MapGrid;
  coarse: { prompts: number; samples: number };
  fine: { prompts: number; samples: number };
  /** The paper's point (w = 0.5, η = 0.3·√d, s = 20 of 50, slerp) at this plan's T. */
  paper: MapCell;
}

/** A cell is eligible as "best" only when at least this share of its images is clean. */
export const CLEAN_MIN = 0.9;

export function mapPlan(quick: boolean): MapPlan {
  if (quick) {
    return {
      pair: {
        steps: 10,
        rules: ['slerp', 'lerp'],
        w: [0.5, 0.9],
        s: [2, 4],
        eta: { absolute: [1], sqrtDim: [0.1], relative: [0.3] },
      },
      three: { steps: 10, rules: ['slerp'], w: [0.5], s: [4], eta: { absolute: [], sqrtDim: [0.3], relative: [0.3] } },
      coarse: { prompts: 2, samples: 2 },
      fine: { prompts: 3, samples: 2 },
      paper: { rule: 'slerp', w: 0.5, s: 4, scale: 'sqrtDim', eta: 0.3 },
    };
  }
  return {
    // absolute 0.3, 1 and 0.03 … 0.3·√d (√d ≈ 27.7 at d = 768) cover step lengths from 0.3 to
    // 8.3 — far below the paper's 0.3·√d up to it; λ covers the relative step
    pair: {
      steps: 50,
      rules: ['slerp', 'lerp'],
      w: [0.3, 0.5, 0.7, 0.9],
      s: [10, 20, 30, 40],
      eta: { absolute: [0.3, 1], sqrtDim: [0.03, 0.1, 0.3], relative: [0.1, 0.3, 0.6] },
    },
    three: {
      steps: 50,
      rules: ['slerp', 'lerp'],
      w: [0.5, 0.9],
      s: [20, 30],
      eta: { absolute: [1], sqrtDim: [0.1, 0.3], relative: [0.3] },
    },
    // sized for ≈ 15 min of one core: the coarse grid only locates the region (paired cells, but
    // ≈ 24 instances each); the fine run carries the reported numbers (SE < 0.03)
    coarse: { prompts: 6, samples: 2 },
    fine: { prompts: 30, samples: 6 },
    paper: { rule: 'slerp', w: 0.5, s: 20, scale: 'sqrtDim', eta: 0.3 },
  };
}

/** Every cell of a grid: rule × w × s × (η = 0, then each scale's η values). */
export function gridCells(g: MapGrid): MapCell[] {
  const etas: [EtaScaleLabel, number][] = [
    ['none', 0],
    ...ETA_SCALE_LABELS.flatMap((scale) =>
      g.eta[scale as Exclude<EtaScaleLabel, 'none'>].map((e): [EtaScaleLabel, number] => [scale, e]),
    ),
  ];
  return g.rules.flatMap((rule) =>
    g.w.flatMap((w) => g.s.flatMap((s) => etas.map(([scale, eta]) => ({ rule, w, s, scale, eta })))),
  );
}

const sameCell = (a: MapCell, b: MapCell) =>
  a.rule === b.rule && a.w === b.w && a.s === b.s && a.scale === b.scale && a.eta === b.eta;

/**
 * The best cell's neighbours: one step along w, s and η (within its scale; below the smallest η
 * lies η = 0, whose neighbours are every scale's smallest η), and the same cell with each other
 * rule.
 */
export function neighbours(best: MapCell, g: MapGrid): MapCell[] {
  const out: MapCell[] = [];
  const step = <T>(xs: readonly T[], v: T): T[] => {
    const i = xs.indexOf(v);
    return [xs[i - 1], xs[i + 1]].filter((x): x is T => x !== undefined);
  };
  for (const w of step(g.w, best.w)) out.push({ ...best, w });
  for (const s of step(g.s, best.s)) out.push({ ...best, s });
  if (best.scale === 'none') {
    for (const scale of ETA_SCALE_LABELS) {
      const first = g.eta[scale as Exclude<EtaScaleLabel, 'none'>][0];
      if (first !== undefined) out.push({ ...best, scale, eta: first });
    }
  } else {
    const list = [0, ...g.eta[best.scale]];
    for (const e of step(list, best.eta)) out.push(e === 0 ? { ...best, scale: 'none', eta: 0 } : { ...best, eta: e });
  }
  for (const rule of g.rules) if (rule !== best.rule) out.push({ ...best, rule });
  return out;
}

/** A row of a map table: the cell (empty for an expert alone), its rates, calls. */
export interface MapRow extends ExperimentRow {
  method: string;
}

/** Picks the best eligible row (highest instance success, then fewer calls); null when none is. */
export function bestRow<R extends ExperimentRow>(rows: readonly R[]): R | null {
  let best: R | null = null;
  for (const r of rows) {
    if (r.rule === '' || Number(r.cleanImages) < CLEAN_MIN) continue;
    if (
      !best ||
      Number(r.instanceSuccess) > Number(best.instanceSuccess) ||
      (r.instanceSuccess === best.instanceSuccess && Number(r.calls) < Number(best.calls))
    )
      best = r;
  }
  return best;
}

export const cellOf = (r: ExperimentRow): MapCell => ({
  rule: r.rule as MapCell['rule'],
  w: Number(r.w),
  s: Number(r.s),
  scale: r.scale as EtaScaleLabel,
  eta: Number(r.eta),
});

export interface MapOptions extends ExperimentOptions {
  /** Coarse grids: prompts and samples per prompt (defaults 6 × 2; quick 2 × 2). */
  prompts?: number;
  samples?: number;
  /** Worker processes sampling cells side by side (default 1: in this process). */
  workers?: number;
}

export interface MapResult {
  coarse: MapRow[];
  fine: MapRow[];
  three: MapRow[];
  best: MapRow;
  outDir: string;
}

/** Default output folder: quick smoke runs never overwrite the recorded results. */
export function mapOutDir(o: Pick<MapOptions, 'quick' | 'out'>): string {
  return path.resolve(o.out ?? experimentFolder('map', o.quick ?? false));
}

export async function runMap(o: MapOptions = {}): Promise<MapResult> {
  const log = o.log ?? ((l: string) => console.log(l));
  o = { ...o, log };
  const quick = o.quick ?? false;
  // the output location is checked before any cell is sampled
  const output = await prepareExperimentOutput('map', quick, o.out, MAP_FILES);
  const plan = mapPlan(quick);
  const seed = o.seed ?? 0;
  const world = makeWorld();
  const started = Date.now();
  const coarseSize = { prompts: o.prompts ?? plan.coarse.prompts, samples: o.samples ?? plan.coarse.samples };
  const alone = (e: ExpertName): ShapesMethod => ({ name: `${e} alone`, experts: [e] });
  const amdm = (c: MapCell, experts: ExpertName[]): ShapesMethod => ({
    name: cellName(c),
    experts,
    ...cellSettings(c),
  });

  // 1. coarse grid, layout ← attribute
  const pairCells = gridCells(plan.pair);
  const coarse = await stage(
    'coarse',
    world,
    plan.pair.steps,
    seed,
    1000 + seed,
    coarseSize,
    [alone('layout'), alone('attribute')],
    pairCells.map((c) => amdm(c, ['layout', 'attribute'])),
    pairCells,
    o,
  );
  const coarseBest = bestRow(coarse);
  if (!coarseBest) throw new Error(`no cell of the coarse grid keeps ≥ ${CLEAN_MIN * 100} % clean images`);
  const bc = cellOf(coarseBest);

  // 2. the best cell's neighbourhood on fresh prompts, with more samples
  // beside it: the best coarse cell of each η scale, the paper's point and η = 0 at the best's
  // (rule, w, s), so every scale's best and the references get standard errors below 0.03 too
  const fineAll: MapCell[] = [];
  const add = (c: MapCell) => {
    if (!fineAll.some((f) => sameCell(f, c))) fineAll.push(c);
  };
  [bc, ...neighbours(bc, plan.pair)].forEach(add);
  for (const scale of ETA_SCALE_LABELS) {
    const b = bestRow(coarse.filter((r) => r.scale === scale));
    if (b) add(cellOf(b));
  }
  add(plan.paper);
  add({ ...bc, scale: 'none', eta: 0 });
  const fine = await stage(
    'fine',
    world,
    plan.pair.steps,
    seed,
    2000 + seed,
    plan.fine,
    [alone('layout'), alone('attribute')],
    fineAll.map((c) => amdm(c, ['layout', 'attribute'])),
    fineAll,
    o,
  );
  const best = bestRow(fine);
  if (!best)
    throw new Error(`no cell of the best neighbourhood keeps ≥ ${CLEAN_MIN * 100} % clean images on the fine prompts`);
  addEffects(fine);

  // 3. three models, layout ← attribute + style
  const threeCells = gridCells(plan.three);
  const three = await stage(
    'three',
    world,
    plan.three.steps,
    seed,
    3000 + seed,
    coarseSize,
    [alone('layout'), alone('attribute'), alone('style')],
    threeCells.map((c) => amdm(c, ['layout', 'attribute', 'style'])),
    threeCells,
    o,
  );

  const seconds = (Date.now() - started) / 1000;
  const outDir = output.path;
  const command = `npm run experiment -- map${quick ? ' --quick' : ''}${o.seed ? ` --seed ${seed}` : ''}${o.prompts ? ` --prompts ${o.prompts}` : ''}${o.samples ? ` --samples ${o.samples}` : ''}`;
  const json: MapJSON = {
    experiment: 'map',
    command,
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
  const files = await mapReportFiles(json);
  await output.commit(files);
  const written = [...files.keys()];
  log(
    `experiment 'map': ${pairCells.length} + ${fineAll.length} + ${threeCells.length} cells in ${seconds.toFixed(0)} s`,
  );
  log(fineTable(fine));
  log(
    `best: ${best.method} (instance success ${pm(est(best, 'instanceSuccess'))}, coarse best was ${coarseBest.method})`,
  );
  log(`wrote ${outDir}/{${written.join(',')}}`);
  return { coarse, fine, three, best, outDir };
}

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

async function stage(
  name: string,
  world: ShapesWorld,
  steps: number,
  seed: number,
  promptSeed: number,
  size: { prompts: number; samples: number },
  experts: ShapesMethod[],
  cellsMethods: ShapesMethod[],
  cells: MapCell[],
  o: MapOptions,
): Promise<MapRow[]> {
  const prompts = makePromptSet(world, { seed: promptSeed, count: size.prompts, withStyle: true });
  const methods = [...experts, ...cellsMethods];
  const bar = progressBar(prompts.length * methods.length, `map ${name}`, { enabled: o.progress });
  let done = 0;
  const res = await compareInWorkers(
    { prompts, methods, samplesPerPrompt: size.samples, steps, seed },
    o.workers ?? 1,
    (method) => bar.update(++done, method),
  );
  bar.stop();
  o.log?.(`map ${name}: ${methods.length} methods × ${prompts.length} prompts × ${size.samples} samples done`);
  return res.map((m, i) => {
    const c = i >= experts.length ? cells[i - experts.length] : null;
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

const est = (r: ExperimentRow, key: string) => ({ value: Number(r[key]), se: Number(r[`${key}SE`]) });

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

/**
 * results.json, table.md, the CSVs, the heat maps and the step traces (sampled again for three
 * cells, a few seconds), as file name → content.
 */
export async function mapReportFiles(json: MapJSON): Promise<Map<(typeof MAP_FILES)[number], string>> {
  const files = new Map<(typeof MAP_FILES)[number], string>([['results.json', jsonText(json)]]);
  const csv = (rows: readonly ExperimentRow[]) =>
    csvOfRecords(
      rows,
      Object.keys(rows[0]).filter((h) => h !== 'successes'),
    );
  files.set('coarse.csv', csv(json.coarse));
  files.set('fine.csv', csv(json.fine));
  files.set('three.csv', csv(json.three));
  const md = [
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
  // the step traces of the paper's point, the best cell and η = 0 there (sampled again: cheap)
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
  const traceMd = markdownTable(
    ['method', 'step', '‖x′ − μ_target‖', 'step length', 'angle (°)'],
    traces
      .filter(shown)
      .map((t) => [t.method, String(t.step), t.distance.toFixed(2), t.stepLength.toFixed(2), t.angle.toFixed(1)]),
  );
  files.set(
    'table.md',
    `${md}\nStep traces (means over ${TRACE_SIZE.prompts} fine-run prompts × ${TRACE_SIZE.samples} samples; steps 0–2, then every 5th):\n\n${traceMd}\n`,
  );
  const pair = mapHeatmaps(json.coarse, {
    grid: json.plan.pair,
    value: 'instanceSuccess',
    label: 'instance success',
    cleanMin: json.cleanMin,
    baseline: json.coarse.find((r) => r.method === 'layout alone'),
  });
  const draw = (charts: readonly TitledPlot[]) =>
    stackSVGs(charts.map((c) => ({ title: c.title, svg: plotToSVG(c.plot, { figure: 'svg' }) })));
  files.set('heatmap.svg', draw(pair));
  const three = mapHeatmaps(json.three, {
    grid: json.plan.three,
    value: 'instanceSuccess',
    label: 'instance success',
    cleanMin: json.cleanMin,
    baseline: json.three.find((r) => r.method === 'layout alone'),
  });
  const threeStyle = mapHeatmaps(json.three, {
    grid: json.plan.three,
    value: 'styleSuccess',
    label: 'style success',
    cleanMin: json.cleanMin,
    baseline: json.three.find((r) => r.method === 'layout alone'),
  });
  files.set('heatmap-3.svg', draw([...three, ...threeStyle]));
  return files;
}

/** Redraws the report and charts of a finished run from its results.json (and the traces). */
export async function replotMap(o: Pick<MapOptions, 'quick' | 'out'> = {}): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const outDir = mapOutDir(o);
  const json = JSON.parse(await readFile(path.join(outDir, 'results.json'), 'utf8')) as MapJSON;
  // every file but results.json is redrawn in place, each written atomically
  for (const [name, content] of await mapReportFiles(json))
    if (name !== 'results.json') await writeFileAtomic(path.join(outDir, name), content);
  return outDir;
}
