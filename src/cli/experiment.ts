/** `amdm experiment <name>`: the Shapes-world experiments (src/experiments/shapes), added to the program. */
import type { Command } from 'commander';
import { choiceArg, intArg } from '../io/options.ts';
import { progressBars } from '../io/progress.ts';
import {
  SHAPES_EXPERIMENT_NAMES,
  runShapesExperiment,
  type ShapesExperimentName,
} from '../experiments/shapes/registry.ts';

/** Adds `experiment` to the program. */
export function addExperimentCommand(program: Command): void {
  program
    .command('experiment')
    .description(`Shapes-world experiments: ${SHAPES_EXPERIMENT_NAMES.join(', ')} (results.json/csv, table.md, charts)`)
    .argument('<name>', 'experiment name', choiceArg(SHAPES_EXPERIMENT_NAMES))
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
    .action(async (name: ShapesExperimentName, opts) => {
      const bars = progressBars({ enabled: opts.progress && Boolean(process.stderr.isTTY) });
      try {
        await runShapesExperiment(name, {
          quick: opts.quick ?? false,
          prompts: opts.prompts,
          samples: opts.samples,
          seed: opts.seed,
          out: opts.out,
          workers: opts.workers,
          replot: opts.replot,
          onProgress: bars.report,
        });
      } finally {
        bars.stop();
      }
    });
}
