/**
 * The three parts of one sampler step (sampler.ts, paper Algorithm 1): every active model's ε and
 * DDIM step, the merge of the proposals (eq. 8), and the deviation step (eq. 9).
 *
 * Notation — the names here and the paper's symbols (DESIGN "Semantics"; eq. numbers are the
 * AMDM paper's, arXiv 2410.01262):
 *
 *   i, T, s          `step.index`, `plan.T`, `plan.s`: step i of T, aggregation in steps i < s
 *   t, t_prev        `step.ddim.t`, `step.ddim.tPrev`: the step's timestep tᵢ and the next one
 *   ᾱ_t, ᾱ_prev, σ_t `step.ddim.alphaBar`, `.alphaBarPrev`, `.sigma` (σ_t from η_ddim = `plan.ddimEta`)
 *   k, N             a model's index, `plan.N` models; `plan.target` is the target's k
 *   x_t, xₖ          `run.xs[k]`: model k's latent (x_{tᵢ} before the step, x_{t_prev} after)
 *   εₖ               `eps`: model k's noise prediction ε_θ(xₖ, tᵢ)
 *   μₖ               `run.mus[k]`: model k's DDIM step mean (eq. 6)
 *   z                `run.noise`: the DDIM noise N(0, I), drawn from model k's stream (η_ddim > 0)
 *   yₖ               `run.ys[k]`: model k's proposal μₖ + σ_t z (eq. 4; = μₖ when η_ddim = 0)
 *   x′               `run.mixed`: the merged latent (eq. 8)
 *   w                `step.weights`, `step.foldWeights`: a non-target model's weight in eq. 8
 *                    (0 keeps the target, 1 takes the other model)
 *   θ                the angle between the two latents slerp interpolates (eq. 8)
 *   ηₖ               `step.etas[k]`: eq. 9's step length (× √d with etaScale 'sqrtDim'), or λₖ
 *                    of the relative step
 *   ‖x′ − μₖ‖        `run.distances[k]`: per sample
 *   d, B             `plan.dim` values per sample, `plan.batch` samples (norms are per sample)
 *   mᵢ               `plan.maps[k]`: a model's spatial weight per cell (not in the paper; spatial.ts)
 *
 * One step i, as sampler.ts's loop calls the parts:
 *   0. `joinTarget`: a model whose window starts at i continues from the target's xₖ
 *      (not in the paper: `windows`).
 *   1. `predict`: every active model k computes εₖ and its DDIM step (eq. 4/6) → μₖ, yₖ.
 *   2. `merge` (i < s): x′ = rule(…rule(y_target, y_a, w_a)…, y_b, w_b) (eq. 8).
 *   3. `deviateAll` (i < s): xₖ = x′ − ηₖ (x′ − μₖ)/‖x′ − μₖ‖ (eq. 9).
 * The kernels they call take options records built once per run (sampler-run.ts) and updated in
 * place, so that a step allocates nothing.
 */
import { throwIfAborted } from './abort.ts';
import { ddimStepInto } from './ddim.ts';
import { deviate, deviateRelative } from './deviation.ts';
import { describe } from './validate.ts';
import { epsOf } from './model-call.ts';
import type { PlannedStep } from './sampler-plan.ts';
import { angles, norms, type Run } from './sampler-run.ts';
import { deviateWithMap, mergeWithMap } from './spatial.ts';
import type { StepTrace } from './sampler-types.ts';

/**
 * Step 1: every active model predicts ε at t — one after the other, or, with `concurrent`, all
 * started together and awaited — and takes its DDIM step. Returns a promise only when a denoiser
 * answers with one: awaiting a plain value would still cost a microtask and garbage every step.
 */
export function predict(run: Run, step: PlannedStep, trace: StepTrace | null): Promise<void> | null {
  if (run.plan.concurrent && step.active.length > 1) return predictTogether(run, step, trace);
  return predictInTurn(run, step, trace, 0);
}

