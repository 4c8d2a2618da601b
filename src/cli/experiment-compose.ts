/**
 * `amdm experiment compose-shapes`: the paper's Table 5 analog in the Shapes world — AMDM
 * against compositional samplers that target the *product* of the same experts, on the same
 * prompts and noise grid, scored by the exact evaluator, with model evaluations and wall time.
 *
 * Methods (T DDIM/DDPM steps on the shared schedule, docs/sources.md (C) for the baselines):
 * - layout alone: DDIM (η_ddim = 0) with the layout expert; the reference every method pairs with.
 * - AMDM layout←attribute: paper Algorithm 1 (slerp, w = 0.5, s = 20 of T = 50, η = 0.3·√d),
 *   and the same with η = 0 (aggregation only).
 * - sum of scores (Du et al. 2023 without correction, C§2.2 "Reverse"): ε = ε_L + ε_A, one DDPM
 *   ancestral step per level (posterior variance); also with DDIM η = 0 from the layout-alone
 *   latent, so the sampler is not what separates it from AMDM.
 * - Du et al. 2023 with MCMC (C§2.2–2.3): after each step onto level t′ ≥ 0, K U-HMC or HMC steps
 *   targeting π_t′ ∝ q_L^t′ q_A^t′. Step size: the 2-D notebook's ε = 0.03 with M = 1 was set for
 *   targets of standard deviation ≈ 0.03, i.e. ε ≈ 1 target std. Here every mixture component
 *   has per-coordinate variance c_t = ᾱσ₀² + 1 − ᾱ, so a product of k experts has std
 *   √(c_t/k), and in d = 768 dimensions the leapfrog energy error grows like d·(ε/std)⁴, so the
 *   step must shrink like d^(−1/4) ≈ 0.19: ε_t = 0.2·√(c_t/k) (HMC acceptance ≈ 0.8 here;
 *   0.3 drops it to ≈ 0.5, 0.1 raises it to ≈ 0.98), L = 3, ρ = 0.5, M = 1; K = 4 steps per
 *   level (the notebook's 10 would cost 2.4× more).
 * - projective composition (Bradley et al. 2025, C§3): ε = ε_L + ε_A − ε_b with background p_b =
 *   "the prompt's squares loosely placed (attribute jitter 2), any colour, any style". Reading
 *   the factors (positions, colours, style) as Bradley's blocks, the layout expert differs from
 *   p_b only in positions (and its mild colour preference) and the attribute expert only in
 *   colours, so C = p_b·(p_L/p_b)·(p_A/p_b) puts exact positions and exact colours together.
 *   (The factorization holds over factors, not over pixels, so the rule is not exact here.)
 *   The style expert is no background: dividing by it would penalize the prompt's style.
 * - FKC (Skreta et al. 2025, C§4.3): product with γ = (1, 1), b = 1, DDPM integrator, systematic
 *   resampling when ESS < N/2. Particles: the B samples of one prompt (N = B), and N = 8B
 *   particles per prompt of which B are kept (evenly spaced slots of the final resampling).
 * - SMC with exact energies (C§5): same targets, DDPM proposal, N = 8B, B kept.
 * - "+style": AMDM layout←attribute+style and the product samplers with the style expert too.
 *
 * Every method samples prompt p with seed + p (experts built with seed + p, as compareOnShapes
 * does), so the layout-alone, AMDM and DDIM sum-of-scores runs start from the same latent.
 * Model evaluations are counted per batched call (`ε calls`, `log q calls` per prompt) and per
 * kept sample (`ε/sample` = Σ calls·batch / kept samples), so particle methods pay for their N.
 */
