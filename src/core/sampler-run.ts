/**
 * The state of one sampler run (sampler.ts) besides its plan: buffers allocated once, each
 * model's RNG stream, call counts; and the per-step trace's norms and angles.
 */
import type { Denoiser } from './types.ts';
import { angleAt, sqNormAt } from './tensor.ts';
import { gaussianRng, type GaussianRng } from './rng.ts';
import type { AMDMPlan, PlannedStep } from './sampler-plan.ts';
import type { AMDMOptions, StepTrace } from './sampler-types.ts';
import type { ModelCall } from './model-call.ts';
import type { DDIMStepOptions } from './ddim.ts';
import type { DeviateOptions, DeviateRelativeOptions } from './deviation.ts';
import type { MapDeviateOptions, MapMergeOptions } from './spatial.ts';

/** What a run holds besides its plan: buffers allocated once, RNGs, call counts. */
export interface Run {
  readonly plan: AMDMPlan;
  readonly models: readonly Denoiser[];
  readonly signal: AbortSignal | undefined;
  readonly tracing: boolean;
  /** Per model: its latent xₖ, step mean μₖ and proposal yₖ (only aggregated steps use yₖ; the others step xₖ in place). */
  readonly xs: Float32Array[];
  readonly mus: Float32Array[];
  readonly ys: Float32Array[];
  /** Per planned step: the proposals it merges in fold order, the target's first (arrays made once per run). */
  readonly stepProposals: Float32Array[][];
  /** x′, the DDIM noise (η_ddim > 0), and a staging buffer for an ε the backend cannot read in place. */
  readonly mixed: Float32Array;
  readonly noise: Float32Array | null;
  readonly epsStage: Float32Array;
  readonly rngs: (GaussianRng | null)[];
  readonly calls: number[];
  /** Per model: per-sample ‖x′ − μₖ‖ of the last deviation step. */
  readonly distances: Float64Array[];
  /** A pairwise rule's arguments [x′, yₖ] and [w], and the concurrent mode's pending ε. */
  readonly pair: Float32Array[];
  readonly pairWeight: number[];
  readonly pending: (Float32Array | Promise<Float32Array>)[];
  /**
   * The options of the kernels a step calls, one record each, built once per run: a step
   * updates their per-model fields in place, so that it allocates nothing.
   */
  readonly call: ModelCall;
  readonly ddimStep: DDIMStepOptions;
  readonly mapMerge: MapMergeOptions;
  readonly deviation: DeviateOptions;
  readonly relativeDeviation: DeviateRelativeOptions;
  readonly mapDeviation: MapDeviateOptions;
}

/**
 * The run's buffers, allocated once where the backend's kernels use them in place, each model's
 * RNG stream, and the initial latents: given, or drawn from the model's stream (target = 0).
 */
export function startRun(plan: AMDMPlan, opts: AMDMOptions): Run {
  const { N, size, kernels, seed } = plan;
  const rngs = plan.streams.map((stream) => (seed === null ? null : gaussianRng(seed, stream)));
  const pool = kernels.buffers(3 * N + 3, size);
  const xs = pool.slice(0, N),
    ys = pool.slice(2 * N, 3 * N);
  const [mixed, noiseBuf, epsStage] = pool.slice(3 * N);
  for (let k = 0; k < N; k++) {
    if (plan.latents) xs[k].set(plan.latents[k]);
    else rngs[k]!.fillNormal(xs[k]);
  }
  const noise = plan.ddimEta > 0 ? noiseBuf : null;
  const distances = xs.map(() => new Float64Array(plan.batch));
  return {
    plan,
    models: opts.models,
    signal: opts.signal,
    tracing: typeof opts.onStep === 'function',
    xs,
    mus: pool.slice(N, 2 * N),
    ys,
    stepProposals: plan.steps.map((step) => [plan.target, ...step.merged].map((k) => ys[k])),
    mixed,
    noise,
    epsStage,
    rngs,
    calls: new Array<number>(N).fill(0),
    distances,
    pair: [mixed, mixed],
    pairWeight: [0],
    pending: new Array(N),
    ...kernelOptions(plan, noise, distances[0]),
  };
}

/** The kernels' option records of a run (see `Run`), with placeholders where a step fills in a model's. */
function kernelOptions(
  plan: AMDMPlan,
  noise: Float32Array | null,
  distances: Float64Array,
): Pick<Run, 'call' | 'ddimStep' | 'mapMerge' | 'deviation' | 'relativeDeviation' | 'mapDeviation'> {
  const { dim, kernels, clip } = plan;
  const noMap = new Float32Array(0);
  return {
    call: { k: 0, step: 0, t: 0, batch: plan.batch },
    ddimStep: { prev: null, x0: null, noise, kernels },
    mapMerge: { rule: plan.spatialRule ?? 'slerp', w: 0, map: noMap, dim, angles: null },
    deviation: { eta: 0, dim, distances, clip, kernels },
    relativeDeviation: { lambda: 0, dim, distances },
    mapDeviation: { eta: 0, map: noMap, dim, distances, relative: plan.deviation === 'relative', clip },
  };
}

export function openTrace(step: PlannedStep): StepTrace {
  return {
    step: step.index,
    t: step.ddim.t,
    tPrev: step.ddim.tPrev,
    evaluated: [],
    aggregated: step.aggregate,
    inputNorms: [],
    proposalNorms: [],
  };
}

export function norms(x: Float32Array, batch: number, dim: number): Float64Array {
  const out = new Float64Array(batch);
  for (let b = 0; b < batch; b++) out[b] = Math.sqrt(sqNormAt(x, b * dim, dim));
  return out;
}

export function angles(a: Float32Array, b: Float32Array, batch: number, dim: number): Float64Array {
  const out = new Float64Array(batch);
  for (let s = 0; s < batch; s++) out[s] = angleAt(a, b, s * dim, dim);
  return out;
}
