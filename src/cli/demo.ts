/**
 * `amdm demo`: the main job. Samples a fixed set of Shapes-world prompts with each expert alone
 * and with AMDM (layout ← attribute, layout ← attribute + style), prints instance success / mIoU /
 * style success with standard errors, and writes a PNG grid and a JSON of the numbers.
 */
import path from 'node:path';
import { compareOnShapes, demoMethods, type ExpertDenoiserFactory, type ShapesCompareResult } from '../toy/shapes/compare.ts';
import { makePromptSet } from '../toy/shapes/prompts.ts';
import { makeWorld } from '../toy/shapes/world.ts';
import type { RuleName } from '../core/rules.ts';
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
  eta: number;
  etaScale: 'absolute' | 'sqrtDim';
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
  // back to its own proposal (EXPERIMENTS.md, experiment eta). The demo's AMDM rows therefore use
  // η = 0 (aggregation only) and one extra row runs the paper's exact settings for comparison.
  w: [0.5],
  eta: 0,
  etaScale: 'sqrtDim',
  rule: 'slerp',
  seed: 0,
  levels: [1, 2, 3],
  out: 'amdm-out/demo',
  gridPrompts: 6,
  backend: 'js',
};

/** The paper's s for T steps: 20 of 50 (InteractDiffusion + MIGC). */
export function paperS(steps: number): number {
  return Math.round(0.4 * steps);
}

export async function runDemo(o: DemoOptions, factory?: ExpertDenoiserFactory): Promise<ShapesCompareResult> {
  const log = o.log ?? ((l: string) => console.log(l));
  const world = makeWorld();
  const prompts = makePromptSet(world, { seed: o.seed, count: o.prompts, levels: o.levels, withStyle: true });
  const methods = demoMethods();
  methods.splice(3, 0, {
    name: 'AMDM layout←attribute (paper)',
    experts: ['layout', 'attribute'],
    weights: 0.5,
    eta: 0.3,
    etaScale: 'sqrtDim',
    rule: 'slerp',
    aggregateSteps: paperS(o.steps),
  });
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
  log(`T = ${o.steps}, s = ${o.s}, w = ${o.w.join('/')}, η = ${o.eta} (${o.etaScale}), rule = ${o.rule}, seed = ${o.seed}, backend = ${o.backend}`);
  log(`the row marked "paper" uses the paper's w = 0.5, η = 0.3·√d, s = ${paperS(o.steps)}, slerp`);
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
