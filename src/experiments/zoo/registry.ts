/**
 * The paper's tables and figures on the learned mini-zoo (`amdm zoo experiment <name>`): each is
 * the zoo benchmark (bench.ts) with the methods it compares, on levels L2–L4 (every prompt has an
 * interaction). The registry hands its runner the plan: `run(plan, { seed, quick, out, … })`,
 * the signature of every experiment (src/experiments/types.ts).
 */
import type { Experiment, ExperimentRunOptions } from '../types.ts';
import { experimentFolder } from '../common.ts';
import {
  ZOO_BENCH_DEFAULTS,
  ZOO_BENCH_QUICK,
  runZooBench,
  type ZooBenchOptions,
  type ZooBenchResult,
} from './bench.ts';

/** What a zoo experiment runs: the methods it compares, on which levels. */
export interface ZooExperimentPlan {
  readonly title: string;
  readonly methods: readonly string[];
  readonly levels: readonly number[];
}

/**
 * The options of the benchmark besides the plan's and the shared ones: `seed` is the base of the
 * image seeds (`--noise-seed`), `out` the run folder, `quick` the smoke settings (ZOO_BENCH_QUICK).
 */
export type ZooExperimentExtra = Omit<ZooBenchOptions, 'methods' | 'levels' | 'noiseSeed' | 'out' | 'onProgress'>;

export type ZooExperiment = Experiment<ZooExperimentPlan, ZooBenchResult, ZooExperimentExtra>;

const LEVELS = [2, 3, 4];

/** `interact+migc@…` for every cell of the grid. */
function mapMethods(
  rules: readonly string[],
  ws: readonly number[],
  ss: readonly number[],
  etas: readonly number[],
): string[] {
  return rules.flatMap((rule) =>
    ws.flatMap((w) => ss.flatMap((s) => etas.map((eta) => `interact+migc@rule=${rule},w=${w},s=${s},eta=${eta}`))),
  );
}

/** Each experiment's plan, by name. */
export const ZOO_EXPERIMENT_PLANS: Readonly<Record<string, ZooExperimentPlan>> = Object.freeze({
  table1: {
    title: 'Table 1 analog: InteractDiffusion-mini ← MIGC-mini (instances and interactions)',
    methods: ['interact', 'migc', 'interact+migc'],
    levels: LEVELS,
  },
  table2: {
    title: 'Table 2 analog: MIGC-mini ← InteractDiffusion-mini (does it gain interactions and keep attributes?)',
    methods: ['migc', 'interact', 'migc+interact'],
    levels: LEVELS,
  },
  style: {
    title: 'Figure 3b / 4 analog: + IP-Adapter-mini (style), and all three models',
    methods: ['interact', 'ip', 'interact+ip', 'interact+migc+ip'],
    levels: LEVELS,
  },
  reference: {
    title: "The official code's loop (reference preset) vs the paper's algorithm",
    methods: ['interact+migc', 'interact+migc:reference'],
    levels: LEVELS,
  },
  eta: {
    title: 'Table 3 analog: the deviation step η (×√d) of InteractDiffusion-mini ← MIGC-mini',
    methods: [
      'interact',
      'interact+migc:eta0',
      'interact+migc',
      'interact+migc:eta1',
      'interact+migc@scale=absolute,eta=0.3',
      'interact+migc@deviation=relative,eta=0.3',
    ],
    levels: LEVELS,
  },
  rules: {
    title: 'Figure 5a analog: slerp vs lerp and nlerp in InteractDiffusion-mini ← MIGC-mini',
    methods: ['interact', 'interact+migc', 'interact+migc:lerp', 'interact+migc:nlerp'],
    levels: LEVELS,
  },
  compose: {
    title:
      'Table 5 analog: AMDM vs the compositional baselines (sum of ε with and without U-HMC, projective, FKC) over InteractDiffusion-mini and MIGC-mini',
    methods: [
      'interact',
      'migc',
      'interact+migc',
      'interact+migc@rule=lerp,w=0.9,s=40,eta=0',
      'interact+migc:sum',
      'interact+migc:sum-ddim',
      'interact+migc:sum-uhmc',
      'interact+migc:projective',
      'interact+migc:fkc',
      'interact+migc+ip',
      'interact+migc+ip:sum',
    ],
    levels: LEVELS,
  },
  map: {
    title:
      "Where AMDM works on the zoo: experiment 7's parameter map (rule × w × s × η) for InteractDiffusion-mini ← MIGC-mini",
    methods: ['interact', 'migc', ...mapMethods(['slerp', 'lerp'], [0.5, 0.9], [20, 40], [0, 0.3])],
    levels: LEVELS,
  },
});

export const ZOO_EXPERIMENT_NAMES: readonly string[] = Object.freeze(Object.keys(ZOO_EXPERIMENT_PLANS));

/** The runner of every zoo experiment: the benchmark over the plan's methods and levels. */
async function runZooExperimentPlan(
  plan: ZooExperimentPlan,
  o: ExperimentRunOptions & ZooExperimentExtra,
): Promise<ZooBenchResult> {
  const { seed, quick, out, onProgress, ...extra } = o;
  (o.log ?? ((l: string) => process.stderr.write(`${l}\n`)))(plan.title);
  return runZooBench({
    levels: plan.levels,
    ...extra,
    ...(quick ? ZOO_BENCH_QUICK : {}),
    noiseSeed: seed,
    methods: plan.methods,
    out,
    onProgress,
  });
}

/** The experiments by name. */
export const ZOO_EXPERIMENTS: Readonly<Record<string, ZooExperiment>> = Object.freeze(
  Object.fromEntries(
    Object.entries(ZOO_EXPERIMENT_PLANS).map(([name, plan]) => [
      name,
      { title: plan.title, plan: () => plan, run: runZooExperimentPlan },
    ]),
  ),
);

/**
 * Default run folder of `amdm zoo experiment <name>`: experiments/out/mini-<name> (the recorded
 * runs; the committed results and EXPERIMENTS.md name these folders: keep them), or the smoke
 * runs' amdm-out/experiments/mini-<name>.
 */
export function zooExperimentFolder(name: string, quick: boolean): string {
  return experimentFolder(`mini-${name}`, quick);
}

/** One experiment by name: its plan run into `out` (default: `zooExperimentFolder`). */
export async function runZooExperiment(
  name: string,
  o: Partial<ExperimentRunOptions> & ZooExperimentExtra = {},
): Promise<ZooBenchResult> {
  if (!Object.hasOwn(ZOO_EXPERIMENTS, name))
    throw new RangeError(`experiment must be one of ${ZOO_EXPERIMENT_NAMES.join(', ')}, got '${name}'`);
  const e = ZOO_EXPERIMENTS[name];
  const quick = o.quick ?? false;
  const seed = o.seed ?? ZOO_BENCH_DEFAULTS.noiseSeed;
  return e.run(await e.plan(), { ...o, seed, quick, out: o.out ?? zooExperimentFolder(name, quick) });
}
