/**
 * `amdm zoo bench`, `amdm zoo experiment <name>` and `amdm zoo sphere`: the commands over the
 * MiniMIG benchmark (minimig-bench.ts), and the paper's tables and figures on the zoo, each the
 * benchmark with the methods it compares.
 */
import type { Command } from 'commander';
import { choiceArg, intArg, numberArg } from '../io/options.ts';
import { addWorkerFlags } from './zoo-workers.ts';
import { experimentFolder } from './experiment-common.ts';
import { BENCH_DEFAULTS, BENCH_QUICK, runMiniMigBench, type BenchOptions, type BenchResult } from './minimig-bench.ts';
import { MAX_NOISE_SEED, MINIMIG_METHODS } from './zoo-methods.ts';

/** The paper's tables and figures on the zoo: the methods each compares, on levels L2–L4 (every prompt has an interaction). */
export const ZOO_EXPERIMENTS: Readonly<Record<string, { title: string; methods: readonly string[] }>> = Object.freeze({
  table1: {
    title: 'Table 1 analog: InteractDiffusion-mini ← MIGC-mini (instances and interactions)',
    methods: ['interact', 'migc', 'interact+migc'],
  },
  table2: {
    title: 'Table 2 analog: MIGC-mini ← InteractDiffusion-mini (does it gain interactions and keep attributes?)',
    methods: ['migc', 'interact', 'migc+interact'],
  },
  style: {
    title: 'Figure 3b / 4 analog: + IP-Adapter-mini (style), and all three models',
    methods: ['interact', 'ip', 'interact+ip', 'interact+migc+ip'],
  },
  reference: {
    title: "The official code's loop (reference preset) vs the paper's algorithm",
    methods: ['interact+migc', 'interact+migc:reference'],
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
  },
  rules: {
    title: 'Figure 5a analog: slerp vs lerp and nlerp in InteractDiffusion-mini ← MIGC-mini',
    methods: ['interact', 'interact+migc', 'interact+migc:lerp', 'interact+migc:nlerp'],
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
  },
  map: {
    title:
      "Where AMDM works on the zoo: experiment 7's parameter map (rule × w × s × η) for InteractDiffusion-mini ← MIGC-mini",
    methods: ['interact', 'migc', ...mapMethods(['slerp', 'lerp'], [0.5, 0.9], [20, 40], [0, 0.3])],
  },
});

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

/** `--methods`: ';'-separated, or ','-separated when no method carries settings after '@'. */
export function splitMethods(v: string): string[] {
  return v.includes(';') || v.includes('@') ? v.split(';').filter((x) => x !== '') : v.split(',');
}
const EXPERIMENT_LEVELS = [2, 3, 4];

/** Default run folder of `amdm zoo experiment <name>`: the recorded runs, or the smoke runs' scratch folder. */
export function zooExperimentFolder(name: string, quick: boolean): string {
  return experimentFolder(`mini-${name}`, quick);
}

/** One paper experiment on the zoo: the benchmark with the experiment's methods. */
export async function runZooExperiment(name: string, o: BenchOptions & { quick?: boolean } = {}): Promise<BenchResult> {
  if (!Object.hasOwn(ZOO_EXPERIMENTS, name))
    throw new RangeError(`experiment must be one of ${Object.keys(ZOO_EXPERIMENTS).join(', ')}, got '${name}'`);
  const e = ZOO_EXPERIMENTS[name];
  const { quick, ...rest } = o;
  (o.log ?? ((l: string) => process.stderr.write(`${l}\n`)))(e.title);
  return runMiniMigBench({
    levels: EXPERIMENT_LEVELS,
    ...rest,
    ...(quick ? BENCH_QUICK : {}),
    methods: e.methods,
    out: o.out ?? zooExperimentFolder(name, quick ?? false),
  });
}

const commonFlags = (c: Command): Command => {
  const d = BENCH_DEFAULTS;
  return addWorkerFlags(c, 'records')
    .option('--zoo <dir>', 'folder holding the model folders', d.zoo)
    .option('--per-level <n>', `prompts per level (default ${d.perLevel})`, intArg(1, 100_000))
    .option('--seeds <n>', `noise seeds per prompt (default ${d.seeds})`, intArg(1, 1000))
    .option('--prompt-seed <seed>', 'seed of the prompt set', intArg(0, 2 ** 40), d.promptSeed)
    .option(
      '--noise-seed <seed>',
      `base of the image seeds (seed = noise-seed·10¹⁰ + k·10⁷ + the prompt's stream; 0 = the recorded runs' seeds)`,
      intArg(0, MAX_NOISE_SEED),
      d.noiseSeed,
    )
    .option('--steps <T>', `DDIM steps (default ${d.steps})`, intArg(1, 1000))
    .option('--s <s>', `aggregation steps, the first s of T (default min(${d.aggregateSteps}, T))`, intArg(0, 1000))
    .option('--eta <η>', 'deviation step η of eq. 9 (×√d)', numberArg(0, 1e6), d.eta)
    .option('--guidance <g>', 'CFG scale', numberArg(0, 100), d.guidance)
    .option(
      '--shard <i/n|auto>',
      'shard i of n (0-based) of the (prompt, seed) pairs, or auto (JOB_COMPLETION_INDEX + --shard-count, or SLURM_ARRAY_TASK_ID/COUNT)',
    )
    .option('--shard-count <n>', 'number of shards for --shard auto under a Kubernetes Indexed Job', intArg(1))
    .option('--images', 'also write every image to images/<method>/<prompt id>-r<k>.png')
    .option(
      '--quick',
      `smoke run: ${BENCH_QUICK.perLevel} prompt per level, ${BENCH_QUICK.seeds} seed, ${BENCH_QUICK.steps} steps, s = ${BENCH_QUICK.aggregateSteps}`,
    );
};

