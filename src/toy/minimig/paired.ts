/**
 * Paired differences between two methods on the same MiniMIG prompts and noise seeds (a method
 * minus its target model alone), with standard errors that count prompts, not instances,
 * relations or seeds, as the independent units.
 *
 * For a metric with hits h and units u per image (instance success: ok instances / instances;
 * interaction and relation success: per relation; image, style, clean: one unit per image; mIoU:
 * the sum of mIoU terms / instances), prompt p contributes d_p = Σ (h_method − h_target) and
 * n_p = Σ u over its images (all its noise seeds). The difference is the pooled
 * D = Σ d_p / Σ n_p, exactly the difference of the two pooled rates, and its standard error is the
 * cluster-robust (linearization) one,
 *   se = √(P/(P−1) · Σ_p (d_p − D·n_p)²) / Σ_p n_p,
 * P the number of prompts with units: images of one prompt share its scene, so their outcomes are
 * not independent, and seeds of one prompt are not new prompts.
 */
import { describe } from '../../core/validate.ts';
import type { Estimate } from '../shapes/evaluate.ts';
import type { SceneEvaluation } from './evaluate.ts';

export const PAIRED_METRICS = Object.freeze([
  'instanceSuccess',
  'mIoU',
  'interactionSuccess',
  'relationSuccess',
  'imageSuccess',
  'styleSuccess',
  'cleanRate',
] as const);
export type PairedMetric = (typeof PAIRED_METRICS)[number];

/** One prompt and noise seed scored for both methods. */
export interface PairedImage {
  /** The prompt's id: images with one id form one independent unit. */
  readonly prompt: string;
  readonly method: SceneEvaluation;
  readonly target: SceneEvaluation;
}

/** Hits and units of one metric in one image. */
export function metricCounts(e: SceneEvaluation, metric: PairedMetric): [number, number] {
  const count = <T>(xs: readonly T[], f: (x: T) => boolean) => xs.filter(f).length;
  switch (metric) {
    case 'instanceSuccess':
      return [count(e.instances, (i) => i.ok), e.instances.length];
    case 'mIoU':
      return [e.instances.reduce((a, i) => a + i.miou, 0), e.instances.length];
    case 'interactionSuccess':
      return [count(e.relations, (r) => r.ok), e.relations.length];
    case 'relationSuccess':
      return [count(e.relations, (r) => r.joint), e.relations.length];
    case 'imageSuccess':
      return [e.imageOk ? 1 : 0, 1];
    case 'styleSuccess':
      return [e.style.ok ? 1 : 0, 1];
    case 'cleanRate':
      return [e.clean.ok ? 1 : 0, 1];
  }
}

/** The paired difference method − target of one metric; null when fewer than 2 prompts have units of it. */
export function pairedDifference(pairs: readonly PairedImage[], metric: PairedMetric): Estimate | null {
  if (!Array.isArray(pairs) || pairs.length === 0)
    throw new RangeError(`pairs must be a non-empty array of paired images, got ${describe(pairs)}`);
  const byPrompt = new Map<string, { d: number; n: number }>();
  for (const [k, p] of pairs.entries()) {
    const [hm, um] = metricCounts(p.method, metric);
    const [ht, ut] = metricCounts(p.target, metric);
    if (um !== ut)
      throw new RangeError(
        `pairs[${k}] (prompt ${p.prompt}) compares images of different scenes: ${um} vs ${ut} units of ${metric}`,
      );
    const acc = byPrompt.get(p.prompt) ?? { d: 0, n: 0 };
    acc.d += hm - ht;
    acc.n += um;
    byPrompt.set(p.prompt, acc);
  }
  const units = [...byPrompt.values()].filter((x) => x.n > 0);
  const P = units.length;
  if (P < 2) return null;
  const N = units.reduce((a, x) => a + x.n, 0);
  const D = units.reduce((a, x) => a + x.d, 0) / N;
  const ss = units.reduce((a, x) => a + (x.d - D * x.n) ** 2, 0);
  return Object.freeze({ value: D, se: Math.sqrt((P / (P - 1)) * ss) / N, n: P });
}

/** Every metric's paired difference. */
export function pairedDifferences(pairs: readonly PairedImage[]): Record<PairedMetric, Estimate | null> {
  return Object.fromEntries(PAIRED_METRICS.map((m) => [m, pairedDifference(pairs, m)])) as Record<
    PairedMetric,
    Estimate | null
  >;
}
