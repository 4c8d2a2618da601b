/**
 * `amdm demo`: the Shapes world (or, with `--world mini`, the mini-zoo) each expert alone vs AMDM.
 * The Shapes world's job is src/jobs/demo.ts; this command parses its flags, draws the progress
 * bar, prints the job's table and writes grid.png and results.json as one output folder (checked
 * before sampling, swapped in whole).
 */
import path from 'node:path';
import { Command, InvalidArgumentError, Option, type OptionValues } from 'commander';
import type { DemoSettings } from '../jobs/demo.ts';
import { DEMO_DEFAULTS, MINI_DEMO_DEFAULTS, paperS } from '../jobs/demo-defaults.ts';
import { DEVIATION_MODES } from '../core/deviation.ts';
import type { ExpertDenoiserFactory, ShapesCompareResult } from '../toy/shapes/compare.ts';
import { jsonText } from '../io/files.ts';
import { intArg, numberArg, numberListArg, ruleArg, ruleHelp } from '../io/options.ts';
import { prepareOutputFolder } from '../io/output-folder.ts';
import { progressBars } from '../io/progress.ts';

export interface DemoOptions extends DemoSettings {
  out: string;
  progress?: boolean;
  /** Where to print (default console.log). */
  log?: (line: string) => void;
}

/** Runs the Shapes demo and writes its folder; returns the comparison. */
export async function runDemo(o: DemoOptions, factory?: ExpertDenoiserFactory): Promise<ShapesCompareResult> {
  const log = o.log ?? ((l: string) => console.log(l));
  const output = await prepareOutputFolder(o.out, {
    command: 'demo',
    param: '--out',
    writes: /^(grid\.png|results\.json)$/,
  });
  const { computeDemo } = await import('../jobs/demo.ts'); // the Shapes world: loaded when the demo runs
  const bars = progressBars({ enabled: o.progress });
  const run = await computeDemo(o, {
    factory,
    onProgress: (p) => bars.report({ done: p.done, total: p.total, label: 'sampling', item: p.method }),
  });
  bars.stop();
  for (const l of run.lines) log(l);
  const files = new Map<string, Uint8Array | string>();
  if (run.grid) files.set('grid.png', run.grid);
  files.set(
    'results.json',
    jsonText({ settings: { ...o, log: undefined, progress: undefined, out: output.path }, ...run.results }),
  );
  await output.commit(files);
  log('');
  log(
    `wrote ${run.grid ? path.join(output.path, 'grid.png') + ' (rows: prompt, each expert alone, AMDM; first sample per prompt) and ' : ''}${path.join(output.path, 'results.json')} in ${run.results.seconds.toFixed(1)} s`,
  );
  return run.result;
}

const d = DEMO_DEFAULTS;

/** The sampling flags of `demo`: prompts, samples, steps, the aggregation (s, w, deviation, η, rule), seed. */
function addDemoSamplingOptions(demo: Command): void {
  demo
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
    .option('--seed <seed>', 'seed of the prompts and the noise', intArg(0, 2 ** 40), d.seed);
}

/** The flags of `demo` beyond the paper: window, weight schedule, spatial maps; and the levels. */
function addDemoBeyondPaperOptions(demo: Command): void {
  demo
    .option(
      '--window <start,end>',
      'beyond the paper: merge the other experts on steps [start, end) instead of [0, s)',
      windowArg,
    )
    .option(
      '--weight-schedule <kind:from:to>',
      'beyond the paper: w over the window, linear or cosine from → to (e.g. linear:1:0.5; replaces --w)',
      scheduleArg,
    )
    .option(
      '--spatial <feather>',
      "beyond the paper: merge the attribute expert only inside the prompt's boxes and the style expert only outside, with a feathered edge of this many pixels",
      numberArg(0, 16),
    )
    .option('--spatial-deviation', "restrict those experts' deviation step to their maps (with --spatial)")
    .option(
      '--levels <list>',
      'instances per prompt, cycled (1–3)',
      (v: string) => v.split(',').map((x) => intArg(1, 3)(x)),
      d.levels,
    );
}

