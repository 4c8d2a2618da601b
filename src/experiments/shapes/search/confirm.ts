/**
 * `amdm experiment confirm-shapes`: the best few settings of a `search-shapes` run (search.ts) on
 * fresh prompts (prompt seed 5000 + seed) and noise seeds (10 000 + seed) never used in the
 * search, beside each expert alone, AMDM without the new options (the paper's point, the map's
 * best cell) and the compositional baselines of experiment 6 that cost a few times AMDM (sum of
 * scores DDPM and DDIM, projective, FKC with N = B), 16 prompts × 4 samples; paired differences
 * with standard errors, and the Pareto frontier of colour right (the attribute control) against
 * IoU ≥ 0.5 (the layout control). The rows, verdict, table and chart: confirm-report.ts.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Denoiser } from '../../../core/types.ts';
import { makeSchedule } from '../../../core/schedule.ts';
import { mixtureDenoiser } from '../../../toy/gmm.ts';
import type { ShapesMethod } from '../../../toy/shapes/compare.ts';
import { evaluateImage, type ImageEvaluation } from '../../../toy/shapes/evaluate.ts';
import { EXPERTS, type ExpertName } from '../../../toy/shapes/experts.ts';
import { makePromptSet, type ShapesPrompt } from '../../../toy/shapes/prompts.ts';
import { makeWorld, type ShapesWorld } from '../../../toy/shapes/world.ts';
import {
  MAP_BEST_SETTING,
  PAPER_SETTING,
  mergeSettingAtSteps,
  mergeSettingMethod,
} from '../../../toy/shapes/merge-setting.ts';
import { jsonText } from '../../../io/files.ts';
import { csvOfRecords } from '../../../jobs/table.ts';
import { experimentFolder, prepareExperimentOutput } from '../../common.ts';
import type { ExperimentProgress } from '../../types.ts';
import { paretoFrontier } from '../../merge-search.ts';
import { logOf, type PlanBySize, type ShapesExperiment, type ShapesRunOptions } from '../common.ts';
import { composeMethods, composeSettings, looseBackground, resolveSettings, runMethod } from '../compose/methods.ts';
import { compareInWorkers } from '../pool.ts';
import {
  confirmRows,
  confirmTable,
  paretoChart,
  verdictOf,
  type ConfirmJSON,
  type ConfirmRow,
} from './confirm-report.ts';
import type { SearchJSON } from './search.ts';
import { PAIR } from './space.ts';

/** The confirmation's size: fresh prompts and samples per prompt. */
export interface ConfirmPlan {
  prompts: number;
  samples: number;
}

export function confirmPlan(quick: boolean): ConfirmPlan {
  return quick ? { prompts: 2, samples: 1 } : { prompts: 16, samples: 4 };
}

/** The options of confirm-shapes beyond the shared ones. */
export interface ConfirmExtra {
  /** The search run's folder (default: where `search-shapes` writes, full or quick). */
  from?: string;
}

export const experiment: ShapesExperiment<PlanBySize<ConfirmPlan>, ConfirmJSON> = {
  title: 'The search-shapes best settings on fresh prompts, beside the experts and the baselines',
  plan: () => confirmPlan,
  run: runConfirmShapes,
};

/** The compositional baselines of experiment 6 whose cost is a few times AMDM's. */
const BASELINES = [
  'sum of scores (DDPM)',
  'sum of scores (DDIM η = 0)',
  'projective (loose background)',
  'FKC (N = B)',
];

/** Runs the confirmation and writes results.json, results.csv, table.md and pareto.svg. */
export async function runConfirmShapes(
  planOf: PlanBySize<ConfirmPlan>,
  o: ShapesRunOptions & ConfirmExtra,
): Promise<ConfirmJSON> {
  const log = logOf(o);
  const { quick, seed } = o;
  const search = await readSearch(path.resolve(o.from ?? experimentFolder('search-shapes', quick)), quick);
  const output = await prepareExperimentOutput('confirm-shapes', quick, o.out, [
    'results.json',
    'results.csv',
    'table.md',
    'pareto.svg',
  ]);
  const plan = planOf(quick);
  const steps = search.plan.steps;
  const count = o.prompts ?? plan.prompts;
  const B = o.samples ?? plan.samples;
  const world = makeWorld();
  const prompts = makePromptSet(world, { seed: 5000 + seed, count, withStyle: true });
  const noiseSeed = 10_000 + seed;
  const started = Date.now();
  const amdm = confirmMethods(search, steps);
  const res = await compareInWorkers(
    { prompts, methods: amdm.map((m) => m.method), samplesPerPrompt: B, steps, seed: noiseSeed },
    o.workers ?? 1,
  );
  const evals = new Map<string, ImageEvaluation[]>(res.map((r) => [r.name, r.evaluations]));
  const baselines = await runBaselines(world, prompts, { B, steps, seed: noiseSeed, quick }, o.onProgress);
  for (const [n, e] of baselines) evals.set(n, e);
  const kinds = [
    ...amdm.map((m) => ({ name: m.name, kind: m.kind })),
    ...[...baselines.keys()].map((n) => ({ name: n, kind: 'baseline' as const })),
  ];
  const rows = confirmRows(kinds, evals);
  const seconds = (Date.now() - started) / 1000;
  const command = `npx amdm experiment confirm-shapes${quick ? ' --quick' : ''}${seed ? ` --seed ${seed}` : ''}`;
  const meta = {
    experiment: 'confirm-shapes' as const,
    command,
    quick,
    seed,
    prompts: count,
    samplesPerPrompt: B,
    steps,
  };
  const json: ConfirmJSON = { ...meta, seconds, ...frontiersOf(rows), rows };
  await output.commit(
    new Map([
      ['results.json', jsonText(json)],
      ['results.csv', csvOfRecords(rows, [...new Set(rows.flatMap((r) => Object.keys(r)))])],
      ['table.md', confirmTable(json)],
      ['pareto.svg', paretoChart(rows, json.frontiers)],
    ]),
  );
  log(confirmTable(json));
  log(`wrote ${output.path}/{results.json,results.csv,table.md,pareto.svg} (${seconds.toFixed(0)} s)`);
  return json;
}