/** Commander's options → BenchOptions. */
function benchOptions(opts: Record<string, unknown>): BenchOptions & { quick?: boolean } {
  const { s, ...rest } = opts;
  return { ...rest, aggregateSteps: s as number | undefined } as BenchOptions & { quick?: boolean };
}

/** `amdm zoo bench` and `amdm zoo experiment`, added to the `zoo` command. */
export function addZooBenchCommands(zoo: Command): Command {
  commonFlags(
    zoo
      .command('bench')
      .description(
        'MiniMIG benchmark (L1–L4, interactions, styles) of zoo models alone and aggregated, resumable and shardable; writes records/, results.{json,csv}, table.md, chart.svg',
      ),
  )
    .option(
      '--methods <list>',
      `methods separated by ';' (or ',' when no method has settings): ${Object.keys(MINIMIG_METHODS).join(', ')}; an aggregated one with settings: interact+migc@rule=lerp,w=0.9,s=40,eta=0`,
      splitMethods,
      BENCH_DEFAULTS.methods,
    )
    .option(
      '--levels <list>',
      'levels (instances per scene), comma-separated in 1..4',
      (v: string) => v.split(',').map((x) => intArg(1, 4)(x)),
      BENCH_DEFAULTS.levels,
    )
    .option('--out <dir>', 'run folder (resumable)', BENCH_DEFAULTS.out)
    .action(async (opts) => {
      const { quick, ...o } = benchOptions(opts);
      await runMiniMigBench({ ...o, ...(quick ? BENCH_QUICK : {}) });
    });
  commonFlags(
    zoo
      .command('experiment')
      .description(
        `the paper's experiments on the zoo (levels L2–L4): ${Object.entries(ZOO_EXPERIMENTS)
          .map(([k, e]) => `${k} (${e.methods.join(', ')})`)
          .join('; ')}`,
      )
      .argument('<name>', 'experiment', choiceArg(Object.keys(ZOO_EXPERIMENTS))),
  )
    .option(
      '--out <dir>',
      'run folder (default experiments/out/mini-<name>; with --quick amdm-out/experiments/mini-<name>)',
    )
    .action(async (name: string, opts) => {
      await runZooExperiment(name, benchOptions(opts));
    });
  zoo
    .command('rescore')
    .description(
      'scores the images of a zoo bench run folder made with --images again with the current evaluator, rewrites its records and summary (no image is generated)',
    )
    .argument('<run>', 'the run folder')
    .option('--zoo <dir>', 'folder holding the model folders', BENCH_DEFAULTS.zoo)
    .action(async (run: string, opts) => {
      const { rescoreBenchRun } = await import('./zoo-rescore.ts');
      const r = await rescoreBenchRun(run, opts);
      process.stderr.write(
        `rescored ${r.rescored} images in ${run}${r.missing > 0 ? `; ${r.missing} records are missing, so no summary was written (finish the run, then rescore)` : ''}\n`,
      );
    });
  zoo
    .command('sphere')
    .description(
      'Figure 5b analog: ‖x′‖/√d of the merged latent per aggregated step for slerp, lerp, nlerp and vp (InteractDiffusion-mini ← MIGC-mini), beside the target alone; writes sphere.csv, results.json, chart.svg',
    )
    .option('--zoo <dir>', 'folder holding the model folders', BENCH_DEFAULTS.zoo)
    .option('--prompts <n>', 'prompts, cycling through L2–L4 (default 12)', intArg(1, 10_000))
    .option('--steps <T>', 'DDIM steps (default 50)', intArg(1, 1000))
    .option('--s <s>', 'aggregation steps (default min(20, T))', intArg(1, 1000))
    .option(
      '--out <dir>',
      'output folder (default experiments/out/mini-sphere; with --quick amdm-out/experiments/mini-sphere)',
    )
    .option('--quick', 'smoke run: 1 prompt, 3 steps, s = 2')
    .action(async (opts) => {
      const { runZooSphere } = await import('./zoo-sphere.ts');
      await runZooSphere({ ...opts, ...(opts.quick ? { prompts: 1, steps: 3, s: 2 } : {}) });
    });
  return zoo;
}