function windowArg(v: string): [number, number] {
  const [a, b, ...rest] = v.split(',');
  if (b === undefined || rest.length > 0) throw new InvalidArgumentError(`must be start,end (e.g. 0,40), got '${v}'`);
  const end = intArg(0, 1000)(b);
  return [intArg(0, end)(a), end];
}

function scheduleArg(v: string): { kind: 'linear' | 'cosine'; from: number; to: number } {
  const [kind, from, to, ...rest] = v.split(':');
  if ((kind !== 'linear' && kind !== 'cosine') || to === undefined || rest.length > 0)
    throw new InvalidArgumentError(`must be linear:from:to or cosine:from:to (e.g. linear:1:0.5), got '${v}'`);
  return { kind, from: numberArg(0, 1)(from), to: numberArg(0, 1)(to) };
}

/** The output and backend flags of `demo`: out, grid prompts, backend, progress, world. */
function addDemoOutputOptions(demo: Command): void {
  demo
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
        'shapes: the closed-form Shapes experts; mini: the learned mini-zoo (models/mini-zoo) through ONNX, on MiniMIG prompts (`amdm demo --world mini --help`: its flags and defaults)',
      )
        .choices(['shapes', 'mini'])
        .default('shapes'),
    );
}

/** The `demo` action: checks the flags that depend on each other, then runs the chosen world. */
async function runDemoCommand(opts: OptionValues, cmd: Command): Promise<void> {
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
  if (opts.window && opts.window[1] > opts.steps)
    throw new Error(`--window must end at ≤ --steps (${opts.steps}), got ${opts.window.join(',')}`);
  if (opts.spatialDeviation && opts.spatial === undefined)
    throw new Error('--spatial-deviation needs --spatial <feather>');
  opts.spatialFeather = opts.spatial;
  delete opts.spatial;
  let factory;
  if (opts.backend === 'onnx') {
    const { onnxExpertFactory } = await import('../jobs/demo-onnx.ts');
    factory = onnxExpertFactory();
    console.error('backend onnx: every expert is exported to an ONNX graph and run by onnxruntime (CPU)');
  }
  const progress = opts.progress && Boolean(process.stderr.isTTY);
  await runDemo({ ...opts, progress } as DemoOptions, factory);
}

const SHAPES_DESCRIPTION =
  'Shapes world: each expert alone vs AMDM (layout ← attribute, layout ← attribute + style); prints a table, writes grid.png and results.json';

/**
 * `--world mini` given: the help shows the mini-zoo demo's flags with its own defaults, and
 * hides the Shapes world's (which `--world mini` refuses).
 */
function helpForMiniWorld(demo: Command): void {
  const m = MINI_DEMO_DEFAULTS;
  demo.description(
    "mini-zoo world: InteractDiffusion-mini, MIGC-mini and IP-Adapter-mini alone vs AMDM (at the paper's settings, at the zoo map's best cell, and ← both others) on MiniMIG prompts through ONNX; prints a table, writes grid.png and results.json",
  );
  const mini: Record<string, [string, unknown]> = {
    prompts: ['MiniMIG prompts, cycling through levels L2, L3, L4', m.prompts],
    steps: ['DDIM steps', m.steps],
    s: [
      `aggregation steps of the given-settings rows (default: the paper's ratio, ${paperS(m.steps)} of ${m.steps})`,
      undefined,
    ],
    eta: ['η (×√d) of the given-settings rows', m.eta],
    out: ['output folder', m.out],
  };
  for (const o of demo.options) {
    const key = o.attributeName();
    if (key in mini) [o.description, o.defaultValue] = mini[key];
    else if (key !== 'world' && key !== 'progress') o.hidden = true;
  }
}

/** Adds `demo` to the program. */
export function addDemoCommand(program: Command): void {
  const demo = program.command('demo').description(SHAPES_DESCRIPTION);
  addDemoSamplingOptions(demo);
  addDemoBeyondPaperOptions(demo);
  addDemoOutputOptions(demo);
  demo.on('option:world', (world: string) => {
    if (world === 'mini') helpForMiniWorld(demo);
  });
  demo.action(runDemoCommand);
}
