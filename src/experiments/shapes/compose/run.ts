/**
 * `amdm experiment compose-shapes`: the paper's Table 5 analog in the Shapes world — AMDM
 * against compositional samplers that target the *product* of the same experts, on the same
 * prompts and noise grid, scored by the exact evaluator, with model evaluations and wall time.
 * The methods and their settings: methods.ts; the rows, table and chart: report.ts.
 */
import type { Denoiser } from '../../../core/types.ts';
import { makeSchedule, type NoiseSchedule } from '../../../core/schedule.ts';
import { checkInt, describe } from '../../../core/validate.ts';
import { mixtureDenoiser } from '../../../toy/gmm.ts';
import { EXPERTS } from '../../../toy/shapes/experts.ts';
import { evaluateImage } from '../../../toy/shapes/evaluate.ts';
import { makePromptSet, type ShapesPrompt } from '../../../toy/shapes/prompts.ts';
import { makeWorld, type ShapesWorld } from '../../../toy/shapes/world.ts';
import { plotToSVG } from '../../../image/plot.ts';
import { jsonText } from '../../../io/files.ts';
import { csvOfRecords } from '../../../jobs/table.ts';
import { prepareExperimentOutput } from '../../common.ts';
import type { ExperimentProgress } from '../../types.ts';
import { logOf, type PlanBySize, type ShapesExperiment, type ShapesExtra, type ShapesRunOptions } from '../common.ts';
import {
  composeMethods,
  composeSettings,
  expertsNeeded,
  looseBackground,
  resolveSettings,
  runMethod,
  type ComposeMethod,
  type ComposeSettings,
} from './methods.ts';
import {
  composeChart,
  composeRow,
  composeTable,
  emptyTally,
  recordRun,
  type ComposeRow,
  type Tally,
} from './report.ts';

/** The options of compose-shapes beyond the shared ones. */
export interface ComposeExtra extends ShapesExtra {
  /** Include the +style block (AMDM and product samplers with the style expert). Default true. */
  withStyle?: boolean;
  /** Overrides of the plan's settings (steps, MCMC, particles; see composeSettings). */
  settings?: Partial<ComposeSettings>;
  /** Runs only the methods it accepts (default all). */
  select?: (m: ComposeMethod) => boolean;
}

/**
 * The plan is composeSettings (quick: 3 prompts × 2 samples, T = 10, s = 4, K = 2 MCMC steps per
 * level; full: 36 × 4, T = 50, s = 20, K = 4). Prompt set seed 1000 + seed; prompt p is sampled
 * with seed + p.
 */
export const experiment: ShapesExperiment<PlanBySize<ComposeSettings>, ComposeRow[], ComposeExtra> = {
  title: 'AMDM against compositional samplers of the same experts (Table 5 analog)',
  plan: () => composeSettings,
  run: runComposeShapes,
};

/** A run's checked options. */
interface ComposeRun {
  quick: boolean;
  seed: number;
  promptCount: number;
  B: number;
  settings: ComposeSettings;
  methods: ComposeMethod[];
}

/** Checks the options (naming the bad one) and resolves the run's settings and methods. */
function checkOptions(plan: PlanBySize<ComposeSettings>, o: ShapesRunOptions & ComposeExtra): ComposeRun {
  if (typeof o !== 'object' || o === null) throw new TypeError(`options must be an object, got ${describe(o)}`);
  if (o.log !== undefined && typeof o.log !== 'function')
    throw new TypeError(`log must be a function, got ${describe(o.log)}`);
  const quick = o.quick;
  if (typeof quick !== 'boolean') throw new TypeError(`quick must be a boolean, got ${describe(quick)}`);
  const seed = checkInt('seed', o.seed, 0, 2 ** 40);
  const promptCount = checkInt('prompts', o.prompts ?? (quick ? 3 : 36), 1, 100_000);
  const B = checkInt('samples', o.samples ?? (quick ? 2 : 4), 1, 10_000);
  const withStyle = o.withStyle ?? true;
  if (typeof withStyle !== 'boolean') throw new TypeError(`withStyle must be a boolean, got ${describe(withStyle)}`);
  const settings = resolveSettings(plan(quick), o.settings);
  const methods = composeMethods(settings, withStyle).filter((m) => (o.select ? o.select(m) : true));
  if (methods.length < 1) throw new RangeError('select must accept at least one method');
  return { quick, seed, promptCount, B, settings, methods };
}