/** The search run's results.json, or an error saying which command writes it. */
async function readSearch(searchDir: string, quick: boolean): Promise<SearchJSON> {
  try {
    return JSON.parse(await readFile(path.join(searchDir, 'results.json'), 'utf8')) as SearchJSON;
  } catch {
    throw new Error(
      `confirm-shapes confirms the settings of a search run: run \`npx amdm experiment search-shapes${quick ? ' --quick' : ''}\` first (no ${path.join(searchDir, 'results.json')})`,
    );
  }
}

/** The confirmation's AMDM rows: each expert alone, AMDM at the paper's point and the map's cell, the search's best. */
function confirmMethods(
  search: SearchJSON,
  steps: number,
): { name: string; kind: ConfirmRow['kind']; method: ShapesMethod }[] {
  const alone = (e: ExpertName) => ({
    name: `${e} alone`,
    kind: 'expert' as const,
    method: { name: `${e} alone`, experts: [e] },
  });
  const given = (
    [
      ['AMDM paper', PAPER_SETTING],
      ['AMDM map best', MAP_BEST_SETTING],
    ] as const
  ).map(([name, s]) => ({
    name,
    kind: 'amdm' as const,
    method: mergeSettingMethod(mergeSettingAtSteps(s, steps), PAIR, name),
  }));
  const found = search.best.map((b, i) => {
    const name = `search #${i + 1}: ${b.name}`;
    return { name, kind: 'amdm+options' as const, method: mergeSettingMethod(b.setting, PAIR, name) };
  });
  return [alone('layout'), alone('attribute'), ...given, ...found];
}

/** The Pareto frontier of (colour right, IoU ≥ 0.5) over every row, and over each family's rows. */
function frontiersOf(rows: ConfirmRow[]): Pick<ConfirmJSON, 'verdict' | 'frontier' | 'frontiers'> {
  const frontOf = (rs: ConfirmRow[]) =>
    paretoFrontier(
      rs,
      (r) => Number(r.colorAccuracy),
      (r) => Number(r.positionAccuracy),
    ).map((r) => r.method);
  // per family: AMDM without the new options, AMDM with them, the baselines
  const frontiers = Object.fromEntries(
    (['amdm', 'amdm+options', 'baseline'] as const).map((k) => [k, frontOf(rows.filter((r) => r.kind === k))]),
  );
  return { verdict: verdictOf(rows), frontier: frontOf(rows), frontiers };
}

/** The baselines on the same prompts, experts and noise seeds (seed + p per prompt, as compareOnShapes). */
async function runBaselines(
  world: ShapesWorld,
  prompts: readonly ShapesPrompt[],
  o: { B: number; steps: number; seed: number; quick: boolean },
  onProgress?: (p: ExperimentProgress) => void,
): Promise<Map<string, ImageEvaluation[]>> {
  const settings = resolveSettings(composeSettings(o.quick), { steps: o.steps, aggregateSteps: Math.min(20, o.steps) });
  const methods = composeMethods(settings, false).filter((m) => BASELINES.includes(m.name));
  const schedule = makeSchedule();
  const out = new Map<string, ImageEvaluation[]>(methods.map((m) => [m.name, []]));
  const total = prompts.length * methods.length;
  let done = 0;
  for (let p = 0; p < prompts.length; p++) {
    const ps = o.seed + p;
    const models = new Map<string, Denoiser>();
    for (const e of PAIR)
      models.set(e, mixtureDenoiser(EXPERTS[e](world, prompts[p], { seed: ps }), schedule, { name: e }));
    models.set('background', mixtureDenoiser(looseBackground(world, prompts[p], ps), schedule, { name: 'background' }));
    for (const m of methods) {
      const r = await runMethod(m, models, { world, schedule, B: o.B, seed: ps, settings });
      for (let b = 0; b < o.B; b++)
        out.get(m.name)!.push(evaluateImage(world, prompts[p], r.samples.subarray(b * world.dim, (b + 1) * world.dim)));
      onProgress?.({ done: ++done, total, label: 'confirm baselines', item: m.name });
    }
  }
  return out;
}
