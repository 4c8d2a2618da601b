#!/usr/bin/env node
/** The `amdm` command line. Each subcommand loads only what it needs. */
import { Command, Option } from 'commander';
import { choiceArg, intArg, numberArg, numberListArg, ruleArg, ruleHelp } from './options.ts';
import { DEMO_DEFAULTS, paperS } from '../jobs/demo.ts';
import { readFileSync } from 'node:fs';
import { DEVIATION_MODES } from '../core/deviation.ts';
import { commandOf, importModules } from './import-modules.ts';
import { zooCommand } from './zoo-calibrate.ts';
import { addZooBenchCommands } from './zoo-bench-commands.ts';
import { serveCommand } from './serve.ts';
import { EXPERIMENTS, EXPERIMENT_NAMES, type ExperimentName } from './experiment-registry.ts';

/** The package version, from package.json two folders up (src/cli/ and dist/cli/ alike). */
function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string })
    .version;
}

export function buildProgram(extra: Command[] = []): Command {
  const program = new Command();
  program
    .name('amdm')
    .description('Aggregation of Multiple Diffusion Models: toy demo, ONNX generation, benchmarks')
    .version(packageVersion(), '-V, --version', 'print the version')
    // after a bad flag: the error and one hint line, not the whole help
    .showHelpAfterError('(add --help to list the options)')
    .option(
      '--import <module>',
      'import a module before the command, e.g. one that registers an aggregation rule (registerRule) for --rule and job files; repeatable',
      (v: string, all: string[] | undefined) => [...(all ?? []), v],
    )
    // before the command parses its flags, so that the rules the modules register are known
    .hook('preSubcommand', async (cmd) => {
      await importModules(cmd.opts<{ import?: string[] }>().import ?? []);
    });

  const d = DEMO_DEFAULTS;
  program
    .command('demo')
    .description(
      'Shapes world: each expert alone vs AMDM (layout ← attribute, layout ← attribute + style); prints a table, writes grid.png and results.json',
    )
    .option('--prompts <n>', 'number of prompts', intArg(1, 100_000), d.prompts)
    .option('--samples <n>', 'samples per prompt and method', intArg(1, 10_000), d.samples)
    .option('--steps <T>', 'DDIM steps', intArg(1, 1000), d.steps)
    .option(
      '--s <s>',
      `aggregation steps, the first s of T (default: the paper's ratio, ${d.s} of ${d.steps}, scaled to T)`,
      intArg(0, 1000),
    )
    .option(
      '--w <w>',
      'weight of the other model(s) in eq. 8, comma-separated per other model',
      numberListArg(0, 1),
      d.w,
    )
    .addOption(
      new Option(
        '--deviation <mode>',
        "deviation step: eq9 (the paper's eq. 9, a step of length η) or relative (x′ + λ(μ − x′), λ = η ∈ [0, 1])",
      )
        .choices(DEVIATION_MODES)
        .default(d.deviation),
    )
    .option(
      '--eta <η>',
      'η of the deviation step (a length for eq9, the fraction λ for relative)',
      numberArg(0, 1e6),
      d.eta,
    )
    .addOption(
      new Option('--eta-scale <scale>', 'eq9 only: η per dimension (×√d, the default) or absolute').choices([
        'sqrtDim',
        'absolute',
      ]),
    )
    .option('--rule <rule>', ruleHelp(), ruleArg, d.rule)
    .option('--seed <seed>', 'seed of the prompts and the noise', intArg(0, 2 ** 40), d.seed)
    .option(
      '--levels <list>',
      'instances per prompt, cycled (1–3)',
      (v: string) => v.split(',').map((x) => intArg(1, 3)(x)),
      d.levels,
    )
    .option('--out <dir>', 'output folder', d.out)
    .option('--grid-prompts <n>', 'prompts shown in grid.png', intArg(0, 64), d.gridPrompts)
    .addOption(
      new Option('--backend <backend>', 'closed-form experts in JS, or exported to ONNX and run by onnxruntime')
        .choices(['js', 'onnx'])
        .default(d.backend),
    )
    .option('--no-progress', 'hide the progress bar')
    .addOption(
      new Option(
        '--world <world>',
        'shapes: the closed-form Shapes experts; mini: the learned mini-zoo (models/mini-zoo) through ONNX, on MiniMIG prompts (takes --prompts, --steps, --s, --eta, --out)',
      )
        .choices(['shapes', 'mini'])
        .default('shapes'),
    )
    .action(async (opts, cmd: Command) => {
      if (opts.world === 'mini') {
        const { runMiniDemoFromCli } = await import('./demo-mini.ts');
        await runMiniDemoFromCli(opts, (k) => cmd.getOptionValueSource(k) === 'cli');
        return;
      }
      opts.s ??= paperS(opts.steps);
      if (opts.s > opts.steps) throw new Error(`--s must be ≤ --steps (${opts.steps}), got ${opts.s}`);
      if (opts.deviation === 'relative' && opts.etaScale !== undefined)
        throw new Error(
          `--eta-scale applies only to --deviation eq9; with relative, --eta is the fraction λ ∈ [0, 1] of the way to μ`,
        );
      if (opts.deviation === 'relative' && opts.eta > 1)
        throw new Error(`--eta must be in [0, 1] with --deviation relative (it is λ), got ${opts.eta}`);
      const { runDemo } = await import('./demo.ts');
      let factory;
      if (opts.backend === 'onnx') {
        const { onnxExpertFactory } = await import('../jobs/demo-onnx.ts');
        factory = onnxExpertFactory();
        console.error('backend onnx: every expert is exported to an ONNX graph and run by onnxruntime (CPU)');
      }
      await runDemo({ ...opts, progress: opts.progress && Boolean(process.stderr.isTTY) }, factory);
    });
  program
    .command('generate')
    .description(
      'run a job file: SD-1.x-family ONNX models, one (DDIM) or several (AMDM); writes PNGs and resolved.json',
    )
    .argument('<job>', 'job file (JSON; see examples/jobs/)')
    .option('-o, --output <dir>', "output folder (overrides the job's output)")
    .addOption(
      new Option('--device <device>', "onnxruntime device (overrides the job's)").choices(['cpu', 'cuda', 'auto']),
    )
    .addOption(
      new Option(
        '--backend <backend>',
        "onnxruntime-node, onnxruntime-web (WASM) or node when it loads (overrides the job's)",
      ).choices(['node', 'web', 'auto']),
    )
    .option('--threads <n>', 'intra-op threads per session', intArg(0, 1024))
    .option('--no-progress', 'hide the progress bar')
    .action(async (job, opts) => {
      const { runGenerate } = await import('./generate.ts');
      const r = await runGenerate(job, {
        output: opts.output,
        device: opts.device,
        backend: opts.backend,
        threads: opts.threads,
        progress: opts.progress && Boolean(process.stderr.isTTY),
      });
      const amdmCalls = r.calls.reduce((a, b) => a + b, 0);
      const finish = r.totalCalls - amdmCalls;
      console.log(
        `wrote ${r.files.length} files to ${r.outputDir} (UNet calls ${r.calls.join(' + ')}${finish > 0 ? ` + ${finish} to finish every model's own image` : ''} = ${r.totalCalls})`,
      );
    });

  program.addCommand(serveCommand());

  const bench = program.command('bench').description('benchmarks on real models (run `amdm bench coco-mig --help`)');
  for (const c of extra) bench.addCommand(c);

  program
    .command('experiment')
    .description(`Shapes-world experiments: ${EXPERIMENT_NAMES.join(', ')} (results.json/csv, table.md, charts)`)
    .argument('<name>', 'experiment name', choiceArg(EXPERIMENT_NAMES))
    .option('--quick', 'small smoke version (few prompts and steps)')
    .option(
      '--prompts <n>',
      'number of prompts (default 36; quick 3; map: its coarse grids, default 6, quick 2)',
      intArg(1, 100_000),
    )
    .option(
      '--samples <n>',
      'samples per prompt (default 4; quick 2; map: its coarse grids, default 2, quick 2)',
      intArg(1, 10_000),
    )
    .option('--seed <seed>', 'seed', intArg(0, 2 ** 40), 0)
    .option(
      '--out <dir>',
      'output folder (default experiments/out/<name>, the recorded runs; with --quick amdm-out/experiments/<name>)',
    )
    .option('--replot', 'only redraw chart.svg from the results.json of an earlier run')
    .option(
      '--workers <n>',
      'map: worker processes sampling cells side by side (same numbers for any n)',
      intArg(1, 64),
      1,
    )
    .option('--no-progress', 'hide the progress bar')
    .action(async (name: ExperimentName, opts) => {
      await EXPERIMENTS[name].run(name, { ...opts, progress: opts.progress && Boolean(process.stderr.isTTY) });
    });
  program.addCommand(addZooBenchCommands(zooCommand()));
  return program;
}

export async function main(argv: readonly string[] = process.argv): Promise<void> {
  try {
    // the ONNX-backed benchmark commands load onnxruntime: only when asked for
    const extra: Command[] = [];
    if (commandOf(argv.slice(2)) === 'bench') extra.push((await import('./coco-mig-command.ts')).cocoMigCommand());
    await buildProgram(extra).parseAsync([...argv]);
  } catch (err) {
    console.error(`amdm: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}

const isEntry = (() => {
  try {
    return (
      import.meta.url === new URL(`file://${process.argv[1]}`).href ||
      /cli[\\/]main\.(ts|js)$/.test(process.argv[1] ?? '')
    );
  } catch {
    return false;
  }
})();
if (isEntry) await main();
