/**
 * `amdm demo`: the main job. Samples a fixed set of Shapes-world prompts with each expert alone
 * and with AMDM, prints instance success / mIoU / style success with standard errors, and writes
 * a PNG grid and a JSON of the numbers. AMDM layout ← attribute runs three ways: at the paper's
 * exact settings, at the best cell of `amdm experiment map` (MAP_BEST), and with the command
 * line's settings (default η = 0); layout ← attribute + style runs with the command line's.
 */
import path from 'node:path';
import { compareOnShapes, demoMethods, type ExpertDenoiserFactory, type ShapesCompareResult, type ShapesMethod } from '../toy/shapes/compare.ts';
import { makePromptSet } from '../toy/shapes/prompts.ts';
import { makeWorld } from '../toy/shapes/world.ts';
import type { RuleName } from '../core/rules.ts';
import type { DeviationMode } from '../core/deviation.ts';
import { cellSettings, etaLabel, type MapCell } from './map-cell.ts';
import { encodePNG } from '../image/png.ts';
import { shapesGrid } from '../image/shapes-grid.ts';
import { jsonText } from './files.ts';
import { prepareOutputFolder } from './output-folder.ts';
import { progressBar } from './progress.ts';
import { pm, textTable } from './table.ts';

export interface DemoOptions {
  prompts: number;
  samples: number;
  steps: number;
  s: number;
  w: number[];
  deviation: DeviationMode;
  eta: number;
  /** Only for deviation 'eq9' (unset: the sampler's default, ×√d). */
  etaScale?: 'absolute' | 'sqrtDim';
  rule: RuleName;
  seed: number;
  levels: number[];
  out: string;
  gridPrompts: number;
  backend: 'js' | 'onnx';
  progress?: boolean;
  /** Where to print (default console.log). */
  log?: (line: string) => void;
}

export const DEMO_DEFAULTS: Omit<DemoOptions, 'log' | 'progress'> = {
  prompts: 6,
  samples: 8,
  steps: 50,
  s: 20,
  // The paper's η = 0.3·√d transfers nothing in this world: the deviation step pulls the target
  // back to its own proposal (EXPERIMENTS.md, experiments 2 and 7). The flags' rows therefore
  // default to η = 0 (aggregation only); fixed rows run the paper's settings and MAP_BEST.
  w: [0.5],
  deviation: 'eq9',
  eta: 0,
  rule: 'slerp',
  seed: 0,
  levels: [1, 2, 3],
  out: 'amdm-out/demo',
  gridPrompts: 6,
  backend: 'js',
};

/** s for T steps from an s chosen at T = 50, keeping the share of aggregated steps. */
export function sOfT(sAt50: number, steps: number): number {
  return Math.round((sAt50 * steps) / 50);
}

/** The paper's s for T steps: 20 of 50 (InteractDiffusion + MIGC). */
export function paperS(steps: number): number {
  return sOfT(20, steps);
}

/**
 * The best cell of `npm run experiment -- map` for layout ← attribute (experiments/out/map,
 * EXPERIMENTS.md): the highest instance success among cells with clean images, rerun on fresh
 * prompts. Its s is at T = 50 and scales with --steps.
 */
export const MAP_BEST: MapCell = { rule: 'lerp', w: 0.9, s: 40, scale: 'none', eta: 0 };

