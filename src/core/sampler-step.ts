/**
 * The three parts of one sampler step (sampler.ts, paper Algorithm 1): every active model's ε and
 * DDIM step, the merge of the proposals (eq. 8), and the deviation step (eq. 9).
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
  return epsOf(run.models[k], k, xs[k], step.index, step.ddim.t, plan.batch);
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
  if (!(eps instanceof Float32Array) || eps.length !== size) {
    throw new RangeError(
      `models[${k}] (${models[k].name ?? 'unnamed'}) returned ${describe(eps)} at step ${step.index} (t = ${c.t}); expected a Float32Array of length ${size}`,
    );
  }
  const e = kernels.owns(eps) ? eps : (epsStage.set(eps), epsStage);
  const bad = kernels.firstNonFinite(e);
  if (bad >= 0)
    throw new RangeError(
      `models[${k}] (${models[k].name ?? 'unnamed'}) returned a non-finite value (${eps[bad]}) at index ${bad}, step ${step.index} (t = ${c.t})`,
    );
  if (noise) run.rngs[k]!.fillNormal(noise);
  const proposal = step.aggregate ? run.ys[k] : run.xs[k];
  ddimStepInto(c, run.xs[k], e, run.mus[k], proposal, null, noise, kernels);
  if (trace) trace.proposalNorms.push(norms(proposal, plan.batch, plan.dim));
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
  const { plan, ys, mixed, pair, pairWeight } = run;
  const { rule, kernels, batch, dim, maps } = plan;
  const proposals = run.stepProposals[step.index - plan.steps[0].index];
  if (trace) {
    trace.weights = step.weights.slice();
    trace.angles = [];
  }
  if (rule.symmetric) {
    if (trace)
      for (let j = 1; j < proposals.length; j++) trace.angles!.push(angles(proposals[0], proposals[j], batch, dim));
    const out = rule(proposals, step.symmetricWeights, mixed, dim, kernels);
    if (out !== mixed) mixed.set(out);
  } else {
    mixed.set(proposals[0]);
    for (let j = 0; j < step.merged.length; j++) {
      const k = step.merged[j],
        map = maps[k];
      if (map !== null) {
        const theta = trace ? new Float64Array(batch) : undefined;
        mergeWithMap(plan.spatialRule!, mixed, ys[k], step.foldWeights[j], map, mixed, dim, theta);
        if (trace) trace.angles!.push(theta!);
        continue;
      }
      if (trace) trace.angles!.push(angles(mixed, ys[k], batch, dim));
      pair[1] = ys[k];
      pairWeight[0] = step.foldWeights[j];
      const out = rule(pair, pairWeight, mixed, dim, kernels);
      if (out !== mixed) mixed.set(out);
    }
  }
  const bad = kernels.firstNonFinite(mixed);
  if (bad >= 0)
    throw new RangeError(
      `rule '${rule.ruleName ?? rule.name}' produced a non-finite value at index ${bad}, step ${step.index}`,
    );
  if (trace) trace.mixedNorms = norms(mixed, batch, dim);
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
      const mode = plan.deviation === 'relative' ? RELATIVE : plan.clip ? CLIPPED : EQ9;
      deviateWithMap(mixed, mus[k], eta, map, xs[k], plan.dim, distances[k], mode);
    } else if (plan.deviation === 'relative') deviateRelative(mixed, mus[k], eta, xs[k], plan.dim, distances[k]);
    else deviate(mixed, mus[k], eta, xs[k], plan.dim, distances[k], plan.clip, plan.kernels);
    if (trace) {
      trace.deviations!.push(distances[k].slice());
      trace.etas!.push(eta);
    }
  }
}

const RELATIVE = { relative: true, clip: false },
  CLIPPED = { relative: false, clip: true },
  EQ9 = { relative: false, clip: false };
