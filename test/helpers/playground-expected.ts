/**
 * The rates the playground must show, computed in Node straight from the library
 * (compareOnShapes), written out here independently of the playground's own mapping.
 */
import { compareOnShapes, type ShapesMethod } from '../../src/toy/shapes/compare.ts';
import { makeWorld } from '../../src/toy/shapes/world.ts';
import { parsePromptLabel } from '../../src/toy/shapes/prompts.ts';
import type { ExpertName } from '../../src/toy/shapes/experts.ts';
import type { SummaryRow } from '../../src/toy/shapes/evaluate.ts';

export interface ExpectedSettings {
  prompt: string;
  target: ExpertName;
  others: ExpertName[];
  w: number;
  eta: number;
  etaScale: 'sqrtDim' | 'absolute';
  deviation?: 'eq9' | 'relative';
  s: number;
  T: number;
  rule: 'slerp' | 'lerp' | 'nlerp' | 'vp' | 'sphericalMean';
  seed: number;
  samples: number;
}

/** Overall summary per method key ('alone:<expert>', 'amdm'). */
export async function libraryRates(o: ExpectedSettings): Promise<Record<string, SummaryRow>> {
  const world = makeWorld();
  const methods: ShapesMethod[] = [o.target, ...o.others].map((e) => ({ name: `alone:${e}`, experts: [e] }));
  if (o.others.length > 0) {
    methods.push({ name: 'amdm', experts: [o.target, ...o.others], target: 0, weights: o.w, eta: o.eta, ...(o.deviation === 'relative' ? { deviation: 'relative' as const } : { etaScale: o.etaScale }), rule: o.rule, aggregateSteps: o.s });
  }
  const res = await compareOnShapes({ world, prompts: [parsePromptLabel(world, o.prompt)], methods, samplesPerPrompt: o.samples, steps: o.T, seed: o.seed });
  return Object.fromEntries(res.methods.map((m) => [m.name, m.summary.overall]));
}