import * as Plot from '@observablehq/plot';
import type { Denoiser } from '../core/types.ts';
import { makeSchedule, type NoiseSchedule } from '../core/schedule.ts';
import { sampleAMDM } from '../core/sampler.ts';
import { checkInt, checkNumber, describe } from '../core/validate.ts';
import { sampleReverse } from '../compose/reverse.ts';
import { sampleFKC } from '../compose/fkc.ts';
import { sampleSMC } from '../compose/smc.ts';
import type { Level } from '../compose/levels.ts';
import type { MCMCOptions } from '../compose/mcmc.ts';
import type { ComposeResult } from '../compose/types.ts';
import { mixtureDenoiser } from '../toy/gmm.ts';
import { EXPERTS, expertFromFactors, jittered, type ExpertName, type ShapesMixture } from '../toy/shapes/experts.ts';
import { evaluateImage, type ImageEvaluation } from '../toy/shapes/evaluate.ts';
import { makePromptSet, type ShapesPrompt } from '../toy/shapes/prompts.ts';
import { makeWorld, type ShapesWorld } from '../toy/shapes/world.ts';
import { plotToSVG } from '../image/plot.ts';
import { jsonText } from './files.ts';
import { progressBar } from './progress.ts';
import { csvOfRecords, markdownTable, pm } from '../jobs/table.ts';
import { prepareExperimentOutput, rateColumns, type ExperimentOptions } from './experiment-common.ts';

export interface ComposeShapesOptions extends ExperimentOptions {
  /** Small smoke version: 3 prompts × 2 samples, T = 10, s = 4, K = 2 MCMC steps per level. */
  quick?: boolean;
  /** Prompt set seed 1000 + seed; prompt p is sampled with seed + p. Default 0. */
  seed?: number;
  /** Prompts (default 36; quick 3) and kept samples per prompt B (default 4; quick 2). */
  prompts?: number;
  samples?: number;
  /** Include the +style block (AMDM and product samplers with the style expert). Default true. */
  withStyle?: boolean;
  /** Overrides of the shared settings (steps, MCMC, particles; see composeSettings). */
  settings?: Partial<ComposeSettings>;
  /** Runs only the methods it accepts (default all). */
  select?: (m: ComposeMethod) => boolean;
}

export type ComposeKind = 'ddim' | 'amdm' | 'reverse' | 'fkc' | 'smc';

/** One compared method. */
export interface ComposeMethod {
  name: string;
  kind: ComposeKind;
  /** The experts; for AMDM the target first. */
  experts: readonly ExpertName[];
  /** 'layout+attribute' or '+style' (the chart's colour). */
  group: string;
  /** reverse: 'ddpm' (default) or 'ddim' (η = 0). */
  sampler?: 'ddpm' | 'ddim';
  /** reverse: MCMC correction per level. */
  mcmc?: 'uhmc' | 'hmc';
  /** reverse: projective composition with the loose background. */
  projective?: boolean;
  /** amdm: η of eq. 9 (√d-scaled). */
  eta?: number;
  /** fkc/smc: particles per kept sample (N = particlesPerSample·B). */
  particlesPerSample?: number;
}

/** A row of results.json/csv: the method's description, rates with SEs, costs. */
export interface ComposeRow {
  [key: string]: string | number | null;
}

/** The settings shared by every method of a run. */
export interface ComposeSettings {
  steps: number;
  aggregateSteps: number;
  weight: number;
  mcmcSteps: number;
  leapfrog: number;
  damping: number;
  /** HMC step ε_t = stepScale·√(c_t/k) (see the file comment). */
  stepScale: number;
  essThreshold: number;
  particleFactor: number;
}

export function composeSettings(quick: boolean): ComposeSettings {
  return {
    steps: quick ? 10 : 50,
    aggregateSteps: quick ? 4 : 20,
    weight: 0.5,
    mcmcSteps: quick ? 2 : 4,
    leapfrog: 3,
    damping: 0.5,
    stepScale: 0.2,
    essThreshold: 0.5,
    particleFactor: 8,
  };
}

/** The settings of a run: composeSettings(quick) with `overrides`, validated. */
export function resolveSettings(quick: boolean, overrides: Partial<ComposeSettings> = {}): ComposeSettings {
  if (typeof overrides !== 'object' || overrides === null) throw new TypeError(`settings must be an object, got ${describe(overrides)}`);
  const d = { ...composeSettings(quick), ...overrides };
  const steps = checkInt('settings.steps', d.steps, 1, 1000);
  return {
    steps,
    aggregateSteps: checkInt('settings.aggregateSteps', d.aggregateSteps, 0, steps),
    weight: checkNumber('settings.weight', d.weight, 0, 1),
    mcmcSteps: checkInt('settings.mcmcSteps', d.mcmcSteps, 0, 1000),
    leapfrog: checkInt('settings.leapfrog', d.leapfrog, 1, 100),
    damping: checkDamping(d.damping),
    stepScale: checkNumber('settings.stepScale', d.stepScale, 0, 10, { minExclusive: true }),
    essThreshold: checkNumber('settings.essThreshold', d.essThreshold, 0, 1, { minExclusive: true }),
    particleFactor: checkInt('settings.particleFactor', d.particleFactor, 1, 1000),
  };
}

