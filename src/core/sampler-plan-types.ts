/**
 * The frozen plan of an AMDM run (sampler-plan.ts resolves it): the options it is resolved from,
 * its steps, and the plan itself.
 */
import type { AggregationRule, Denoiser } from './types.ts';
import type { AMDMOptions } from './sampler-types.ts';
import type { DeviationMode } from './deviation.ts';
import type { DDIMCoefficients, KernelBackend } from './kernel-types.ts';
import type { SpatialRule } from './spatial.ts';

/** The options a plan is resolved from: `sampleAMDM`'s, with `models` possibly just their number. */
export type AMDMPlanOptions = Omit<AMDMOptions, 'models' | 'onStep' | 'signal'> & {
  /** The N ≥ 1 denoisers, or N alone when only the settings are checked. */
  models: readonly Denoiser[] | number;
};

/** One step of the run: step i of T, from t = timesteps[i] to tPrev. */
export interface PlannedStep {
  readonly index: number;
  /** DDIM coefficients of the step (eq. 4/6), with its t and tPrev. */
  readonly ddim: DDIMCoefficients;
  /**
   * The models evaluated, in model order: the target and the models whose window holds the step
   * (by default all N in the first s steps, afterwards the target alone).
   */
  readonly active: readonly number[];
  /** The non-target models merged in this step (those in their window), in model order. */
  readonly merged: readonly number[];
  /** Models whose window starts here after the run's first step: they start from the target's latent. */
  readonly joining: readonly number[];
  /** Some model is merged: the proposals are merged (eq. 8) and deviated (eq. 9). */
  readonly aggregate: boolean;
  /** w per non-target model in model order (eq. 8; 0 outside its window); empty when the step does not aggregate. */
  readonly weights: readonly number[];
  /** w of the merged models, in fold order. */
  readonly foldWeights: readonly number[];
  /** A symmetric rule's weights of the target and the merged models (`foldWeightsToSymmetric(foldWeights)`); else empty. */
  readonly symmetricWeights: readonly number[];
  /** Per model: the eq. 9 step length (η, × √d with etaScale 'sqrtDim'), or λ with deviation 'relative'. */
  readonly etas: readonly number[];
}

export interface AMDMPlan {
  /** N models, the target's index, the others in model order (the fold order after the target). */
  readonly N: number;
  readonly target: number;
  readonly others: readonly number[];
  /** T steps, aggregation in steps 0 … s − 1. */
  readonly T: number;
  readonly s: number;
  readonly timesteps: readonly number[];
  /** The steps taken: startStep … T − 1. */
  readonly steps: readonly PlannedStep[];
  readonly shape: readonly number[];
  readonly batch: number;
  /** Elements per sample and per model tensor (batch · dim). */
  readonly dim: number;
  readonly size: number;
  readonly ddimEta: number;
  readonly deviation: DeviationMode;
  /** eq. 9 only: stop the step at μₖ. */
  readonly clip: boolean;
  readonly rule: AggregationRule;
  readonly kernels: KernelBackend;
  readonly concurrent: boolean;
  /** The seed of the noise, or null when no noise is drawn (latents given, η_ddim = 0). */
  readonly seed: number | null;
  /** Each model's RNG stream. */
  readonly streams: readonly number[];
  /** The initial latents given, one per model (checked), or null to draw them. */
  readonly latents: readonly Float32Array[] | null;
  /** Per model (by index): the steps [start, end) it is merged on; the target's is [0, T]. */
  readonly windows: readonly (readonly [number, number])[];
  /** Per model (by index): its checked spatial weight map, or null (the target, or none given). */
  readonly maps: readonly (Float32Array | null)[];
  /** The rule's name when some model has a map (the rules that take one), else null. */
  readonly spatialRule: SpatialRule | null;
  /** Mapped models' deviation steps are restricted to their maps. */
  readonly spatialDeviation: boolean;
}
