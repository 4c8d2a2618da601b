/**
 * The rates the playground must show, computed in Node straight from the library
 * (compareOnShapes; runJob and the MiniMIG evaluator for the mini-zoo), written out here
 * independently of the playground's own mapping.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { folderScalingFactor, stylePng, unitImageFromRgba, zooModelSpec } from '../../src/experiments/zoo/scene.ts';
import { runJob } from '../../src/jobs/generate.ts';
import { parseJob } from '../../src/jobs/job-schema.ts';
import { evaluateScene, minimigPrompt, summarizeScenes, type MiniMigSummaryRow } from '../../src/toy/minimig/index.ts';
import { compareOnShapes, type ShapesMethod } from '../../src/toy/shapes/compare.ts';
import { makeWorld } from '../../src/toy/shapes/world.ts';
import { parsePromptLabel } from '../../src/toy/shapes/prompts.ts';
import type { ExpertName } from '../../src/toy/shapes/experts.ts';
import type { SummaryRow } from '../../src/toy/shapes/evaluate.ts';
import { projectRoot } from './data.ts';

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
    methods.push({
      name: 'amdm',
      experts: [o.target, ...o.others],
      target: 0,
      weights: o.w,
      eta: o.eta,
      ...(o.deviation === 'relative' ? { deviation: 'relative' as const } : { etaScale: o.etaScale }),
      rule: o.rule,
      aggregateSteps: o.s,
    });
  }
  const res = await compareOnShapes({
    world,
    prompts: [parsePromptLabel(world, o.prompt)],
    methods,
    samplesPerPrompt: o.samples,
    steps: o.T,
    seed: o.seed,
  });
  return Object.fromEntries(res.methods.map((m) => [m.name, m.summary.overall]));
}

export interface ExpectedZooSettings {
  zooPrompt: string;
  zooTarget: string;
  zooOthers: string[];
  w: number;
  eta: number;
  etaScale: 'sqrtDim' | 'absolute';
  s: number;
  T: number;
  rule: 'slerp' | 'lerp' | 'nlerp' | 'vp' | 'sphericalMean';
  seed: number;
  samples: number;
}

/**
 * The MiniMIG scores the playground must show in the mini-zoo world per method key
 * ('alone:<model>', 'amdm'): each model alone and AMDM as generate jobs on models/mini-zoo
 * (runJob), guidance 5, every image scored by the evaluator. `backend` 'web' runs the same
 * WebAssembly build of onnxruntime as the page.
 */
export async function libraryZooScores(
  o: ExpectedZooSettings,
  backend: 'web' | 'node',
): Promise<Record<string, MiniMigSummaryRow>> {
  const zoo = join(projectRoot, 'models', 'mini-zoo');
  const dir = await mkdtemp(join(tmpdir(), 'amdm-zoo-expected-'));
  try {
    const level = Number(o.zooPrompt[1]);
    const p = minimigPrompt(level, Number(o.zooPrompt.slice(3)));
    const ref = join(dir, 'style.png');
    await writeFile(ref, await stylePng(p.reference));
    const spec = (m: string) =>
      zooModelSpec(
        { 'interactdiffusion-mini': 'interactdiffusion', 'migc-mini': 'migc', 'ipadapter-mini': 'ipadapter' }[m]!,
        p.scene,
        join(zoo, m),
        m,
        ref,
      )!;
    const base = {
      steps: o.T,
      guidance: 5,
      seed: o.seed,
      batch: o.samples,
      backend,
      scalingFactor: (await folderScalingFactor(join(zoo, o.zooTarget))) ?? 0.18215,
    };
    const jobs: [string, unknown][] = [o.zooTarget, ...o.zooOthers].map((m) => [
      `alone:${m}`,
      { ...base, prompt: spec(m).prompt, models: [spec(m)], aggregateSteps: 0 },
    ]);
    if (o.zooOthers.length > 0) {
      const models = [o.zooTarget, ...o.zooOthers].map(spec);
      jobs.push([
        'amdm',
        {
          ...base,
          prompt: models[0].prompt,
          models,
          aggregateSteps: o.s,
          weights: o.w,
          eta: o.eta,
          etaScale: o.etaScale,
          rule: o.rule,
        },
      ]);
    }
    const out: Record<string, MiniMigSummaryRow> = {};
    for (const [key, job] of jobs) {
      const run = await runJob(parseJob(job));
      out[key] = summarizeScenes(
        run.result.target.images.map((img) => evaluateScene(p.scene, unitImageFromRgba(img))),
      ).overall;
    }
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