function checkDamping(v: unknown): number {
  const r = checkNumber('settings.damping', v, 0, 1);
  if (r === 1) throw new RangeError('settings.damping must be in [0, 1), got 1 (the momentum would never be refreshed)');
  return r;
}

/** The compared methods in table order. */
export function composeMethods(settings: ComposeSettings, withStyle = true): ComposeMethod[] {
  const LA: ExpertName[] = ['layout', 'attribute'];
  const LAS: ExpertName[] = ['layout', 'attribute', 'style'];
  const f = settings.particleFactor;
  const g1 = 'layout+attribute';
  const g2 = '+style';
  const methods: ComposeMethod[] = [
    { name: 'layout alone', kind: 'ddim', experts: ['layout'], group: 'single expert' },
    { name: 'oracle (reference)', kind: 'ddim', experts: ['oracle'], group: 'single expert' },
    { name: 'AMDM layout←attribute (η = 0.3·√d)', kind: 'amdm', experts: LA, group: g1, eta: 0.3 },
    { name: 'AMDM layout←attribute (η = 0)', kind: 'amdm', experts: LA, group: g1, eta: 0 },
    { name: 'sum of scores (DDPM)', kind: 'reverse', experts: LA, group: g1, sampler: 'ddpm' },
    { name: 'sum of scores (DDIM η = 0)', kind: 'reverse', experts: LA, group: g1, sampler: 'ddim' },
    { name: `Du + U-HMC (K = ${settings.mcmcSteps})`, kind: 'reverse', experts: LA, group: g1, mcmc: 'uhmc' },
    { name: `Du + HMC (K = ${settings.mcmcSteps})`, kind: 'reverse', experts: LA, group: g1, mcmc: 'hmc' },
    { name: 'projective (loose background)', kind: 'reverse', experts: LA, group: g1, projective: true },
    { name: 'FKC (N = B)', kind: 'fkc', experts: LA, group: g1, particlesPerSample: 1 },
    { name: `FKC (N = ${f}B)`, kind: 'fkc', experts: LA, group: g1, particlesPerSample: f },
    { name: `SMC exact energies (N = ${f}B)`, kind: 'smc', experts: LA, group: g1, particlesPerSample: f },
  ];
  if (withStyle) {
    methods.push(
      { name: 'AMDM layout←attribute+style (η = 0.3·√d)', kind: 'amdm', experts: LAS, group: g2, eta: 0.3 },
      { name: 'sum of scores +style (DDPM)', kind: 'reverse', experts: LAS, group: g2, sampler: 'ddpm' },
      { name: `Du + HMC +style (K = ${settings.mcmcSteps})`, kind: 'reverse', experts: LAS, group: g2, mcmc: 'hmc' },
      { name: `FKC +style (N = ${f}B)`, kind: 'fkc', experts: LAS, group: g2, particlesPerSample: f },
    );
  }
  return methods;
}

/**
 * Projective background p_b for a prompt: each square at its box within ±2 px (the attribute
 * expert's jitter), colour uniform over the palette, style uniform over the world's styles.
 */
export function looseBackground(world: ShapesWorld, prompt: ShapesPrompt, seed: number): ShapesMixture {
  const uniform = <T>(xs: readonly T[]) => xs.map((value) => ({ value, p: 1 / xs.length }));
  return expertFromFactors(
    world,
    {
      positions: prompt.instances.map((i) => jittered(world, i.box[0], i.box[1], 2)),
      colors: prompt.instances.map(() => uniform(world.colors)),
      styles: uniform(world.styles),
    },
    { seed },
  );
}

/** The Du et al. MCMC options: ε_t = stepScale·√((ᾱσ₀² + 1 − ᾱ)/k) at the level's ᾱ. */
export function mcmcOptions(kind: 'uhmc' | 'hmc', s: ComposeSettings, sigma0: number, k: number): MCMCOptions {
  return {
    kind,
    stepsPerLevel: s.mcmcSteps,
    leapfrog: s.leapfrog,
    damping: s.damping,
    mass: 1,
    stepSize: (level: Level) => s.stepScale * Math.sqrt((level.abar * sigma0 * sigma0 + 1 - level.abar) / k),
  };
}