/** Runs the comparison and writes results.json, results.csv, table.md and chart.svg. */
export async function runComposeShapes(
  plan: PlanBySize<ComposeSettings>,
  o: ShapesRunOptions & ComposeExtra,
): Promise<ComposeRow[]> {
  const run = checkOptions(plan, o);
  const { quick, seed, B, settings, methods } = run;
  const log = logOf(o);
  const output = await prepareExperimentOutput('compose-shapes', quick, o.out);
  const world = makeWorld();
  const prompts = makePromptSet(world, { seed: 1000 + seed, count: run.promptCount, withStyle: true });
  const started = Date.now();
  const tallies = await sampleMethods(run, { world, schedule: makeSchedule(), prompts }, o.onProgress);
  const rows: ComposeRow[] = methods.map((m, i) => composeRow(m, tallies[i], prompts.length, prompts.length * B));
  const table = composeTable(rows);
  const seconds = (Date.now() - started) / 1000;
  const flags = [
    quick ? ' --quick' : '',
    seed ? ` --seed ${seed}` : '',
    o.prompts !== undefined ? ` --prompts ${run.promptCount}` : '',
    o.samples !== undefined ? ` --samples ${B}` : '',
  ].join('');
  const meta = { experiment: 'compose-shapes', command: `npx amdm experiment compose-shapes${flags}`, quick, seed };
  const json = { ...meta, prompts: prompts.length, samplesPerPrompt: B, settings, seconds, rows };
  await output.commit(
    new Map([
      ['results.json', jsonText(json)],
      ['results.csv', csvOfRecords(rows)],
      ['table.md', `${table}\n`],
      ['chart.svg', plotToSVG(composeChart(rows), { figure: 'svg' })],
    ]),
  );
  log(
    `experiment 'compose-shapes': ${prompts.length} prompts × ${B} samples, T = ${settings.steps} (${seconds.toFixed(1)} s)`,
  );
  log(table);
  log(`wrote ${output.path}/{results.json,results.csv,table.md,chart.svg}`);
  return rows;
}

/** Runs every method on every prompt (prompt p with seed + p), scoring the kept samples; one tally per method. */
async function sampleMethods(
  run: ComposeRun,
  ctx: { world: ShapesWorld; schedule: NoiseSchedule; prompts: readonly ShapesPrompt[] },
  onProgress?: (p: ExperimentProgress) => void,
): Promise<Tally[]> {
  const { methods, B, settings } = run;
  const { world, schedule, prompts } = ctx;
  const tallies = methods.map(emptyTally);
  const needed = expertsNeeded(methods);
  const total = prompts.length * methods.length;
  let done = 0;
  for (let p = 0; p < prompts.length; p++) {
    const prompt = prompts[p];
    const ps = run.seed + p;
    const models = new Map<string, Denoiser>();
    for (const e of needed)
      models.set(e, mixtureDenoiser(EXPERTS[e](world, prompt, { seed: ps }), schedule, { name: e }));
    if (methods.some((m) => m.projective))
      models.set('background', mixtureDenoiser(looseBackground(world, prompt, ps), schedule, { name: 'background' }));
    for (let mi = 0; mi < methods.length; mi++) {
      const t0 = performance.now();
      const r = await runMethod(methods[mi], models, { world, schedule, B, seed: ps, settings });
      const ms = performance.now() - t0;
      const evaluations = Array.from({ length: B }, (_, b) =>
        evaluateImage(world, prompt, r.samples.subarray(b * world.dim, (b + 1) * world.dim)),
      );
      recordRun(tallies[mi], r, ms, evaluations);
      onProgress?.({ done: ++done, total, label: 'compose-shapes', item: methods[mi].name });
    }
  }
  return tallies;
}
