/**
 * The AMDM sampler (paper Algorithm 1) and plain DDIM as its one-model case.
 *
 * Step i (0-based) of T, at timestep tᵢ → tᵢ₊₁ (DESIGN "Semantics"):
 *  1. every *active* model k predicts εₖ = model_k(xₖ, tᵢ) and takes its DDIM step (eq. 4),
 *     giving its step mean μₖ (eq. 6) and proposal yₖ = μₖ + σz (yₖ = μₖ when η_ddim = 0).
 *     For i < s all models are active; afterwards only the target.
 *  2. if i < s and N ≥ 2: x′ = fold of the rule over the proposals, target first (eq. 8):
 *     x′ = rule(…rule(rule(y_target, y_a, w_a), y_b, w_b)…), or a symmetric rule over all.
 *  3. deviation optimization (eq. 9): every model continues from
 *     xₖ = x′ − ηₖ (x′ − μₖ)/‖x′ − μₖ‖, per sample; or, with `deviation: 'relative'` (not in
 *     the paper), xₖ = x′ + λₖ (μₖ − x′) with λₖ = ηₖ ∈ [0, 1], which never passes μₖ.
 * Otherwise each active model continues from its own proposal. The result is the target's x₀.
 *
 * The options are checked and resolved once, before anything runs, into a frozen plan
 * (sampler-plan.ts: timesteps, DDIM coefficients, per-step w and η); the loop below reads it and
 * works in buffers allocated once (sampler-run.ts), so a step (sampler-step.ts) allocates nothing
 * (unless `onStep` traces it).
 *
 * Differences from the official code (sources M§2.4), none of which are the default here:
 * its merge is `vp`, its μ is a one-step DDPM posterior mean from the previous step's ε, its step
 * length is absolute over the whole batch, it never aggregates at i = 0, and it keeps running
 * every model for all T steps (which does not change the target's result).
 *
 * Random numbers: model k draws from `gaussianRng(seed, stream)` where the target uses stream 0
 * and the other models streams 1, 2, … in model order — first its initial latent, then its DDIM
 * noise (η_ddim > 0); `streams` chooses others. So with s = 0 (or N = 1) the target's result
 * equals `sampleDDIM` of the target alone with the same seed, bit for bit.
 */
import type { Denoiser } from './types.ts';
import { resolveAMDMPlan } from './sampler-plan.ts';
import { openTrace, startRun } from './sampler-run.ts';
import { deviateAll, joinTarget, merge, predict } from './sampler-step.ts';
import type { AMDMOptions, AMDMResult, DDIMOptions } from './sampler-types.ts';

export type { AMDMOptions, AMDMResult, DDIMOptions, PerStep, StepTrace, WeightSchedule } from './sampler-types.ts';
export { callModel, modelFailure, type ModelCall } from './model-call.ts';

/** Algorithm 1 of the paper over N denoisers. */
export async function sampleAMDM(opts: AMDMOptions): Promise<AMDMResult> {
  const plan = resolveAMDMPlan(opts);
  const run = startRun(plan, opts);
  const initialLatents = run.xs.map((x) => x.slice());
  for (const step of plan.steps) {
    const trace = run.tracing ? openTrace(step) : null;
    // a model whose window starts here joins the target's sample (not in the paper: `windows`)
    if (step.joining.length > 0) joinTarget(run, step);
    // 1. each active model predicts ε and takes its DDIM step: μₖ (eq. 6) and the proposal yₖ (eq. 4)
    const pending = predict(run, step, trace);
    if (pending) await pending;
    if (step.aggregate) {
      // 2. the proposals are merged into x′ (eq. 8) …
      merge(run, step, trace);
      // 3. … and every model continues from x′ moved toward its own μₖ (eq. 9)
      deviateAll(run, step, trace);
    }
    if (trace) opts.onStep!(trace);
  }
  // copies: the buffers may live in the backend's memory, which the result should not pin
  const modelLatents = run.xs.map((x) => x.slice());
  return {
    latents: modelLatents[plan.target],
    modelLatents,
    initialLatents,
    calls: run.calls,
    totalCalls: run.calls.reduce((a, b) => a + b, 0),
    timesteps: [...plan.timesteps],
    shape: [...plan.shape],
    batch: plan.batch,
  };
}

/** Plain DDIM sampling of one model (AMDM with N = 1). */
export function sampleDDIM(model: Denoiser, opts: DDIMOptions): Promise<AMDMResult> {
  const { stream, ...rest } = opts;
  return sampleAMDM({
    ...rest,
    models: [model],
    target: 0,
    aggregateSteps: 0,
    ...(stream === undefined ? {} : { streams: [stream] }),
  });
}
