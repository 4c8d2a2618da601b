/**
 * What the playground computes for one set of settings, with no DOM: each chosen expert alone
 * and AMDM (target ← others), all through the library's `compareOnShapes` on one prompt, so
 * the rates the page shows are the library's for the same seed. The worker runs this; tests
 * run it in Node.
 *
 * Runs of an expert alone do not depend on w, η, s or the rule: they are cached by what they do
 * depend on, so moving those sliders reruns AMDM only.
 */
import { alphaBar, makeSchedule } from '../../src/core/schedule.ts';
import type { StepTrace } from '../../src/core/sampler.ts';
import type { AggregationRule } from '../../src/core/types.ts';
import { compareOnShapes, type ShapesMethod } from '../../src/toy/shapes/compare.ts';
import {
  MAP_BEST_SETTING,
  SEARCH_BEST_SETTING,
  mergeSettingAtSteps,
  mergeSettingMethod,
} from '../../src/toy/shapes/merge-setting.ts';
import type { SummaryRow } from '../../src/toy/shapes/evaluate.ts';
import type { ExpertName } from '../../src/toy/shapes/experts.ts';
import { parsePromptLabel, type ShapesPrompt } from '../../src/toy/shapes/prompts.ts';
import { renderPrompt } from '../../src/toy/shapes/render.ts';
import { compileRule } from './custom-rule.ts';
import { cachedRun } from './run-cache.ts';
import { WORLD, type Settings } from './settings.ts';
import { traceCollector, type TraceRows } from './trace.ts';

export type { TraceRows } from './trace.ts';

/** One image's verdict, for its caption. */
export interface SampleVerdict {
  instancesOk: number;
  instances: number;
  styleOk: boolean | null;
  clean: boolean;
}

export interface MethodView {
  /** 'alone:<expert>' or 'amdm'. */
  key: string;
  name: string;
  experts: ExpertName[];
  /** B images of WORLD.dim values, back to back. */
  images: Float32Array;
  summary: SummaryRow;
  verdicts: SampleVerdict[];
  calls: number;
  /** Wall time of the run in ms (0 when it came from the cache). */
  ms: number;
}

export interface PlaygroundResult {
  prompt: ShapesPrompt;
  methods: MethodView[];
  /** Null when there is no AMDM run (no other expert) or it failed. */
  trace: TraceRows | null;
  /** Why AMDM did not run (a custom rule that fails its checks, a rule that throws). */
  amdmError: string | null;
}

export interface RunOptions {
  /** Cache of expert-alone runs, kept between calls (see the file comment). */
  cache?: Map<string, MethodView>;
  /** Called as each method finishes, for progressive display. */
  onMethod?: (view: MethodView) => void;
}

const SCHEDULE = makeSchedule();

/** Runs every method of `settings` (validated by parseSettings) on its prompt. */
export async function runPlayground(settings: Settings, opts: RunOptions = {}): Promise<PlaygroundResult> {
  const prompt = parsePromptLabel(WORLD, settings.prompt);
  const cache = opts.cache ?? new Map<string, MethodView>();
  const methods: MethodView[] = [];
  const emit = (v: MethodView) => {
    methods.push(v);
    opts.onMethod?.(v);
  };
  for (const expert of [settings.target, ...settings.others]) {
    const key = JSON.stringify([settings.models, settings.prompt, expert, settings.T, settings.seed, settings.samples]);
    emit(
      await cachedRun(cache, key, () =>
        runMethod(settings, prompt, { name: `${expert} alone`, experts: [expert] }, `alone:${expert}`),
      ),
    );
  }
  if (settings.others.length === 0) return { prompt, methods, trace: null, amdmError: null };

  const collector = shapesTrace(settings, prompt);
  try {
    const rule: AggregationRule | Settings['rule'] =
      settings.rule === 'custom' ? compileRule(settings.ruleBody, WORLD.dim) : settings.rule;
    const experts = [settings.target, ...settings.others];
    const name = `AMDM ${settings.target} ← ${settings.others.join(' + ')}`;
    const amdm: ShapesMethod =
      settings.merge === 'sliders'
        ? {
            name,
            experts,
            target: 0,
            aggregateSteps: settings.s,
            weights: settings.w,
            deviation: settings.deviation,
            eta: settings.eta,
            // the relative step has no length scale (the sampler refuses one)
            etaScale: settings.deviation === 'eq9' ? settings.etaScale : undefined,
            rule,
            ...beyondThePaper(settings),
          }
        : mergeSettingMethod(
            mergeSettingAtSteps(settings.merge === 'search-best' ? SEARCH_BEST_SETTING : MAP_BEST_SETTING, settings.T),
            experts,
            `${name} (${settings.merge})`,
          );
    emit(await runMethod(settings, prompt, amdm, 'amdm', collector.onStep));
  } catch (e) {
    return { prompt, methods, trace: null, amdmError: e instanceof Error ? e.message : String(e) };
  }
  return { prompt, methods, trace: collector.rows, amdmError: null };
}

/** The window and the box maps of the sliders' AMDM run (none at their defaults). */
function beyondThePaper(settings: Settings): Partial<ShapesMethod> {
  const out: Partial<ShapesMethod> = {};
  if (settings.windowStart > 0) out.windows = settings.others.map(() => [settings.windowStart, settings.s]);
  if (settings.spatial !== 'none') {
    const feather = Number(settings.spatial.slice('boxes-f'.length));
    out.spatial = settings.others.map((e) => ({ instances: true, feather, invert: e === 'style' }));
  }
  return out;
}

async function runMethod(
  settings: Settings,
  prompt: ShapesPrompt,
  method: ShapesMethod,
  key: string,
  onStep?: (t: StepTrace) => void,
): Promise<MethodView> {
  const started = performance.now();
  const res = await compareOnShapes({
    world: WORLD,
    prompts: [prompt],
    methods: [method],
    samplesPerPrompt: settings.samples,
    steps: settings.T,
    seed: settings.seed,
    schedule: SCHEDULE,
    keepImages: 1,
    onStep: onStep ? (t) => onStep(t) : undefined,
  });
  const m = res.methods[0];
  return {
    key,
    name: method.name,
    experts: [...method.experts],
    images: m.images[0],
    summary: m.summary.overall,
    verdicts: m.evaluations.map((e) => ({
      instancesOk: e.instances.filter((i) => i.ok).length,
      instances: e.instances.length,
      styleOk: e.style.ok,
      clean: e.fidelity.clean,
    })),
    calls: m.calls,
    ms: performance.now() - started,
  };
}

/** The trace collector of a Shapes run: the experts' names and the sphere of this prompt's data. */
function shapesTrace(settings: Settings, prompt: ShapesPrompt): ReturnType<typeof traceCollector> {
  const clean = renderPrompt(WORLD, prompt);
  let m2 = 0;
  for (const v of clean) m2 += v * v;
  const ex02 = m2 / WORLD.dim + WORLD.sigma0 ** 2; // E x₀² per element of this prompt's data
  return traceCollector({
    names: [settings.target, ...settings.others],
    symmetric: settings.rule === 'sphericalMean',
    dim: WORLD.dim,
    sphere: (tPrev) => {
      const ab = alphaBar(SCHEDULE, tPrev);
      return Math.sqrt(ab * ex02 + 1 - ab);
    },
  });
}