interface Tally {
  evaluations: ImageEvaluation[];
  epsCalls: number;
  logDensityCalls: number;
  /** Σ calls × batch size. */
  epsEvals: number;
  logDensityEvals: number;
  ms: number;
  acceptance: number[];
  resamples: number[];
}

/** Runs one method on one prompt; returns the B kept samples and what they cost. */
async function runMethod(
  m: ComposeMethod, models: Map<string, Denoiser>, ctx: { world: ShapesWorld; schedule: NoiseSchedule; B: number; seed: number; s: ComposeSettings },
): Promise<{ samples: Float32Array; eps: number; logq: number; epsEvals: number; logqEvals: number; acceptance?: number; resamples?: number }> {
  const { world, schedule, B, seed, s } = ctx;
  const dim = world.dim;
  const ms = m.experts.map((e) => models.get(e)!);
  if (m.kind === 'ddim' || m.kind === 'amdm') {
    const r = await sampleAMDM({
      models: ms, target: 0, steps: s.steps,
      aggregateSteps: m.kind === 'amdm' ? s.aggregateSteps : 0,
      weights: s.weight, eta: m.eta ?? 0.3, etaScale: 'sqrtDim', rule: 'slerp',
      shape: [world.channels, world.height, world.width], batch: B, seed, schedule,
    });
    return { samples: r.latents, eps: r.totalCalls, logq: 0, epsEvals: r.totalCalls * B, logqEvals: 0 };
  }
  let r: ComposeResult;
  if (m.kind === 'reverse') {
    const models_ = m.projective ? [...ms, models.get('background')!] : ms;
    r = await sampleReverse({
      models: models_, gamma: m.projective ? [...ms.map(() => 1), -(ms.length - 1)] : undefined,
      dim, particles: B, schedule, steps: s.steps, seed, sampler: m.sampler ?? 'ddpm',
      mcmc: m.mcmc ? mcmcOptions(m.mcmc, s, world.sigma0, ms.length) : null,
    });
  } else {
    const N = (m.particlesPerSample ?? 1) * B;
    const common = { models: ms, dim, particles: N, schedule, steps: s.steps, seed, resample: 'ess' as const, essThreshold: s.essThreshold };
    r = m.kind === 'fkc' ? await sampleFKC(common) : await sampleSMC(common);
  }
  const N = r.particles;
  let samples = r.samples;
  if (N !== B) {
    // The final resampling made the N particles equally weighted, in ancestor order: keep B
    // evenly spaced slots (a stratified pick rather than the first B, which share ancestors).
    // Kept samples may still share an ancestor, so the binomial SEs understate their spread.
    samples = new Float32Array(B * dim);
    for (let b = 0; b < B; b++) {
      const slot = Math.floor(((b + 0.5) * N) / B);
      samples.set(r.samples.subarray(slot * dim, (slot + 1) * dim), b * dim);
    }
  }
  return {
    samples, eps: r.evals.eps, logq: r.evals.logDensity, epsEvals: r.evals.eps * N, logqEvals: r.evals.logDensity * N,
    acceptance: r.acceptance, resamples: r.resamples,
  };
}

function expertsNeeded(methods: readonly ComposeMethod[]): ExpertName[] {
  return [...new Set(methods.flatMap((m) => [...m.experts]))];
}

