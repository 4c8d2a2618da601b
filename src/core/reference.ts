/**
 * The official AMDM code path (Hammour-steak/AMDM@dba837a, `interactmigc.py:356-470`,
 * `interactmigcip.py:552`), reproduced for comparison — NOT the paper's method and never the
 * default. It differs from Algorithm 1 in five ways (sources M§2.4):
 *  1. merge: m = ω·y_target + √(1−ω²)·y_other (two models); for three models the code's
 *     m = ω₁ω₂·y_t + √(1−ω₁²)·ω₂·y_a + √(1−ω₁²)·√(1−ω₂²)·y_b, copied as written (not
 *     norm-preserving). ω weights the *target*.
 *  2. μ is a one-step DDPM posterior mean on the 1000-step grid, evaluated at t_{i−1} with the
 *     previous iteration's ε and applied to the latent entering step i:
 *     μ = x_in/√α − (1−α)/(√(1−ᾱ)·√α)·ε_{i−1}, α = alphas[t_{i−1}], ᾱ = alphas_cumprod[t_{i−1}].
 *  3. the pull p is an absolute L2 length over the whole batch tensor (one norm for all samples).
 *  4. it never aggregates at i = 0: aggregation happens at max(1, optimStart) ≤ i ≤ optimEnd.
 *  5. every model runs all T steps; the target's result does not depend on the others after
 *     optimEnd, so here they stop there (the result is identical, the call count smaller).
 * The official code also runs in float16 throughout; this port runs in float32/float64.
 */
import type { Denoiser } from './types.ts';
import type { NoiseSchedule } from './schedule.ts';
import { makeSchedule, prevTimestep, timesteps as makeTimesteps } from './schedule.ts';
import { ddimCoefficients, ddimStepInto } from './ddim.ts';
import { firstNonFinite } from './tensor.ts';
import { gaussianRng } from './rng.ts';
import { checkInt, checkNumber, describe } from './validate.ts';
import { callModel } from './model-call.ts';
import { AMDM_DEFAULTS } from './defaults.ts';

export interface ReferenceOptions {
  /** Two or three models; the official code has no other case. */
  models: readonly Denoiser[];
  target?: number;
  steps: number;
  /** ω per non-target model (in model order): the official weight of the *target*. */
  omegas: readonly number[];
  /** First and last iteration of aggregation (official `optim_start`, `optim_end`, inclusive). */
  optimStart: number;
  optimEnd: number;
  /** Absolute pull length p per model (official `interact_p`, `migc_p`, `ip_p`). */
  p: readonly number[];
  shape: readonly number[];
  batch?: number;
  seed?: number;
  latents?: readonly Float32Array[];
  schedule?: NoiseSchedule;
}

export interface ReferenceResult {
  latents: Float32Array;
  modelLatents: Float32Array[];
  calls: number[];
  timesteps: number[];
  /** Iterations at which the merge happened. */
  aggregatedAt: number[];
}

/** The `compute_mu` coefficients (`interactmigc.py:42-44`) at training timestep t. */
export function referenceMuCoefficients(schedule: NoiseSchedule, t: number): { coeff1: number; coeff2: number } {
  checkInt('t', t, 0, schedule.alphas.length - 1);
  const a = schedule.alphas[t];
  const ab = schedule.alphasCumprod[t];
  return { coeff1: 1 / Math.sqrt(a), coeff2: (1 - a) / (Math.sqrt(1 - ab) * Math.sqrt(a)) };
}

/** The options a reference run is checked from: `models` may be just their number (2 or 3). */
export type ReferencePlanOptions = Omit<ReferenceOptions, 'models'> & { models: readonly Denoiser[] | number };

/** A reference run's settings, checked. */
export interface ReferencePlan {
  N: number;
  target: number;
  schedule: NoiseSchedule;
  T: number;
  /** The merge coefficients in fold order (target first). */
  coef: number[];
  order: number[];
  optimStart: number;
  optimEnd: number;
  p: number[];
  batch: number;
  n: number;
  timesteps: number[];
  /** The initial latents given (checked), or null to draw them from `seed`. */
  latents: readonly Float32Array[] | null;
  /** The seed of the initial latents (0 and unused when they are given). */
  seed: number;
  /** The non-target models in model order (their streams are 1, 2, …). */
  others: number[];
}