/** The active models from the `from`-th on, one after the other. */
function predictInTurn(run: Run, step: PlannedStep, trace: StepTrace | null, from: number): Promise<void> | null {
  const active = step.active;
  for (let a = from; a < active.length; a++) {
    throwIfAborted(run.signal);
    const eps = evaluate(run, active[a], step, trace);
    if (eps instanceof Promise) {
      return eps.then(async (e) => {
        takeStep(run, active[a], e, step, trace);
        await predictInTurn(run, step, trace, a + 1);
      });
    }
    takeStep(run, active[a], eps, step, trace);
  }
  return null;
}

/** Every active model's ε started together, then their DDIM steps in model order. */
async function predictTogether(run: Run, step: PlannedStep, trace: StepTrace | null): Promise<void> {
  const active = step.active;
  throwIfAborted(run.signal);
  for (let a = 0; a < active.length; a++) run.pending[a] = evaluate(run, active[a], step, trace);
  const eps = await Promise.all(run.pending);
  for (let a = 0; a < active.length; a++) takeStep(run, active[a], eps[a], step, trace);
}

/** Model k's ε at this step: the denoiser's answer, a failure named ({@link modelFailure}). */
function evaluate(
  run: Run,
  k: number,
  step: PlannedStep,
  trace: StepTrace | null,
): Float32Array | Promise<Float32Array> {
  const { plan, xs } = run;
  if (trace) {
    trace.evaluated.push(k);
    trace.inputNorms.push(norms(xs[k], plan.batch, plan.dim));
  }
  const call = run.call;
  call.k = k;
  call.step = step.index;
  call.t = step.ddim.t;
  return epsOf(run.models[k], xs[k], call);
}

/**
 * Checks model k's ε and takes its DDIM step (eq. 4/6): μₖ, and the proposal into yₖ when the
 * step aggregates, else into xₖ itself.
 */
function takeStep(run: Run, k: number, eps: unknown, step: PlannedStep, trace: StepTrace | null): void {
  const { plan, models, epsStage, noise } = run;
  const { kernels, size } = plan;
  const c = step.ddim;
  run.calls[k]++;
  // 1. the answer must be a Float32Array of the latent's size …
  if (!(eps instanceof Float32Array) || eps.length !== size) {
    throw new RangeError(
      `models[${k}] (${models[k].name ?? 'unnamed'}) returned ${describe(eps)} at step ${step.index} (t = ${c.t}); expected a Float32Array of length ${size}`,
    );
  }
  // 2. … in memory the backend reads (else staged there), and finite
  const e = kernels.owns(eps) ? eps : (epsStage.set(eps), epsStage);
  const bad = kernels.firstNonFinite(e);
  if (bad >= 0)
    throw new RangeError(
      `models[${k}] (${models[k].name ?? 'unnamed'}) returned a non-finite value (${eps[bad]}) at index ${bad}, step ${step.index} (t = ${c.t})`,
    );
  // 3. z from model k's own stream (η_ddim > 0)
  if (noise) run.rngs[k]!.fillNormal(noise);
  // 4. the DDIM step (eq. 4/6): μₖ, and the proposal yₖ when the step aggregates, else xₖ in place
  const opts = run.ddimStep;
  opts.prev = step.aggregate ? run.ys[k] : run.xs[k];
  ddimStepInto(c, run.xs[k], e, run.mus[k], opts);
  if (trace) trace.proposalNorms.push(norms(opts.prev, plan.batch, plan.dim));
}

/** Before step 1: a model whose window starts here continues from the target's latent. */
export function joinTarget(run: Run, step: PlannedStep): void {
  for (const k of step.joining) run.xs[k].set(run.xs[run.plan.target]);
}

/**
 * Step 2, eq. 8: x′ = the fold of a pairwise rule over the proposals of the target and the merged
 * models, rule(…rule(rule(y_target, y_a, w_a), y_b, w_b)…), or one symmetric rule over all of
 * them. A model with a spatial map is folded in with the weight w·m per cell (spatial.ts).
 */