/** Runs the comparison and writes results.json, results.csv, table.md and chart.svg. */
export async function runComposeShapes(o: ComposeShapesOptions = {}): Promise<ComposeRow[]> {
  if (typeof o !== 'object' || o === null) throw new TypeError(`options must be an object, got ${describe(o)}`);
  const log = o.log ?? ((l: string) => console.log(l));
  if (typeof log !== 'function') throw new TypeError(`log must be a function, got ${describe(log)}`);
  const quick = o.quick ?? false;
  if (typeof quick !== 'boolean') throw new TypeError(`quick must be a boolean, got ${describe(quick)}`);
  const seed = checkInt('seed', o.seed ?? 0, 0, 2 ** 40);
  const promptCount = checkInt('prompts', o.prompts ?? (quick ? 3 : 36), 1, 100_000);
  const B = checkInt('samples', o.samples ?? (quick ? 2 : 4), 1, 10_000);
  const withStyle = o.withStyle ?? true;
  if (typeof withStyle !== 'boolean') throw new TypeError(`withStyle must be a boolean, got ${describe(withStyle)}`);
  const s = resolveSettings(quick, o.settings);
  const methods = composeMethods(s, withStyle).filter((m) => (o.select ? o.select(m) : true));
  if (methods.length < 1) throw new RangeError('select must accept at least one method');
  const output = await prepareExperimentOutput('compose-shapes', quick, o.out);
  const world = makeWorld();
  const schedule = makeSchedule();
  const prompts = makePromptSet(world, { seed: 1000 + seed, count: promptCount, withStyle: true });
  const tallies: Tally[] = methods.map(() => ({
    evaluations: [], epsCalls: 0, logDensityCalls: 0, epsEvals: 0, logDensityEvals: 0, ms: 0, acceptance: [], resamples: [],
  }));
  const needed = expertsNeeded(methods);
  const bar = progressBar(prompts.length * methods.length, 'compose-shapes', { enabled: o.progress });
  const started = Date.now();
  let done = 0;
  for (let p = 0; p < prompts.length; p++) {
    const prompt = prompts[p];
    const ps = seed + p;
    const models = new Map<string, Denoiser>();
    for (const e of needed) models.set(e, mixtureDenoiser(EXPERTS[e](world, prompt, { seed: ps }), schedule, { name: e }));
    if (methods.some((m) => m.projective)) models.set('background', mixtureDenoiser(looseBackground(world, prompt, ps), schedule, { name: 'background' }));
    for (let mi = 0; mi < methods.length; mi++) {
      const t0 = performance.now();
      const r = await runMethod(methods[mi], models, { world, schedule, B, seed: ps, s });
      const tl = tallies[mi];
      tl.ms += performance.now() - t0;
      tl.epsCalls += r.eps;
      tl.logDensityCalls += r.logq;
      tl.epsEvals += r.epsEvals;
      tl.logDensityEvals += r.logqEvals;
      if (r.acceptance !== undefined) tl.acceptance.push(r.acceptance);
      if (r.resamples !== undefined) tl.resamples.push(r.resamples);
      for (let b = 0; b < B; b++) tl.evaluations.push(evaluateImage(world, prompt, r.samples.subarray(b * world.dim, (b + 1) * world.dim)));
      bar.update(++done, methods[mi].name);
    }
  }
  bar.stop();
  const kept = prompts.length * B;
  const rows: ComposeRow[] = methods.map((m, i) => rowOf(m, tallies[i], prompts.length, kept));

  const csv = csvOfRecords(rows);
  const table = composeTable(rows);
  const seconds = (Date.now() - started) / 1000;
  const flags = [quick ? ' --quick' : '', o.seed ? ` --seed ${seed}` : '', o.prompts !== undefined ? ` --prompts ${promptCount}` : '', o.samples !== undefined ? ` --samples ${B}` : ''].join('');
  const command = `npm run experiment -- compose-shapes${flags}`;
  await output.commit(new Map([
    ['results.json', jsonText({ experiment: 'compose-shapes', command, quick, seed, prompts: prompts.length, samplesPerPrompt: B, settings: s, seconds, rows })],
    ['results.csv', csv],
    ['table.md', `${table}\n`],
    ['chart.svg', plotToSVG(composeChart(rows), { figure: 'svg' })],
  ]));
  log(`experiment 'compose-shapes': ${prompts.length} prompts × ${B} samples, T = ${s.steps} (${seconds.toFixed(1)} s)`);
  log(table);
  log(`wrote ${output.path}/{results.json,results.csv,table.md,chart.svg}`);
  return rows;
}

function rowOf(m: ComposeMethod, t: Tally, prompts: number, kept: number): ComposeRow {
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
  return {
    method: m.name, group: m.group, kind: m.kind, experts: m.experts.join('+'),
    particlesPerSample: m.particlesPerSample ?? 1,
    ...rateColumns(t.evaluations),
    epsCallsPerPrompt: t.epsCalls / prompts,
    logDensityCallsPerPrompt: t.logDensityCalls / prompts,
    epsPerSample: t.epsEvals / kept,
    logDensityPerSample: t.logDensityEvals / kept,
    seconds: t.ms / 1000,
    secondsPerPrompt: t.ms / 1000 / prompts,
    acceptance: mean(t.acceptance),
    resamplesPerPrompt: mean(t.resamples),
  };
}

