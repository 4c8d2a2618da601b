/**
 * `amdm zoo`: the learned mini-zoo on the MiniMIG world (src/experiments/zoo): calibrate, jobs,
 * bench, experiment, rescore and sphere — each its flags and one call.
 */
import { Command } from 'commander';
import { choiceArg, intArg, numberArg } from '../io/options.ts';
import { ZOO_BENCH_DEFAULTS, ZOO_BENCH_QUICK, runZooBench, type ZooBenchOptions } from '../experiments/zoo/bench.ts';
import { ZOO_CALIBRATE_DEFAULTS, ZOO_CALIBRATE_QUICK, runZooCalibrate } from '../experiments/zoo/calibrate.ts';
import { MAX_NOISE_SEED, ZOO_METHODS } from '../experiments/zoo/methods.ts';
import { ZOO_EXPERIMENT_PLANS, runZooExperiment } from '../experiments/zoo/registry.ts';

/** Adds `--threads` and `--workers` to a command whose results are `what` (same for any n). */
function addWorkerFlags(c: Command, what: string): Command {
  return c
    .option(
      '--threads <n>',
      'onnxruntime intra-op threads (0 = default; with --workers, cores / workers)',
      intArg(0, 1024),
      0,
    )
    .option(
      '--workers <n>',
      `worker processes generating images side by side (same ${what} for any n)`,
      intArg(1, 1024),
      1,
    );
}

/** `--methods`: ';'-separated, or ','-separated when no method carries settings after '@'. */
export function splitMethods(v: string): string[] {
  return v.includes(';') || v.includes('@') ? v.split(';').filter((x) => x !== '') : v.split(',');
}

/** `amdm zoo calibrate`. */
function addCalibrate(zoo: Command): void {
  const d = ZOO_CALIBRATE_DEFAULTS;
  addWorkerFlags(zoo.command('calibrate'), 'results')
    .description(
      'each zoo model alone on MiniMIG prompts (L1–L4) through the ONNX pipeline, scored by the exact evaluator; writes calibration.{json,csv,md}',
    )
    .option('--zoo <dir>', 'folder holding the model folders', d.zoo)
    .option(
      '--models <list>',
      'comma-separated model folder names (default: every folder with unet/model.onnx)',
      (v: string) => v.split(','),
    )
    .option('--per-level <n>', 'prompts per level', intArg(1, 100_000), d.perLevel)
    .option('--seed <seed>', 'seed of the prompt set', intArg(0, 2 ** 40), d.seed)
    .option('--seeds <n>', 'noise seeds per prompt', intArg(1, 1000), d.seeds)
    .option(
      '--noise-seed <seed>',
      `base of the image seeds (seed = noise-seed·10¹⁰ + k·10⁷ + the prompt's stream, as zoo bench)`,
      intArg(0, MAX_NOISE_SEED),
      d.noiseSeed,
    )
    .option('--steps <T>', 'DDIM steps', intArg(1, 1000), d.steps)
    .option('--guidance <g>', 'CFG scale (MIGC needs ≠ 1)', numberArg(0, 100), d.guidance)
    .option('--out <dir>', `output folder (default ${d.out}; with --quick ${ZOO_CALIBRATE_QUICK.out})`)
    .option('--images', 'also write every generated image to images/<model>/<id>-r<k>.png (k: the noise seed index)')
    .option(
      '--quick',
      `smoke run: ${ZOO_CALIBRATE_QUICK.perLevel} prompt per level, ${ZOO_CALIBRATE_QUICK.steps} steps (overrides --per-level and --steps)`,
    )
    .action(async (opts) => {
      const { perLevel, steps } = ZOO_CALIBRATE_QUICK;
      await runZooCalibrate({ ...opts, ...(opts.quick ? { perLevel, steps } : {}) });
    });
}

/** `amdm zoo jobs`. */
function addJobs(zoo: Command): void {
  zoo
    .command('jobs')
    .description(
      'writes the example jobs examples/jobs/mini-*.json (each zoo model alone, and AMDM with the paper settings) and their style reference PNG',
    )
    .option('--out <dir>', 'folder of the jobs', 'examples/jobs')
    .option('--zoo <dir>', 'folder holding the model folders', ZOO_CALIBRATE_DEFAULTS.zoo)
    .action(async (opts) => {
      const { writeZooJobs } = await import('../experiments/zoo/jobs.ts');
      for (const f of await writeZooJobs(opts)) console.log(`wrote ${f}`);
    });
}

/** The flags `zoo bench` and `zoo experiment` share. */
function benchFlags(c: Command): Command {
  const d = ZOO_BENCH_DEFAULTS;
  const q = ZOO_BENCH_QUICK;
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
      `smoke run: ${q.perLevel} prompt per level, ${q.seeds} seed, ${q.steps} steps, s = ${q.aggregateSteps}`,
    );
}

