/**
 * The Shapes-world demo in memory: a fixed set of prompts sampled with each expert alone and
 * with AMDM; instance success / mIoU / style success with standard errors as a text table, a PNG
 * grid and a JSON of the numbers. AMDM layout ← attribute runs three ways: at the paper's exact
 * settings, at the best cell of `amdm experiment map` (MAP_BEST), and with the given settings
 * (default η = 0); layout ← attribute + style runs with the given settings. `amdm demo` prints
 * and writes what this returns; the HTTP handler sends it.
 */
import { z } from 'zod';
import {
  compareOnShapes,
  demoMethods,
  jsExpertFactory,
  type ExpertDenoiserFactory,
  type ShapesCompareResult,
} from '../toy/shapes/compare.ts';
import { makePromptSet } from '../toy/shapes/prompts.ts';
import { makeWorld } from '../toy/shapes/world.ts';
import { encodePNG } from '../image/png.ts';
import { shapesGrid } from '../image/shapes-grid.ts';
import { AMDM_DEFAULTS } from '../core/defaults.ts';
import { DEVIATION_MODES } from '../core/deviation.ts';
import { cellSettings, etaLabel, type MapCell } from '../toy/shapes/map-cell.ts';
import type { ShapesMethod } from '../toy/shapes/compare.ts';
import {
  SEARCH_BEST_SETTING,
  mergeSettingAtSteps,
  mergeSettingMethod,
  mergeSettingName,
  type MergeSetting,
} from '../toy/shapes/merge-setting.ts';
import { ruleField } from './rule-field.ts';
import { pm, textTable } from './table.ts';

export { DEMO_DEFAULTS, paperS, sOfT, type DemoSettings } from './demo-defaults.ts';
import { DEMO_DEFAULTS, paperS, sOfT, type DemoSettings } from './demo-defaults.ts';

/**
 * The best cell of `npx amdm experiment map` for layout ← attribute (experiments/out/map,
 * EXPERIMENTS.md): the highest instance success among cells with clean images, rerun on fresh
 * prompts. Its s is at T = 50 and scales with the steps.
 */
export const MAP_BEST: MapCell = { rule: 'lerp', w: 0.9, s: 40, scale: 'none', eta: 0 };

/**
 * The best setting of \`npx amdm experiment search-shapes\`, confirmed on fresh prompts by
 * \`confirm-shapes\` (EXPERIMENTS.md, experiment 13): the options beyond the paper at work.
 */
export const SEARCH_BEST: MergeSetting = SEARCH_BEST_SETTING;

/** The given settings' options beyond the paper for a method of the given settings (windows, a schedule, maps). */
function beyondPaper(o: DemoSettings, m: ShapesMethod): Partial<ShapesMethod> {
  const others = m.experts.length - 1;
  const out: Partial<ShapesMethod> = {};
  if (o.window) {
    if (o.window[1] > o.steps) throw new RangeError(`--window must end at ≤ --steps (${o.steps}), got ${o.window[1]}`);
    out.windows = new Array(others).fill(o.window);
    out.aggregateSteps = o.window[1];
  }
  if (o.weightSchedule) out.weights = new Array(others).fill(o.weightSchedule);
  if (o.spatialFeather !== undefined) {
    const feather = o.spatialFeather;
    out.spatial = m.experts.slice(1).map((e) => ({ instances: true, feather, invert: e === 'style' }));
    if (o.spatialDeviation) out.spatialDeviation = true;
  } else if (o.spatialDeviation) throw new RangeError('--spatial-deviation needs --spatial <feather>');
  return out;
}

/** The paper's settings as a map cell (AMDM_DEFAULTS): slerp, w = 0.5, η = 0.3·√d, s = 20 of 50. */
const PAPER_CELL: MapCell = {
  rule: AMDM_DEFAULTS.rule,
  w: AMDM_DEFAULTS.weight,
  s: AMDM_DEFAULTS.aggregateSteps,
  scale: AMDM_DEFAULTS.etaScale,
  eta: AMDM_DEFAULTS.eta,
};

const unit = z.number().min(0).max(1);