/** table.md: rates ± SE, model evaluations (ε and log q separately) and wall time. */
export function composeTable(rows: readonly ComposeRow[]): string {
  const e = (r: ComposeRow, v: string) => ({ value: Number(r[v]), se: Number(r[`${v}SE`]) });
  const num = (v: unknown, d = 0) => (v === null || v === undefined ? '—' : Number(v).toFixed(d));
  return markdownTable(
    ['method', 'instance success', 'mIoU', 'image success', 'style success', 'ε calls / prompt', 'log q calls / prompt', 'ε / sample', 'log q / sample', 'wall s', 'HMC accept', 'resamples'],
    rows.map((r) => [
      String(r.method), pm(e(r, 'instanceSuccess')), pm(e(r, 'mIoU')), pm(e(r, 'imageSuccess')),
      r.styleSuccess === null ? '—' : pm(e(r, 'styleSuccess')),
      num(r.epsCallsPerPrompt), num(r.logDensityCallsPerPrompt), num(r.epsPerSample), num(r.logDensityPerSample),
      num(r.seconds, 1), num(r.acceptance, 2), num(r.resamplesPerPrompt, 1),
    ]),
  );
}

const GROUP_COLORS: Record<string, string> = { 'single expert': '#777777', 'layout+attribute': '#1f77b4', '+style': '#d62728' };

/**
 * Instance success (±2 SE) against model evaluations per kept sample (ε + log q), log x axis.
 * Points carry their table row number; the key on the right lists the methods by group (a
 * standalone SVG has no room for Plot's HTML legend).
 */
export function composeChart(rows: readonly ComposeRow[]): Plot.PlotOptions {
  const pts = rows.map((r, i) => ({
    id: i + 1, group: String(r.group), method: String(r.method),
    cost: Number(r.epsPerSample) + Number(r.logDensityPerSample),
    y: Number(r.instanceSuccess),
    lo: Math.max(0, Number(r.instanceSuccess) - 2 * Number(r.instanceSuccessSE)),
    hi: Math.min(1, Number(r.instanceSuccess) + 2 * Number(r.instanceSuccessSE)),
  }));
  const groups = [...new Set(pts.map((p) => p.group))];
  const colorOf = (g: string) => GROUP_COLORS[g] ?? '#2ca02c';
  let line = 0;
  const key = groups.map((g) => {
    const lines = [g, ...pts.filter((p) => p.group === g).map((p) => `  ${p.id}  ${p.method}`)];
    const mark = Plot.text([lines.join('\n')], { frameAnchor: 'top-right', textAnchor: 'start', lineAnchor: 'top', dx: 14, dy: line * 12, fill: colorOf(g), fontSize: 10 });
    line += lines.length + 0.5;
    return mark;
  });
  return {
    width: 900, height: Math.max(420, line * 12 + 60), marginRight: 330, marginTop: 30,
    x: { type: 'log', label: 'model evaluations per kept sample (ε + log q) →', domain: [Math.min(...pts.map((p) => p.cost)) / 1.25, Math.max(...pts.map((p) => p.cost)) * 1.25] },
    y: { label: '↑ instance success (±2 SE)', domain: [0, 1] },
    grid: true,
    marks: [
      Plot.ruleX(pts, { x: 'cost', y1: 'lo', y2: 'hi', stroke: (d: { group: string }) => colorOf(d.group), strokeOpacity: 0.6 }),
      Plot.dot(pts, { x: 'cost', y: 'y', fill: (d: { group: string }) => colorOf(d.group), r: 4 }),
      // row numbers, nudged up/level/down in turn so that coinciding points stay readable
      ...[-1, 0, 1].map((k) => Plot.text(pts.filter((p) => ((p.id % 3) + 3) % 3 === k + 1), { x: 'cost', y: 'y', text: 'id', dx: 7, dy: k * 9, textAnchor: 'start', fontSize: 9 })),
      ...key,
    ],
  };
}