export function merge(run: Run, step: PlannedStep, trace: StepTrace | null): void {
  const { plan, mixed } = run;
  const { rule, kernels, batch, dim } = plan;
  const proposals = run.stepProposals[step.index - plan.steps[0].index];
  if (trace) {
    trace.weights = step.weights.slice();
    trace.angles = [];
  }
  // 1. x′ from the proposals: one symmetric rule over all, or the fold from y_target
  if (rule.symmetric) {
    if (trace)
      for (let j = 1; j < proposals.length; j++) trace.angles!.push(angles(proposals[0], proposals[j], batch, dim));
    const out = rule(proposals, step.symmetricWeights, mixed, dim, kernels);
    if (out !== mixed) mixed.set(out);
  } else foldProposals(run, step, proposals[0], trace);
  // 2. x′ must be finite
  const bad = kernels.firstNonFinite(mixed);
  if (bad >= 0)
    throw new RangeError(
      `rule '${rule.ruleName ?? rule.name}' produced a non-finite value at index ${bad}, step ${step.index}`,
    );
  if (trace) trace.mixedNorms = norms(mixed, batch, dim);
}

/** The fold of a pairwise rule: x′ ← y_target, then x′ ← rule(x′, yₖ, wₖ) per merged model k (w·m with a map). */
function foldProposals(run: Run, step: PlannedStep, first: Float32Array, trace: StepTrace | null): void {
  const { plan, ys, mixed, pair, pairWeight, mapMerge } = run;
  const { rule, kernels, batch, dim, maps } = plan;
  mixed.set(first);
  for (let j = 0; j < step.merged.length; j++) {
    const k = step.merged[j],
      map = maps[k];
    if (map !== null) {
      mapMerge.w = step.foldWeights[j];
      mapMerge.map = map;
      mapMerge.angles = trace ? new Float64Array(batch) : null;
      mergeWithMap(mixed, ys[k], mixed, mapMerge);
      if (trace) trace.angles!.push(mapMerge.angles!);
      continue;
    }
    if (trace) trace.angles!.push(angles(mixed, ys[k], batch, dim));
    pair[1] = ys[k];
    pairWeight[0] = step.foldWeights[j];
    const out = rule(pair, pairWeight, mixed, dim, kernels);
    if (out !== mixed) mixed.set(out);
  }
}

/**
 * Step 3, deviation optimization (eq. 9): every active model continues from
 * xₖ = x′ − ηₖ (x′ − μₖ)/‖x′ − μₖ‖, per sample; with deviation 'relative', from
 * xₖ = x′ + λₖ (μₖ − x′); with `spatialDeviation`, a mapped model's step is restricted to its map.
 */
export function deviateAll(run: Run, step: PlannedStep, trace: StepTrace | null): void {
  const { plan, mixed, mus, xs, distances } = run;
  if (trace) {
    trace.deviations = [];
    trace.etas = [];
  }
  const active = step.active;
  for (let a = 0; a < active.length; a++) {
    const k = active[a];
    const eta = step.etas[k];
    const map = plan.spatialDeviation ? plan.maps[k] : null;
    if (map !== null) {
      const o = run.mapDeviation;
      o.eta = eta;
      o.map = map;
      o.distances = distances[k];
      deviateWithMap(mixed, mus[k], xs[k], o);
    } else if (plan.deviation === 'relative') {
      const o = run.relativeDeviation;
      o.lambda = eta;
      o.distances = distances[k];
      deviateRelative(mixed, mus[k], xs[k], o);
    } else {
      const o = run.deviation;
      o.eta = eta;
      o.distances = distances[k];
      deviate(mixed, mus[k], xs[k], o);
    }
    if (trace) {
      trace.deviations!.push(distances[k].slice());
      trace.etas!.push(eta);
    }
  }
}
