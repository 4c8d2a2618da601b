/**
 * The methods of `amdm experiment compose-shapes` (run.ts), their shared settings
 * and one method's run on one prompt.
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
import type { Denoiser } from '../../../core/types.ts';
import type { NoiseSchedule } from '../../../core/schedule.ts';
import { sampleAMDM } from '../../../core/sampler.ts';
import { checkInt, checkNumber, describe } from '../../../core/validate.ts';
import { sampleReverse } from '../../../compose/reverse.ts';
import { sampleFKC } from '../../../compose/fkc.ts';
import { evenlySpacedParticles } from '../../../compose/resample.ts';
import { sampleSMC } from '../../../compose/smc.ts';
import type { Level } from '../../../compose/noise-levels.ts';
import type { MCMCOptions } from '../../../compose/mcmc.ts';
import type { ComposeResult } from '../../../compose/types.ts';
import { expertFromFactors, jittered, type ExpertName, type ShapesMixture } from '../../../toy/shapes/experts.ts';
import type { ShapesPrompt } from '../../../toy/shapes/prompts.ts';
import type { ShapesWorld } from '../../../toy/shapes/world.ts';

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

/** The settings of a run: `base` (composeSettings of the run's size) with `overrides`, validated. */
export function resolveSettings(base: ComposeSettings, overrides: Partial<ComposeSettings> = {}): ComposeSettings {
  if (typeof overrides !== 'object' || overrides === null)
    throw new TypeError(`settings must be an object, got ${describe(overrides)}`);
  const d = { ...base, ...overrides };
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
  if (r === 1)
    throw new RangeError('settings.damping must be in [0, 1), got 1 (the momentum would never be refreshed)');
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
export function mcmcOptions(kind: 'uhmc' | 'hmc', settings: ComposeSettings, sigma0: number, k: number): MCMCOptions {
  return {
    kind,
    stepsPerLevel: settings.mcmcSteps,
    leapfrog: settings.leapfrog,
    damping: settings.damping,
    mass: 1,
    stepSize: (level: Level) => settings.stepScale * Math.sqrt((level.abar * sigma0 * sigma0 + 1 - level.abar) / k),
  };
}

/** One method's run on one prompt: the B kept samples and what they cost. */
export interface MethodRun {
  samples: Float32Array;
  /** Batched calls of ε and of log q. */
  eps: number;
  logq: number;
  /** Calls × batch size. */
  epsEvals: number;
  logqEvals: number;
  acceptance?: number;
  resamples?: number;
}

/** What a method's run on one prompt needs: the world, the schedule, B kept samples, the seed, the settings. */
export interface MethodContext {
  world: ShapesWorld;
  schedule: NoiseSchedule;
  B: number;
  seed: number;
  settings: ComposeSettings;
}

/** Runs one method on one prompt; returns the B kept samples and what they cost. */
export async function runMethod(
  m: ComposeMethod,
  models: Map<string, Denoiser>,
  ctx: MethodContext,
): Promise<MethodRun> {
  const { world, schedule, B, seed, settings } = ctx;
  const ms = m.experts.map((e) => models.get(e)!);
  if (m.kind === 'ddim' || m.kind === 'amdm') {
    const r = await sampleAMDM({
      models: ms,
      target: 0,
      steps: settings.steps,
      aggregateSteps: m.kind === 'amdm' ? settings.aggregateSteps : 0,
      weights: settings.weight,
      eta: m.eta ?? 0.3,
      etaScale: 'sqrtDim',
      rule: 'slerp',
      shape: [world.channels, world.height, world.width],
      batch: B,
      seed,
      schedule,
    });
    return { samples: r.latents, eps: r.totalCalls, logq: 0, epsEvals: r.totalCalls * B, logqEvals: 0 };
  }
  const r = await sampleComposition(m, ms, models.get('background'), ctx);
  const N = r.particles;
  // Kept samples may share an ancestor, so the binomial SEs understate their spread.
  const samples = evenlySpacedParticles(r.samples, N, B, world.dim);
  return {
    samples,
    eps: r.evals.eps,
    logq: r.evals.logDensity,
    epsEvals: r.evals.eps * N,
    logqEvals: r.evals.logDensity * N,
    acceptance: r.acceptance,
    resamples: r.resamples,
  };
}

/** The product samplers (reverse with or without MCMC, projective, FKC, SMC) over the experts `ms`. */
function sampleComposition(
  m: ComposeMethod,
  ms: Denoiser[],
  background: Denoiser | undefined,
  ctx: MethodContext,
): Promise<ComposeResult> {
  const { world, schedule, B, seed, settings } = ctx;
  const dim = world.dim;
  if (m.kind === 'reverse') {
    return sampleReverse({
      models: m.projective ? [...ms, background!] : ms,
      gamma: m.projective ? [...ms.map(() => 1), -(ms.length - 1)] : undefined,
      dim,
      particles: B,
      schedule,
      steps: settings.steps,
      seed,
      sampler: m.sampler ?? 'ddpm',
      mcmc: m.mcmc ? mcmcOptions(m.mcmc, settings, world.sigma0, ms.length) : null,
    });
  }
  const common = {
    models: ms,
    dim,
    particles: (m.particlesPerSample ?? 1) * B,
    schedule,
    steps: settings.steps,
    seed,
    resample: 'ess' as const,
    essThreshold: settings.essThreshold,
  };
  return m.kind === 'fkc' ? sampleFKC(common) : sampleSMC(common);
}

export function expertsNeeded(methods: readonly ComposeMethod[]): ExpertName[] {
  return [...new Set(methods.flatMap((m) => [...m.experts]))];
}
