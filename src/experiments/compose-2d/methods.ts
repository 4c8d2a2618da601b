/**
 * The methods of the 2-D composition benchmark (run.ts) and one method's run on one world and
 * seed, scored against the exact target.
 *
 * Methods: exact (target samples, the floor of every metric), oracle (DDPM with the exact
 * target's own ε: the floor of any T-step diffusion sampler), expert0 (DDIM of the first
 * expert alone), amdm-half / amdm-all (sampleAMDM over the experts, first expert the target,
 * slerp, w = 0.5, η = 0.3·√d, aggregating the first T/2 or all T steps, one initial draw per
 * model as in Algorithm 1), amdm-shared (as amdm-all, all models from one initial draw),
 * amdm-eta0 (as amdm-shared without deviation optimization, η = 0), reverse (DDPM with the
 * composed ε: the sum of scores for products — Du 2023 without correction —, Bradley's
 * projective ε for projective worlds, the exact mixture ε for the mixture world), du-ula /
 * du-mala / du-uhmc / du-hmc (reverse + 10 MCMC steps per level, 2-D notebook step sizes),
 * fkc (Skreta 2025, b = 1, systematic resampling every step), smc (exact-energy SMC, ESS gate).
 *
 * Schedule: DDPM linear β ∈ [1e-4, 0.02], 1000 training steps, ᾱ = 1 after the last step,
 * T sampling steps with trailing spacing. Metrics against a fresh exact sample of the same
 * size: LL (mean log-density under the exact target, ↑), ln MMD² (biased RBF mix,
 * σ ∈ {0.01, 0.1, 1, 10, 100}, ↓), Var = ‖Cov(samples) − Cov(target)‖_F (↓), mode TV
 * (½Σ|p̂ₖ − πₖ|, ↓), sliced W2 (64 directions, ↓). "calls" counts batched model evaluations
 * (ε and log-density), "ms" the wall time of sampling.
 */
import { makeSchedule, type NoiseSchedule } from '../../core/schedule.ts';
import { gaussianRng } from '../../core/rng.ts';
import { sampleAMDM } from '../../core/sampler.ts';
import { AMDM_DEFAULTS } from '../../core/defaults.ts';
import {
  covarianceError,
  fullMixtureDenoiser,
  lnMmd2,
  meanLogLikelihood,
  modeWeightError,
  sampleFKC,
  sampleMixture,
  sampleReverse,
  sampleSMC,
  slicedW2,
  type CompositionWorld,
  type MCMCKind,
} from '../../compose/index.ts';

export const METHODS = [
  'exact',
  'oracle',
  'expert0',
  'amdm-half',
  'amdm-all',
  'amdm-shared',
  'amdm-eta0',
  'reverse',
  'du-ula',
  'du-mala',
  'du-uhmc',
  'du-hmc',
  'fkc',
  'smc',
] as const;
export type Method = (typeof METHODS)[number];

const MCMC: Record<string, MCMCKind> = { 'du-ula': 'ula', 'du-mala': 'mala', 'du-uhmc': 'uhmc', 'du-hmc': 'hmc' };

/** One method's run on one world and seed: the metrics, model calls, wall time and (MCMC) acceptance. */
export interface MethodRun {
  ll: number;
  lnMmd2: number;
  var: number;
  modeTV: number;
  slicedW2: number;
  calls: number;
  ms: number;
  acceptance: number | undefined;
}

/** The metrics of a run that are averaged over seeds, in table order. */
export const METRICS = ['ll', 'lnMmd2', 'var', 'modeTV', 'slicedW2', 'calls', 'ms'] as const;

/** What a run draws: N particles with T sampling steps from `seed`. */
export interface RunSize {
  particles: number;
  steps: number;
  seed: number;
}

function benchSchedule(): NoiseSchedule {
  return makeSchedule({
    betaSchedule: 'linear',
    betaStart: 1e-4,
    betaEnd: 0.02,
    numTrainTimesteps: 1000,
    setAlphaToOne: true,
    stepsOffset: 0,
    timestepSpacing: 'trailing',
  });
}

/** The samples of one method and the batched model calls (and MCMC acceptance) they took. */
type Drawn = { samples: Float32Array; calls: number; acceptance?: number };

/** Runs `method` on `world` and scores its samples against a fresh exact sample of the same size. */
export async function runMethod(world: CompositionWorld, method: Method, size: RunSize): Promise<MethodRun> {
  const schedule = benchSchedule();
  const t0 = performance.now();
  const { samples, calls, acceptance } = await draw(world, method, size, schedule);
  const ms = performance.now() - t0;
  const { particles: N, seed } = size;
  const dim = world.dim;
  const reference = sampleMixture(world.target, N, gaussianRng(seed + 1000, 8));
  return {
    ll: meanLogLikelihood(samples, world.target),
    lnMmd2: lnMmd2(samples, reference, dim),
    var: covarianceError(samples, world.target),
    modeTV: modeWeightError(samples, world.target),
    slicedW2: slicedW2(samples, reference, dim, 64, seed),
    calls,
    ms,
    acceptance,
  };
}

/** Draws N samples with `method`. */
async function draw(world: CompositionWorld, method: Method, size: RunSize, schedule: NoiseSchedule): Promise<Drawn> {
  const { particles: N, steps, seed } = size;
  const common = { dim: world.dim, particles: N, schedule, steps, seed };
  if (method === 'exact') return { samples: sampleMixture(world.target, N, gaussianRng(seed, 7)), calls: 0 };
  if (method === 'oracle') {
    const r = await sampleReverse({ ...common, models: [fullMixtureDenoiser(world.target, schedule)] });
    return { samples: r.samples, calls: r.evals.eps };
  }
  if (method === 'expert0' || method.startsWith('amdm')) return drawAMDM(world, method, size, schedule);
  const { models, gamma } = world.composition(schedule);
  const r =
    method === 'fkc'
      ? await sampleFKC({ ...common, models, gamma })
      : method === 'smc'
        ? await sampleSMC({ ...common, models, gamma })
        : await sampleReverse({ ...common, models, gamma, mcmc: MCMC[method] ? { kind: MCMC[method] } : null });
  return { samples: r.samples, calls: r.evals.eps + r.evals.logDensity, acceptance: r.acceptance };
}

/** expert0 and the AMDM variants: sampleAMDM over the world's experts, the first the target. */
async function drawAMDM(world: CompositionWorld, method: Method, size: RunSize, schedule: NoiseSchedule) {
  const { particles: N, steps, seed } = size;
  const dim = world.dim;
  const s = method === 'expert0' ? 0 : method === 'amdm-half' ? Math.floor(steps / 2) : steps;
  // amdm-shared: every model starts from the same N(0, I) draw (Algorithm 1 draws one per model).
  const shared = method === 'amdm-shared' || method === 'amdm-eta0';
  const latents = shared ? gaussianRng(seed, 9).fillNormal(new Float32Array(N * dim)) : undefined;
  const r = await sampleAMDM({
    models: world.expertModels(schedule),
    target: 0,
    steps,
    aggregateSteps: s,
    schedule,
    shape: [dim],
    batch: N,
    seed,
    latents,
    rule: AMDM_DEFAULTS.rule,
    weights: AMDM_DEFAULTS.weight,
    eta: method === 'amdm-eta0' ? 0 : AMDM_DEFAULTS.eta,
    etaScale: AMDM_DEFAULTS.etaScale,
  });
  return { samples: r.latents, calls: r.totalCalls };
}