/** A demo request as JSON (the command's flags, same names and defaults). */
export const demoSchema = z
  .strictObject({
    prompts: z.int().min(1).max(100_000).default(DEMO_DEFAULTS.prompts),
    samples: z.int().min(1).max(10_000).default(DEMO_DEFAULTS.samples),
    steps: z.int().min(1).max(1000).default(DEMO_DEFAULTS.steps),
    /** Default: the paper's share, 20 of 50, scaled to the steps. */
    s: z.int().min(0).max(1000).optional(),
    w: z
      .union(
        [
          z
            .number()
            .min(0)
            .max(1)
            .transform((w) => [w]),
          z.array(z.number().min(0).max(1)).min(1).max(2),
        ],
        { error: (i) => `must be a weight in [0, 1] or an array of 1 or 2 of them, got ${JSON.stringify(i.input)}` },
      )
      .default(DEMO_DEFAULTS.w),
    deviation: z.enum(DEVIATION_MODES).default(DEMO_DEFAULTS.deviation),
    eta: z.number().min(0).max(1e6).default(DEMO_DEFAULTS.eta),
    /** Only for deviation "eq9"; unset means ×√d. */
    etaScale: z.enum(['sqrtDim', 'absolute']).optional(),
    rule: ruleField,
    seed: z
      .int()
      .min(0)
      .max(2 ** 40)
      .default(DEMO_DEFAULTS.seed),
    levels: z.array(z.int().min(1).max(3)).min(1).max(16).default(DEMO_DEFAULTS.levels),
    gridPrompts: z.int().min(0).max(64).default(DEMO_DEFAULTS.gridPrompts),
    backend: z.enum(['js', 'onnx']).default(DEMO_DEFAULTS.backend),
    window: z.tuple([z.int().min(0), z.int().min(0)]).optional(),
    weightSchedule: z.strictObject({ kind: z.enum(['linear', 'cosine']), from: unit, to: unit }).optional(),
    spatialFeather: z.number().min(0).max(16).optional(),
    spatialDeviation: z.boolean().optional(),
  })
  .transform((d) => ({ ...d, s: d.s ?? paperS(d.steps) }))
  .refine((d) => d.s <= d.steps, { path: ['s'], message: 'must be ≤ steps' })
  .refine((d) => d.deviation === 'eq9' || d.etaScale === undefined, {
    path: ['etaScale'],
    message: 'applies only to deviation "eq9"; with "relative" eta is the fraction λ ∈ [0, 1] of the way to μ',
  })
  .refine((d) => d.deviation === 'eq9' || d.eta <= 1, {
    path: ['eta'],
    message: 'with deviation "relative" eta is λ and must be in [0, 1]',
  })
  .refine((d) => d.window === undefined || (d.window[0] <= d.window[1] && d.window[1] <= d.steps), {
    path: ['window'],
    message: 'must be [start, end) with 0 ≤ start ≤ end ≤ steps',
  })
  .refine((d) => d.spatialDeviation !== true || d.spatialFeather !== undefined, {
    path: ['spatialDeviation'],
    message: 'restricts the deviation step to the box maps: give spatialFeather too',
  });

export interface DemoRun {
  result: ShapesCompareResult;
  /** The printed report: settings, the table with standard errors, per-level success. */
  lines: string[];
  /** grid.png (rows: prompt, each expert alone, AMDM; first sample per prompt), or null for gridPrompts 0. */
  grid: Uint8Array | null;
  /** What results.json holds, less the settings. */
  results: { seconds: number; prompts: unknown[]; methods: unknown[] };
}

export interface DemoRunOptions {
  /** Experts as ONNX sessions (demo-onnx.ts) instead of the closed-form JS ones. */
  factory?: ExpertDenoiserFactory;
  onProgress?: (p: { done: number; total: number; method: string }) => void;
  signal?: AbortSignal;
  /**
   * Give the event loop a turn (a macrotask) at least this often, in ms, while the experts
   * compute: the JS experts never wait for I/O, so without it a server sends no progress,
   * answers no other request and sees no client leave until the whole demo is over.
   */
  yieldMs?: number;
}

/** `factory`'s experts, each pausing for a macrotask when `everyMs` has passed since the last pause. */
function yielding(factory: ExpertDenoiserFactory, everyMs: number): ExpertDenoiserFactory {
  let last = Date.now();
  const pause = () => new Promise<void>((r) => setTimeout(r, 0));
  return async (mixture, info) => {
    const d = await factory(mixture, info);
    return {
      ...d,
      eps: async (x, t, batch) => {
        const e = await d.eps(x, t, batch);
        if (Date.now() - last >= everyMs) {
          await pause();
          last = Date.now();
        }
        return e;
      },
    };
  };
}

export async function computeDemo(o: DemoSettings, run: DemoRunOptions = {}): Promise<DemoRun> {
  const world = makeWorld();
  const prompts = makePromptSet(world, { seed: o.seed, count: o.prompts, levels: o.levels, withStyle: true });
  const { methods, yours } = demoMethodsFor(o);
  const started = Date.now();
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
    denoiserFactory: run.yieldMs === undefined ? run.factory : yielding(run.factory ?? jsExpertFactory, run.yieldMs),
    onProgress: (p) => run.onProgress?.({ done: p.done, total: p.total, method: p.method }),
    signal: run.signal,
  });
  const seconds = (Date.now() - started) / 1000;
  const gridCount = Math.min(o.gridPrompts, prompts.length);
  const grid =
    gridCount > 0
      ? await encodePNG(
          shapesGrid({
            world,
            prompts: prompts.slice(0, gridCount),
            rows: result.methods.map((m) => ({
              name: m.name,
              images: m.images.map((img) => img.subarray(0, world.dim)),
            })),
          }),
        )
      : null;
  return {
    result,
    lines: demoReport(o, result, prompts.length, yours),
    grid,
    results: {
      seconds,
      prompts: prompts.map((p) => ({ instances: p.instances, style: p.style ?? null })),
      methods: result.methods.map((m) => ({
        name: m.name,
        experts: m.experts,
        target: m.target,
        calls: m.calls,
        summary: m.summary,
      })),
    },
  };
}

