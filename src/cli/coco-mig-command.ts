/** The `coco-mig` subcommand of `amdm bench` (src/experiments/coco-mig): its flags, checked, and the run. */
import { Command, Option, type OptionValues } from 'commander';
import { AMDM_DEFAULTS } from '../core/defaults.ts';
import { checkInt, checkNumber } from '../core/validate.ts';
import { DEVICES } from '../onnx/session.ts';
import { MIGC_DEFAULT_STEPS } from '../sd/families/migc.ts';
import { ruleArg, ruleHelp } from '../io/options.ts';
import { progressBar, type Progress } from '../io/progress.ts';
import { runCocoMig } from '../experiments/coco-mig/run.ts';

const intOpt =
  (name: string, min: number, max = Number.MAX_SAFE_INTEGER) =>
  (v: string) => {
    if (!/^-?\d+$/.test(v))
      throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
    return checkInt(name, Number(v), min, max);
  };
const numOpt = (name: string, min: number, max: number) => (v: string) => checkNumber(name, Number(v), min, max);

/** The `coco-mig` subcommand (for `amdm bench`): flags map one to one onto {@link CocoMigOptions}. */
export function cocoMigCommand(): Command {
  return new Command('coco-mig')
    .description(
      'COCO-MIG benchmark images with AMDM (InteractDiffusion ← MIGC), {image_id:06d}_{key}.png, resumable and shardable',
    )
    .requiredOption('--bench <file>', 'mig_bench.json (800 entries)')
    .requiredOption('--interact <dir>', 'InteractDiffusion model folder (target)')
    .requiredOption('--migc <dir>', 'MIGC model folder')
    .option('--out <dir>', 'output folder', 'out/coco-mig')
    .option(
      '--shard <i/n|auto>',
      'shard i of n (0-based), or auto (JOB_COMPLETION_INDEX + --shard-count, or SLURM_ARRAY_TASK_ID/COUNT)',
    )
    .option(
      '--shard-count <n>',
      'number of shards for --shard auto under a Kubernetes Indexed Job',
      intOpt('--shard-count', 1),
    )
    .option('--limit <n>', 'only the first n entries', intOpt('--limit', 1))
    .option('--steps <T>', 'DDIM steps', intOpt('--steps', 1, 1000), AMDM_DEFAULTS.steps)
    .option('--s <s>', `aggregation steps (default min(${AMDM_DEFAULTS.aggregateSteps}, T))`, intOpt('--s', 0, 1000))
    .option('--w <w>', 'weight of MIGC in the merge', numOpt('--w', 0, 1), AMDM_DEFAULTS.weight)
    .option('--eta <η>', 'deviation step η (both models)', numOpt('--eta', 0, 1e6), AMDM_DEFAULTS.eta)
    .addOption(
      new Option('--eta-scale <scale>', 'η per dimension (×√d) or absolute')
        .choices(['sqrtDim', 'absolute'])
        .default(AMDM_DEFAULTS.etaScale),
    )
    .option('--rule <rule>', ruleHelp(), ruleArg, AMDM_DEFAULTS.rule)
    .option('--guidance <g>', 'CFG scale', numOpt('--guidance', 0, 100), AMDM_DEFAULTS.guidance)
    .option(
      '--migc-steps <n>',
      `last step that runs MIGC (-1: none, T − 1: every step; default min(${MIGC_DEFAULT_STEPS}, T − 1))`,
      intOpt('--migc-steps', -1),
    )
    .option('--seed <seed>', 'base seed (image seed = seed + key)', intOpt('--seed', 0, 2 ** 40), AMDM_DEFAULTS.seed)
    .addOption(
      new Option('--preset <preset>', 'paper (sampleAMDM) or reference (the official loop)')
        .choices(['paper', 'reference'])
        .default('paper'),
    )
    .addOption(new Option('--device <device>', 'onnxruntime device').choices([...DEVICES]).default('cpu'))
    .option('--threads <n>', 'intra-op threads per session (0 = default)', intOpt('--threads', 0, 1024), 0)
    .option('--no-progress', 'hide the progress bar')
    .action(runFromFlags);
}

/** The parsed flags, checked against each other, mapped onto {@link runCocoMig}; logs the shard's summary. */
async function runFromFlags(o: OptionValues): Promise<void> {
  // the cross-flag limits, in the user's words (runCocoMig names its options)
  if (o.s !== undefined && o.s > o.steps) throw new RangeError(`--s must be ≤ --steps (${o.steps}), got ${o.s}`);
  if (o.migcSteps !== undefined && o.migcSteps > o.steps - 1) {
    throw new RangeError(
      `--migc-steps must be in [-1, --steps − 1 = ${o.steps - 1}] (${o.steps - 1} runs MIGC at every step), got ${o.migcSteps}`,
    );
  }
  let bar: Progress | undefined;
  const summary = await runCocoMig({
    bench: o.bench,
    output: o.out,
    interact: o.interact,
    migc: o.migc,
    shard: o.shard,
    shardCount: o.shardCount,
    limit: o.limit,
    steps: o.steps,
    aggregateSteps: o.s,
    weight: o.w,
    eta: o.eta,
    etaScale: o.etaScale,
    rule: o.rule,
    guidance: o.guidance,
    migcSteps: o.migcSteps,
    seed: o.seed,
    preset: o.preset,
    device: o.device,
    threads: o.threads,
    onProgress: (p) => {
      bar ??= progressBar(p.total, 'coco-mig', { enabled: o.progress && Boolean(process.stderr.isTTY) });
      bar.update(p.done, p.label);
    },
  }).finally(() => bar?.stop());
  console.log(
    `shard ${summary.shard.index}/${summary.shard.count}: ${summary.keys.length} images, ${summary.written.length} written (${summary.regenerated.length} regenerated), ${summary.skipped.length} already done → ${summary.outputDir}`,
  );
}