/** Checks the options of `sampleAMDMReference`; no model runs. */
export function resolveReferencePlan(opts: ReferencePlanOptions): ReferencePlan {
  const models = opts.models;
  const N = typeof models === 'number' ? models : Array.isArray(models) ? models.length : 0;
  if (!(Array.isArray(models) || typeof models === 'number') || !(N === 2 || N === 3)) {
    throw new RangeError(`models must hold 2 or 3 Denoisers (the official code's cases), got ${describe(models)}`);
  }
  const target = checkInt('target', opts.target ?? AMDM_DEFAULTS.target, 0, N - 1);
  const schedule = opts.schedule ?? makeSchedule();
  const T = checkInt('steps', opts.steps, 1, schedule.alphasCumprod.length);
  if (!Array.isArray(opts.omegas) || opts.omegas.length !== N - 1)
    throw new RangeError(`omegas must hold ${N - 1} number(s), got ${describe(opts.omegas)}`);
  const om = opts.omegas.map((w, j) => checkNumber(`omegas[${j}]`, w, 0, 1));
  const optimStart = checkInt('optimStart', opts.optimStart, 0, T - 1);
  const optimEnd = checkInt('optimEnd', opts.optimEnd, optimStart, T - 1);
  if (!Array.isArray(opts.p) || opts.p.length !== N)
    throw new RangeError(`p must hold ${N} number(s) (one per model), got ${describe(opts.p)}`);
  const p = opts.p.map((v, k) => checkNumber(`p[${k}]`, v, 0));
  const batch = checkInt('batch', opts.batch ?? AMDM_DEFAULTS.batch, 1);
  opts.shape.forEach((d, i) => checkInt(`shape[${i}]`, d, 1));
  const n = batch * opts.shape.reduce((a, b) => a * b, 1);
  const timesteps = makeTimesteps(schedule, T);
  const others: number[] = [];
  for (let k = 0; k < N; k++) if (k !== target) others.push(k);
  // merge coefficients, target first (interactmigc.py:431, interactmigcip.py:552)
  const coef =
    N === 2
      ? [om[0], Math.sqrt(1 - om[0] ** 2)]
      : [om[0] * om[1], Math.sqrt(1 - om[0] ** 2) * om[1], Math.sqrt(1 - om[0] ** 2) * Math.sqrt(1 - om[1] ** 2)];
  const latents = opts.latents ?? null;
  for (let k = 0; latents && k < N; k++) {
    const l = latents[k];
    if (!(l instanceof Float32Array) || l.length !== n)
      throw new RangeError(`latents[${k}] must be a Float32Array of length ${n}`);
  }
  const seed = latents ? 0 : checkInt('seed', opts.seed ?? AMDM_DEFAULTS.seed, 0, Number.MAX_SAFE_INTEGER);
  return {
    N,
    target,
    schedule,
    T,
    coef,
    order: [target, ...others],
    optimStart,
    optimEnd,
    p,
    batch,
    n,
    timesteps,
    latents,
    seed,
    others,
  };
}

export async function sampleAMDMReference(opts: ReferenceOptions): Promise<ReferenceResult> {
  const plan = resolveReferencePlan(opts);
  const {
    N,
    target,
    schedule,
    T,
    order,
    optimStart: start,
    optimEnd: end,
    batch,
    n,
    timesteps: ts,
    latents,
    seed,
    others,
  } = plan;
  const models = opts.models;
  const xs = models.map((_, k) => {
    if (latents) return latents[k].slice();
    return gaussianRng(seed, k === target ? 0 : 1 + others.indexOf(k)).fillNormal(new Float32Array(n));
  });
  const ys: Float32Array[] = models.map(() => new Float32Array(n));
  const epsPrev: Float32Array[] = models.map(() => new Float32Array(n));
  const epsNow: Float32Array[] = models.map(() => new Float32Array(n));
  const mixed = new Float32Array(n);
  const calls = new Array<number>(N).fill(0);
  const aggregatedAt: number[] = [];

  for (let i = 0; i < T; i++) {
    const c = ddimCoefficients(schedule, ts[i], prevTimestep(schedule, ts, i));
    const active = i <= end ? order : [target];
    for (const k of active) {
      const e = await callModel(models[k], xs[k], { k, step: i, t: ts[i], batch });
      calls[k]++;
      if (!(e instanceof Float32Array) || e.length !== n)
        throw new RangeError(`models[${k}] returned ${describe(e)} at step ${i}; expected length ${n}`);
      const bad = firstNonFinite(e);
      if (bad >= 0)
        throw new RangeError(`models[${k}] returned a non-finite value at index ${bad}, step ${i} (t = ${ts[i]})`);
      epsNow[k].set(e);
      ddimStepInto(c, xs[k], e, ys[k]);
    }
    if (i >= Math.max(1, start) && i <= end) {
      aggregatedAt.push(i);
      aggregateReference(plan, ts[i], { xs, ys, epsPrev, mixed });
    }
    for (const k of active) {
      const tmp = xs[k];
      xs[k] = ys[k];
      ys[k] = tmp;
      const swap = epsPrev[k];
      epsPrev[k] = epsNow[k];
      epsNow[k] = swap;
    }
  }
  return { latents: xs[target], modelLatents: xs, calls, timesteps: ts, aggregatedAt };
}

/**
 * The official code's aggregation at a step of timestep t: x′ = Σⱼ coefⱼ yⱼ, then each model's
 * step of length pₖ from x′ toward μₖ, the one-step DDPM posterior mean from the latent entering
 * the step and the previous step's ε, with one Frobenius norm over the whole batch (into yₖ).
 */
function aggregateReference(
  plan: ReferencePlan,
  t: number,
  { xs, ys, epsPrev, mixed }: { xs: Float32Array[]; ys: Float32Array[]; epsPrev: Float32Array[]; mixed: Float32Array },
): void {
  const { schedule, T, coef, order, p, n } = plan;
  mixed.fill(0);
  order.forEach((k, j) => {
    const y = ys[k];
    for (let q = 0; q < n; q++) mixed[q] += coef[j] * y[q];
  });
  // t_{i−1} = t_i + T//steps ("# t + 1", interactmigc.py:77)
  const tUsed = t + Math.floor(schedule.alphasCumprod.length / T);
  const { coeff1, coeff2 } = referenceMuCoefficients(schedule, tUsed);
  for (const k of order) {
    // μ from the latent entering this step and the previous step's ε; one Frobenius norm
    let sq = 0;
    const x = xs[k],
      ep = epsPrev[k];
    for (let q = 0; q < n; q++) {
      const d = mixed[q] - (coeff1 * x[q] - coeff2 * ep[q]);
      sq += d * d;
    }
    const dist = Math.sqrt(sq);
    const f = dist > 0 ? p[k] / dist : 0;
    for (let q = 0; q < n; q++) {
      const mu = coeff1 * x[q] - coeff2 * ep[q];
      ys[k][q] = mixed[q] - f * (mixed[q] - mu);
    }
  }
}
