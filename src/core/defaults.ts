/**
 * The defaults of every layer, in one place: the paper's settings for InteractDiffusion + MIGC on
 * COCO-MIG (AMDM §4, sources M§2.5): T = 50 deterministic DDIM steps (η_ddim = 0), aggregation in
 * the first s = 20, the other model's weight w = 0.5 in eq. 8 (slerp), deviation optimization
 * with η = 0.3 per √d (eq. 9 as written), classifier-free guidance 7.5 (SD 1.x), seed 0, one
 * sample, the first model as the target.
 *
 * The sampler, the job schema, the Shapes comparisons, the SD pipeline and the benchmarks read
 * their defaults from here. Where a layer deliberately departs from one (the SD pipeline's s,
 * the demo's η), it says why where it does.
 */
export const AMDM_DEFAULTS = Object.freeze({
  /** T: DDIM steps. */
  steps: 50,
  /** s: aggregation in steps 0 … s − 1 (the paper's 20 of 50). */
  aggregateSteps: 20,
  /** w of eq. 8: the weight of each non-target model. */
  weight: 0.5,
  /** η of eq. 9. */
  eta: 0.3,
  /** η is per dimension: the step is η·√d. */
  etaScale: 'sqrtDim',
  /** The deviation step of eq. 9 as written. */
  deviation: 'eq9',
  /** The aggregation rule (eq. 8). */
  rule: 'slerp',
  /** η of DDIM: 0 is deterministic (the paper's and the official code's setting). */
  ddimEta: 0,
  /** Classifier-free guidance scale g. */
  guidance: 7.5,
  seed: 0,
  /** B: samples per model. */
  batch: 1,
  /** Index of the target model. */
  target: 0,
} as const);