/** Commander's options → the benchmark's (`--s` is `aggregateSteps`). */
function benchOptions(opts: Record<string, unknown>): ZooBenchOptions & { quick?: boolean } {
  const { s, ...rest } = opts;
  return { ...rest, aggregateSteps: s as number | undefined } as ZooBenchOptions & { quick?: boolean };
}

/** `amdm zoo bench`. */
function addBench(zoo: Command): void {
  benchFlags(
    zoo
      .command('bench')
      .description(
        'MiniMIG benchmark (L1–L4, interactions, styles) of zoo models alone and aggregated, resumable and shardable; writes records/, results.{json,csv}, table.md, chart.svg',
      ),
  )
    .option(
      '--methods <list>',
      `methods separated by ';' (or ',' when no method has settings): ${Object.keys(ZOO_METHODS).join(', ')}; an aggregated one with settings: interact+migc@rule=lerp,w=0.9,s=40,eta=0`,
      splitMethods,
      ZOO_BENCH_DEFAULTS.methods,
    )
    .option(
      '--levels <list>',
      'levels (instances per scene), comma-separated in 1..4',
      (v: string) => v.split(',').map((x) => intArg(1, 4)(x)),
      ZOO_BENCH_DEFAULTS.levels,
    )
    .option('--out <dir>', 'run folder (resumable)', ZOO_BENCH_DEFAULTS.out)
    .action(async (opts) => {
      const { quick, ...o } = benchOptions(opts);
      await runZooBench({ ...o, ...(quick ? ZOO_BENCH_QUICK : {}) });
    });
}

/** `amdm zoo experiment <name>`. */
function addExperiment(zoo: Command): void {
  const plans = Object.entries(ZOO_EXPERIMENT_PLANS);
  benchFlags(
    zoo
      .command('experiment')
      .description(
        `the paper's experiments on the zoo (levels L2–L4): ${plans.map(([k, e]) => `${k} (${e.methods.join(', ')})`).join('; ')}`,
      )
      .argument('<name>', 'experiment', choiceArg(Object.keys(ZOO_EXPERIMENT_PLANS))),
  )
    .option(
      '--out <dir>',
      'run folder (default experiments/out/mini-<name>; with --quick amdm-out/experiments/mini-<name>)',
    )
    .action(async (name: string, opts) => {
      const { quick, noiseSeed, ...extra } = benchOptions(opts);
      await runZooExperiment(name, { ...extra, seed: noiseSeed, quick: quick ?? false });
    });
}

/** `amdm zoo rescore <run>`. */
function addRescore(zoo: Command): void {
  zoo
    .command('rescore')
    .description(
      'scores the images of a zoo bench run folder made with --images again with the current evaluator, rewrites its records and summary (no image is generated)',
    )
    .argument('<run>', 'the run folder')
    .option('--zoo <dir>', 'folder holding the model folders', ZOO_BENCH_DEFAULTS.zoo)
    .action(async (run: string, opts) => {
      const { rescoreZooBench } = await import('../experiments/zoo/rescore.ts');
      const r = await rescoreZooBench(run, opts);
      process.stderr.write(
        `rescored ${r.rescored} images in ${run}${r.missing > 0 ? `; ${r.missing} records are missing, so no summary was written (finish the run, then rescore)` : ''}\n`,
      );
    });
}

/** `amdm zoo sphere`. */
function addSphere(zoo: Command): void {
  zoo
    .command('sphere')
    .description(
      'Figure 5b analog: ‖x′‖/√d of the merged latent per aggregated step for slerp, lerp, nlerp and vp (InteractDiffusion-mini ← MIGC-mini), beside the target alone; writes sphere.csv, results.json, chart.svg',
    )
    .option('--zoo <dir>', 'folder holding the model folders', ZOO_BENCH_DEFAULTS.zoo)
    .option('--prompts <n>', 'prompts, cycling through L2–L4 (default 12)', intArg(1, 10_000))
    .option('--steps <T>', 'DDIM steps (default 50)', intArg(1, 1000))
    .option('--s <s>', 'aggregation steps (default min(20, T))', intArg(1, 1000))
    .option(
      '--out <dir>',
      'output folder (default experiments/out/mini-sphere; with --quick amdm-out/experiments/mini-sphere)',
    )
    .option('--quick', 'smoke run: 1 prompt, 3 steps, s = 2')
    .action(async (opts) => {
      const { runZooSphere } = await import('../experiments/zoo/sphere.ts');
      await runZooSphere({ ...opts, ...(opts.quick ? { prompts: 1, steps: 3, s: 2 } : {}) });
    });
}

/** `amdm zoo` with all its subcommands. */
export function zooCommand(): Command {
  const zoo = new Command('zoo').description('the learned mini-zoo (models/mini-zoo) on the MiniMIG world');
  for (const add of [addCalibrate, addJobs, addBench, addExperiment, addRescore, addSphere]) add(zoo);
  return zoo;
}