/**
 * The demo's methods: the experts alone, AMDM with the settings given (`yours`, their label), and
 * the paper's, the map's and the search's best settings on layout←attribute; w per other model.
 */
function demoMethodsFor(o: DemoSettings): { methods: ShapesMethod[]; yours: string } {
  const methods = demoMethods();
  const yours = etaLabel(
    o.deviation === 'relative'
      ? { scale: 'relative', eta: o.eta }
      : { scale: o.eta === 0 ? 'none' : o.etaScale === 'absolute' ? 'absolute' : 'sqrtDim', eta: o.eta },
  );
  for (const m of methods) if (m.experts.length > 1) m.name += ` (${yours})`;
  const pair: ShapesMethod['experts'] = ['layout', 'attribute'];
  methods.splice(
    3,
    0,
    { name: 'AMDM layout←attribute (paper)', experts: pair, ...cellSettings({ ...PAPER_CELL, s: paperS(o.steps) }) },
    {
      name: 'AMDM layout←attribute (map best)',
      experts: pair,
      ...cellSettings({ ...MAP_BEST, s: sOfT(MAP_BEST.s, o.steps) }),
    },
    mergeSettingMethod(mergeSettingAtSteps(SEARCH_BEST, o.steps), pair, 'AMDM layout←attribute (search best)'),
  );
  for (const m of methods) if (m.experts.length > 1 && m.weights === undefined) Object.assign(m, beyondPaper(o, m));
  // w per other model: a single value applies to every other model
  const wFor = (others: number) => (o.w.length === 1 ? o.w[0] : o.w.slice(0, others));
  const mostOthers = Math.max(...methods.map((m) => m.experts.length - 1));
  if (o.w.length > mostOthers && o.w.length !== 1) {
    throw new RangeError(
      `--w takes 1 weight or one per other model (at most ${mostOthers} here), got ${o.w.length}: ${o.w.join(',')}`,
    );
  }
  for (const m of methods) {
    if (m.experts.length > 1 && m.weights === undefined) {
      if (o.w.length !== 1 && o.w.length < m.experts.length - 1) {
        throw new RangeError(
          `--w must give 1 weight or one per other model (${m.experts.length - 1} for '${m.name}'), got ${o.w.length}`,
        );
      }
      m.weights = wFor(m.experts.length - 1);
    }
  }
  return { methods, yours };
}

/** The printed report: the settings, the table with standard errors, and instance success per level. */
function demoReport(o: DemoSettings, result: ShapesCompareResult, promptCount: number, yours: string): string[] {
  const lines: string[] = [];
  const log = (l: string) => lines.push(l);
  log(
    `Shapes world: ${promptCount} prompts (levels ${o.levels.join(', ')} instances, each with a background style), ${o.samples} samples each`,
  );
  log(
    `T = ${o.steps}, s = ${o.s}, w = ${o.w.join('/')}, ${yours}${o.deviation === 'relative' ? ' (relative deviation step)' : ''}, rule = ${o.rule}, seed = ${o.seed}, backend = ${o.backend}`,
  );
  log(
    `the row marked "paper" uses the paper's w = ${PAPER_CELL.w}, ${etaLabel(PAPER_CELL)}, s = ${paperS(o.steps)}, ${PAPER_CELL.rule}`,
  );
  log(
    `the row marked "search best" uses ${mergeSettingName(SEARCH_BEST)} (T = 50; windows scale with T): the best setting of \`npx amdm experiment search-shapes\`, confirmed on fresh prompts (EXPERIMENTS.md)`,
  );
  log(
    `the row marked "map best" uses ${MAP_BEST.rule}, w = ${MAP_BEST.w}, ${etaLabel(MAP_BEST)}${MAP_BEST.scale === 'relative' ? ' (relative deviation step)' : ''}, s = ${sOfT(MAP_BEST.s, o.steps)}: the best cell of \`npx amdm experiment map\` (EXPERIMENTS.md)`,
  );
  log('');
  log(
    textTable(
      ['method', 'instance success', 'mIoU', 'image success', 'style success', 'clean images', 'model calls'],
      result.methods.map((m) => [
        m.name,
        pm(m.summary.overall.instanceSuccess),
        pm(m.summary.overall.mIoU),
        pm(m.summary.overall.imageSuccess),
        pm(m.summary.overall.styleSuccess),
        pm(m.summary.overall.cleanImages),
        String(m.calls),
      ]),
    ),
  );
  log('');
  log('instance success per level (number of instances in the prompt):');
  const levels = result.methods[0].summary.levels.map((l) => l.level);
  log(
    textTable(
      ['method', ...levels.map((l) => `L${l}`)],
      result.methods.map((m) => [m.name, ...m.summary.levels.map((l) => pm(l.instanceSuccess))]),
    ),
  );
  log('(± is one standard error; instance success = IoU ≥ 0.5 and the right colour; clean = every pixel');
  log(' within 2σ₀ RMS of a drawable colour, i.e. the image is on the data, not just readable)');
  return lines;
}
