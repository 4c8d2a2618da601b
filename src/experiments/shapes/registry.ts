/**
 * Every Shapes-world experiment (`amdm experiment <name>`), listed once: the command's choices,
 * its help text and its dispatch all come from SHAPES_EXPERIMENTS. Each experiment is one module
 * exporting `experiment` (its title, plan and runner), loaded only when it runs; the registry
 * hands the runner the plan it looked up (`run(plan, { seed, quick, out, onProgress, … })`).
 */
import { experimentFolder } from '../common.ts';
import type { ShapesExperiment, ShapesRunOptions } from './common.ts';

/** A module of one experiment. */
interface ExperimentModule {
  experiment: ShapesExperiment<unknown, unknown>;
}

/** The experiments that are a plan of methods run by compareOnShapes (run-plan.ts). */
const PLAN_EXPERIMENTS = {
  experts: () => import('./experts.ts'),
  eta: () => import('./eta.ts'),
  rules: () => import('./rules.ts'),
  sphere: () => import('./sphere.ts'),
  weights: () => import('./weights.ts'),
} satisfies Record<string, () => Promise<ExperimentModule>>;

export const SHAPES_EXPERIMENTS = {
  ...PLAN_EXPERIMENTS,
  // Table 5 analog: AMDM vs compositional baselines on the same prompts and experts
  'compose-shapes': () => import('./compose/run.ts'),
  // where in (w, η and its scale, s, rule) layout ← attribute transfers (EXPERIMENTS.md)
  map: () => import('./map/run.ts'),
  // where, when and how much to merge (windows, schedules, spatial maps): the search on one
  // prompt/noise set, then its best settings on fresh prompts and seeds (EXPERIMENTS.md)
  'search-shapes': () => import('./search/search.ts'),
  'confirm-shapes': () => import('./search/confirm.ts'),
} satisfies Record<string, () => Promise<ExperimentModule>>;

export type ShapesExperimentName = keyof typeof SHAPES_EXPERIMENTS;
export const SHAPES_EXPERIMENT_NAMES = Object.keys(SHAPES_EXPERIMENTS) as ShapesExperimentName[];

/** The experiments that are plans (run-plan.ts runs them). */
export type PlanExperimentName = keyof typeof PLAN_EXPERIMENTS;
export const PLAN_EXPERIMENT_NAMES = Object.keys(PLAN_EXPERIMENTS) as PlanExperimentName[];

/** The experiment of a name (its module loaded). */
export async function loadShapesExperiment(name: ShapesExperimentName): Promise<ShapesExperiment<unknown, unknown>> {
  if (!Object.hasOwn(SHAPES_EXPERIMENTS, name))
    throw new RangeError(`experiment must be one of ${SHAPES_EXPERIMENT_NAMES.join(', ')}, got '${String(name)}'`);
  return (await SHAPES_EXPERIMENTS[name]()).experiment;
}

/** The options of a run as a command gives them: the output folder may be left to its default. */
export type ShapesCommandOptions = Omit<ShapesRunOptions, 'out'> & {
  /** Output folder (default experimentFolder(name, quick)). */
  out?: string;
  /** Only redraw the charts of an earlier run (the experiments that have charts to redraw; the others run). */
  replot?: boolean;
};

/**
 * Runs the experiment `name` with its plan, into `o.out` or its default folder; with `replot`,
 * only redraws the charts of the run there. Logs through `o.log` (default console.log).
 */
export async function runShapesExperiment(name: ShapesExperimentName, o: ShapesCommandOptions): Promise<void> {
  const experiment = await loadShapesExperiment(name);
  const plan = await experiment.plan();
  const { replot, ...rest } = o;
  const out = o.out ?? experimentFolder(name, o.quick);
  const log = o.log ?? ((l: string) => console.log(l));
  if (replot && experiment.replot) log(await experiment.replot(plan, { quick: o.quick, out }));
  else await experiment.run(plan, { ...rest, out });
}
