/**
 * The AMDM run's per-step geometry (the sampler's StepTrace) as chart rows, for either world:
 * the angle slerp interpolates over (eq. 8), ‖x′ − μₖ‖ against the eq. 9 step length, and the
 * norms of the proposals and of the merge (with the data's sphere where the world knows it).
 */
import type { StepTrace } from '../../src/core/sampler.ts';

/** One row per step, model or sample. */
export interface TraceRows {
  /** Angle in degrees between the merged-so-far latent and each other proposal (fold stage). */
  angles: { step: number; pair: string; sample: number; degrees: number }[];
  /** ‖x′ − μₖ‖ per model and sample. */
  deviations: { step: number; model: string; sample: number; distance: number }[];
  /** The eq. 9 step length per model (after the √d scale). */
  etas: { step: number; model: string; eta: number }[];
  /** ‖·‖/√d of each proposal and of the merge x′. */
  norms: { step: number; series: string; sample: number; value: number }[];
  /** √(ᾱ·E x₀² + 1 − ᾱ): the radius per √d a latent of this prompt's data has at that step (empty where unknown). */
  sphere: { step: number; value: number }[];
}

export interface TraceOptions {
  /** The models' names, the target first, the others in fold order. */
  names: readonly string[];
  /** A symmetric rule (sphericalMean) measures every angle to the target, a fold to the merge so far. */
  symmetric: boolean;
  /** Elements of one latent sample (d). */
  dim: number;
  /** The data's radius per √d at the step's tPrev, when the world knows it. */
  sphere?: (tPrev: number) => number;
}

/** Collects StepTraces of an AMDM run into chart rows. */
export function traceCollector(o: TraceOptions): { rows: TraceRows; onStep: (t: StepTrace) => void } {
  const sqrtD = Math.sqrt(o.dim);
  const rows: TraceRows = { angles: [], deviations: [], etas: [], norms: [], sphere: [] };
  const pairName = (j: number) => `${j === 0 || o.symmetric ? o.names[0] : 'merge'} ↔ ${o.names[j + 1]}`;
  const onStep = (t: StepTrace) => {
    const step = t.step;
    if (o.sphere) rows.sphere.push({ step, value: o.sphere(t.tPrev) });
    t.evaluated.forEach((k, e) =>
      t.proposalNorms[e].forEach((v, sample) =>
        rows.norms.push({ step, series: `${o.names[k]} proposal`, sample, value: v / sqrtD }),
      ),
    );
    t.mixedNorms?.forEach((v, sample) => rows.norms.push({ step, series: 'merge x′', sample, value: v / sqrtD }));
    t.angles?.forEach((a, j) =>
      a.forEach((rad, sample) => rows.angles.push({ step, pair: pairName(j), sample, degrees: (rad * 180) / Math.PI })),
    );
    t.deviations?.forEach((d, k) =>
      d.forEach((distance, sample) => rows.deviations.push({ step, model: o.names[k], sample, distance })),
    );
    t.etas?.forEach((eta, k) => rows.etas.push({ step, model: o.names[k], eta }));
  };
  return { rows, onStep };
}
