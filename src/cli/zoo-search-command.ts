/**
 * `amdm zoo search` and `amdm zoo confirm`, added to the `zoo` command: the merge search on the
 * mini-zoo (search.ts) and its confirmation on fresh prompts and noise (confirm.ts).
 */
import type { Command } from 'commander';
import { intArg } from '../io/options.ts';

const common = (c: Command): Command =>
  c
    .option('--zoo <dir>', 'folder holding the model folders', 'models/mini-zoo')
    .option('--seed <n>', 'seed of the settings drawn and of the prompt and noise seeds', intArg(0, 10_000), 0)
    .option(
      '--threads <n>',
      'onnxruntime intra-op threads per process (0 = the cores divided among the workers)',
      intArg(0, 1024),
      1,
    )
    .option(
      '--workers <n>',
      'worker processes generating images side by side (same records for any number)',
      intArg(1, 1024),
      1,
    )
    .option(
      '--runs <dir>',
      'the image records (resumable: a rerun generates only what is missing; default out/search-zoo-runs, with --quick amdm-out/search-zoo-runs)',
    )
    .option('--quick', 'smoke run: a few prompts, T = 4');

export function addZooSearchCommands(zoo: Command): Command {
  common(
    zoo
      .command('search')
      .description(
        'where, when and how much to merge MIGC-mini into InteractDiffusion-mini: successive halving (reduction 3) over 51 settings drawn from the grid of windows, ramps, box maps and deviation steps plus the paper point and the map cells, on 9 → 18 → 45 prompts of L2–L4, ranked by relation success; writes experiments/out/search-zoo/{results.json,rounds.csv,table.md}',
      ),
  )
    .option(
      '--out <dir>',
      'output folder (default experiments/out/search-zoo; with --quick amdm-out/experiments/search-zoo)',
    )
    .action(async (opts) => {
      const { runZooSearch } = await import('../experiments/zoo/search.ts');
      await runZooSearch(opts);
    });
  common(
    zoo
      .command('confirm')
      .description(
        "the search's best settings on fresh prompts and noise seeds, beside each model alone, AMDM without the new options and the compositional baselines (sum of ε, projective, FKC), paired over prompts; writes experiments/out/confirm-zoo/{results.json,results.csv,table.md,pareto.svg,pareto-marks.svg}",
      ),
  )
    .option('--from <dir>', 'the search run folder (default experiments/out/search-zoo; with --quick its smoke folder)')
    .option('--per-level <n>', 'fresh prompts per level L2–L4 (default 12; --quick 1)', intArg(1, 100_000))
    .option('--no-fkc', 'leave FKC out (4 particles: 400 UNet calls per image)')
    .option(
      '--out <dir>',
      'output folder (default experiments/out/confirm-zoo; with --quick amdm-out/experiments/confirm-zoo)',
    )
    .action(async (opts) => {
      const { runZooConfirm } = await import('../experiments/zoo/confirm.ts');
      await runZooConfirm(opts);
    });
  return zoo;
}
