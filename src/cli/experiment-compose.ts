/**
 * `amdm experiment compose-shapes`: the paper's Table 5 analog in the Shapes world — AMDM
 * against compositional samplers that target the *product* of the same experts, on the same
 * prompts and noise grid, scored by the exact evaluator, with model evaluations and wall time.
 * The methods and their settings: compose-shapes-methods.ts; the rows, table and chart:
 * compose-shapes-report.ts.
 */
import type { Denoiser } from '../core/types.ts';
import { makeSchedule } from '../core/schedule.ts';
import { checkInt, describe } from '../core/validate.ts';
import { mixtureDenoiser } from '../toy/gmm.ts';
import { EXPERTS } from '../toy/shapes/experts.ts';
import { evaluateImage } from '../toy/shapes/evaluate.ts';
import { makePromptSet } from '../toy/shapes/prompts.ts';
import { makeWorld } from '../toy/shapes/world.ts';
import { plotToSVG } from '../image/plot.ts';
import { jsonText } from '../io/files.ts';
import { progressBar } from '../io/progress.ts';
import { csvOfRecords } from '../jobs/table.ts';
import { prepareExperimentOutput, type ExperimentOptions } from './experiment-common.ts';
import {
  composeMethods,
  expertsNeeded,
  looseBackground,
  resolveSettings,
  runMethod,
  type ComposeMethod,
  type ComposeSettings,
} from './compose-shapes-methods.ts';
import {
  composeChart,
  composeRow,
  composeTable,
  emptyTally,
  recordRun,
  type ComposeRow,
} from './compose-shapes-report.ts';

export interface ComposeShapesOptions extends ExperimentOptions {
  /** Small smoke version: 3 prompts × 2 samples, T = 10, s = 4, K = 2 MCMC steps per level. */
  quick?: boolean;
  /** Prompt set seed 1000 + seed; prompt p is sampled with seed + p. Default 0. */
  seed?: number;
  /** Prompts (default 36; quick 3) and kept samples per prompt B (default 4; quick 2). */
  prompts?: number;
  samples?: number;
  /** Include the +style block (AMDM and product samplers with the style expert). Default true. */
  withStyle?: boolean;
  /** Overrides of the shared settings (steps, MCMC, particles; see composeSettings). */
  settings?: Partial<ComposeSettings>;
  /** Runs only the methods it accepts (default all). */
  select?: (m: ComposeMethod) => boolean;
}

/** Runs the comparison and writes results.json, results.csv, table.md and chart.svg. */
export async function runComposeShapes(o: ComposeShapesOptions = {}): Promise<ComposeRow[]> {
  if (typeof o !== 'object' || o === null) throw new TypeError(`options must be an object, got ${describe(o)}`);
  const log = o.log ?? ((l: string) => console.log(l));
  if (typeof log !== 'function') throw new TypeError(`log must be a function, got ${describe(log)}`);
  const quick = o.quick ?? false;
  if (typeof quick !== 'boolean') throw new TypeError(`quick must be a boolean, got ${describe(quick)}`);
  const seed = checkInt('seed', o.seed ?? 0, 0, 2 ** 40);
  const promptCount = checkInt('prompts', o.prompts ?? (quick ? 3 : 36), 1, 100_000);
  const B = checkInt('samples', o.samples ?? (quick ? 2 : 4), 1, 10_000);
  const withStyle = o.withStyle ?? true;
  if (typeof withStyle !== 'boolean') throw new TypeError(`withStyle must be a boolean, got ${describe(withStyle)}`);
  const settings = resolveSettings(quick, o.settings);
  const methods = composeMethods(settings, withStyle).filter((m) => (o.select ? o.select(m) : true));
  if (methods.length < 1) throw new RangeError('select must accept at least one method');
  const output = await prepareExperimentOutput('compose-shapes', quick, o.out);
  const world = makeWorld();
  const schedule = makeSchedule();
  const prompts = makePromptSet(world, { seed: 1000 + seed, count: promptCount, withStyle: true });
  const tallies = methods.map(emptyTally);
  const needed = expertsNeeded(methods);
  const bar = progressBar(prompts.length * methods.length, 'compose-shapes', { enabled: o.progress });
  const started = Date.now();
  let done = 0;
  for (let p = 0; p < prompts.length; p++) {
    const prompt = prompts[p];
    const ps = seed + p;
    const models = new Map<string, Denoiser>();
    for (const e of needed)
      models.set(e, mixtureDenoiser(EXPERTS[e](world, prompt, { seed: ps }), schedule, { name: e }));
    if (methods.some((m) => m.projective))
      models.set('background', mixtureDenoiser(looseBackground(world, prompt, ps), schedule, { name: 'background' }));
    for (let mi = 0; mi < methods.length; mi++) {
      const t0 = performance.now();
      const r = await runMethod(methods[mi], models, { world, schedule, B, seed: ps, settings });
      const ms = performance.now() - t0;
      recordRun(
        tallies[mi],
        r,
        ms,
        Array.from({ length: B }, (_, b) =>
          evaluateImage(world, prompt, r.samples.subarray(b * world.dim, (b + 1) * world.dim)),
        ),
      );
      bar.update(++done, methods[mi].name);
    }
  }
  bar.stop();
  const kept = prompts.length * B;
  const rows: ComposeRow[] = methods.map((m, i) => composeRow(m, tallies[i], prompts.length, kept));

  const csv = csvOfRecords(rows);
  const table = composeTable(rows);
  const seconds = (Date.now() - started) / 1000;
  const flags = [
    quick ? ' --quick' : '',
    o.seed ? ` --seed ${seed}` : '',
    o.prompts !== undefined ? ` --prompts ${promptCount}` : '',
    o.samples !== undefined ? ` --samples ${B}` : '',
  ].join('');
  const command = `npx amdm experiment compose-shapes${flags}`;
  await output.commit(
    new Map([
      [
        'results.json',
        jsonText({
          experiment: 'compose-shapes',
          command,
          quick,
          seed,
          prompts: prompts.length,
          samplesPerPrompt: B,
          settings,
          seconds,
          rows,
        }),
      ],
      ['results.csv', csv],
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