export async function runDemo(o: DemoOptions, factory?: ExpertDenoiserFactory): Promise<ShapesCompareResult> {
  const log = o.log ?? ((l: string) => console.log(l));
  const world = makeWorld();
  const prompts = makePromptSet(world, { seed: o.seed, count: o.prompts, levels: o.levels, withStyle: true });
  const methods = demoMethods();
  const yours = etaLabel(o.deviation === 'relative' ? { scale: 'relative', eta: o.eta } : { scale: o.eta === 0 ? 'none' : o.etaScale === 'absolute' ? 'absolute' : 'sqrtDim', eta: o.eta });
  for (const m of methods) if (m.experts.length > 1) m.name += ` (${yours})`;
  const pair: ShapesMethod['experts'] = ['layout', 'attribute'];
  methods.splice(3, 0,
    { name: 'AMDM layout←attribute (paper)', experts: pair, ...cellSettings({ rule: 'slerp', w: 0.5, s: paperS(o.steps), scale: 'sqrtDim', eta: 0.3 }) },
    { name: 'AMDM layout←attribute (map best)', experts: pair, ...cellSettings({ ...MAP_BEST, s: sOfT(MAP_BEST.s, o.steps) }) },
  );
  // w per other model: a single value applies to every other model
  const wFor = (others: number) => (o.w.length === 1 ? o.w[0] : o.w.slice(0, others));
  const mostOthers = Math.max(...methods.map((m) => m.experts.length - 1));
  if (o.w.length > mostOthers && o.w.length !== 1) {
    throw new RangeError(`--w takes 1 weight or one per other model (at most ${mostOthers} here), got ${o.w.length}: ${o.w.join(',')}`);
  }
  for (const m of methods) {
    if (m.experts.length > 1 && m.weights === undefined) {
      if (o.w.length !== 1 && o.w.length < m.experts.length - 1) {
        throw new RangeError(`--w must give 1 weight or one per other model (${m.experts.length - 1} for '${m.name}'), got ${o.w.length}`);
      }
      m.weights = wFor(m.experts.length - 1);
    }
  }
  const output = await prepareOutputFolder(o.out, { command: 'demo', param: '--out', writes: /^(grid\.png|results\.json)$/ });
  const started = Date.now();
  const bar = progressBar(prompts.length * methods.length, 'sampling', { enabled: o.progress });
  const result = await compareOnShapes({
    world,
    prompts,
    methods,
    samplesPerPrompt: o.samples,
    steps: o.steps,
    aggregateSteps: o.s,
    deviation: o.deviation,
    eta: o.eta,
    etaScale: o.etaScale,
    rule: o.rule,
    seed: o.seed,
    keepImages: Math.min(o.gridPrompts, prompts.length),
    denoiserFactory: factory,
    onProgress: (p) => bar.update(p.done, p.method),
  });
  bar.stop();
  const seconds = (Date.now() - started) / 1000;

  log(`Shapes world: ${prompts.length} prompts (levels ${o.levels.join(', ')} instances, each with a background style), ${o.samples} samples each`);
  log(`T = ${o.steps}, s = ${o.s}, w = ${o.w.join('/')}, ${yours}${o.deviation === 'relative' ? ' (relative deviation step)' : ''}, rule = ${o.rule}, seed = ${o.seed}, backend = ${o.backend}`);
  log(`the row marked "paper" uses the paper's w = 0.5, η = 0.3·√d, s = ${paperS(o.steps)}, slerp`);
  log(`the row marked "map best" uses ${MAP_BEST.rule}, w = ${MAP_BEST.w}, ${etaLabel(MAP_BEST)}${MAP_BEST.scale === 'relative' ? ' (relative deviation step)' : ''}, s = ${sOfT(MAP_BEST.s, o.steps)}: the best cell of \`npm run experiment -- map\` (EXPERIMENTS.md)`);
  log('');
  log(textTable(
    ['method', 'instance success', 'mIoU', 'image success', 'style success', 'clean images', 'model calls'],
    result.methods.map((m) => [m.name, pm(m.summary.overall.instanceSuccess), pm(m.summary.overall.mIoU), pm(m.summary.overall.imageSuccess), pm(m.summary.overall.styleSuccess), pm(m.summary.overall.cleanImages), String(m.calls)]),
  ));
  log('');
  log('instance success per level (number of instances in the prompt):');
  const levels = result.methods[0].summary.levels.map((l) => l.level);
  log(textTable(
    ['method', ...levels.map((l) => `L${l}`)],
    result.methods.map((m) => [m.name, ...m.summary.levels.map((l) => pm(l.instanceSuccess))]),
  ));
  log('(± is one standard error; instance success = IoU ≥ 0.5 and the right colour; clean = every pixel');
  log(' within 2σ₀ RMS of a drawable colour, i.e. the image is on the data, not just readable)');

  const files = new Map<string, Uint8Array | string>();
  const gridCount = Math.min(o.gridPrompts, prompts.length);
  if (gridCount > 0) {
    const grid = shapesGrid({
      world,
      prompts: prompts.slice(0, gridCount),
      rows: result.methods.map((m) => ({ name: m.name, images: m.images.map((img) => img.subarray(0, world.dim)) })),
    });
    files.set('grid.png', await encodePNG(grid));
  }
  files.set('results.json', jsonText({
    settings: { ...o, log: undefined, progress: undefined, out: output.path },
    seconds,
    prompts: prompts.map((p) => ({ instances: p.instances, style: p.style ?? null })),
    methods: result.methods.map((m) => ({ name: m.name, experts: m.experts, target: m.target, calls: m.calls, summary: m.summary })),
  }));
  await output.commit(files);
  log('');
  log(`wrote ${gridCount > 0 ? path.join(output.path, 'grid.png') + ' (rows: prompt, each expert alone, AMDM; first sample per prompt) and ' : ''}${path.join(output.path, 'results.json')} in ${seconds.toFixed(1)} s`);
  return result;
}
