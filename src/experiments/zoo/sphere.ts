/**
 * `amdm zoo sphere`: the Figure 5b analog on the learned mini-zoo. For InteractDiffusion-mini ←
 * MIGC-mini (w = 0.5, η = 0.3·√d, s = 20 of T = 50) and each aggregation rule, the norm per
 * element ‖x‖/√d of the merged latent x′ at every aggregated step (the `trace` of the pipeline),
 * beside the target's own proposal when it runs alone — how far each rule leaves the sphere the
 * noisy latents live on. Mean and standard deviation over the prompts (one sample each).
 * Writes sphere.csv, results.json and chart.svg into its output folder (src/io/output-folder.ts).
 */
import { join, resolve } from 'node:path';
import * as Plot from '@observablehq/plot';
import { plotToSVG } from '../../image/plot.ts';
import type { RuleName } from '../../core/rules.ts';
import { AMDM_DEFAULTS } from '../../core/defaults.ts';
import { zooDemoPrompts } from './demo.ts';
import type { MiniMigPrompt } from '../../toy/minimig/index.ts';
import type { generateSd as GenerateSd } from '../../sd/pipeline.ts';
import { csvOfRecords } from '../../jobs/table.ts';
import { experimentFolder, meanAndSd, normPerStepAxes } from '../common.ts';
import { jsonText } from '../../io/files.ts';
import { prepareOutputFolder } from '../../io/output-folder.ts';
import { folderKind, folderScalingFactor, zooModelSpec } from './scene.ts';

export const SPHERE_RULES: readonly RuleName[] = ['slerp', 'lerp', 'nlerp', 'vp'];
/** The defaults of `amdm zoo sphere`; the output folder is experimentFolder('mini-sphere'), as recorded: keep it. */
export const ZOO_SPHERE_DEFAULTS = Object.freeze({
  zoo: 'models/mini-zoo',
  prompts: 12,
  steps: AMDM_DEFAULTS.steps,
  s: AMDM_DEFAULTS.aggregateSteps,
  out: experimentFolder('mini-sphere', false),
});
/** The paper's w, η and its scale (AMDM_DEFAULTS). */
const PAPER = { weights: [AMDM_DEFAULTS.weight], eta: AMDM_DEFAULTS.eta, etaScale: AMDM_DEFAULTS.etaScale };

export interface SphereRow {
  method: string;
  step: number;
  mean: number;
  sd: number;
}

export interface ZooSphereOptions {
  zoo?: string;
  /** Prompts, cycling through L2–L4 (the mini demo's). */
  prompts?: number;
  steps?: number;
  /** Aggregated steps. */
  s?: number;
  out?: string;
  /** A smoke run: its default folder is amdm-out/experiments/mini-sphere. */
  quick?: boolean;
  log?: (l: string) => void;
}

export async function runZooSphere(o: ZooSphereOptions = {}): Promise<SphereRow[]> {
  const d = ZOO_SPHERE_DEFAULTS;
  const log = o.log ?? ((l: string) => console.log(l));
  const zoo = resolve(o.zoo ?? d.zoo);
  const steps = o.steps ?? d.steps;
  const s = o.s ?? Math.min(d.s, steps);
  if (s > steps) throw new RangeError(`--s must be ≤ --steps (${steps}), got ${s}`);
  const out = await prepareOutputFolder(o.out ?? (o.quick ? experimentFolder('mini-sphere', true) : d.out), {
    command: 'zoo sphere',
    smoke: o.quick ?? false,
    param: '--out',
  });
  const { generateSd } = await import('../../sd/pipeline.ts');
  await import('../../sd/families/index.ts');
  const pair = await spherePair(zoo);
  const per: NormsPerStep = new Map();
  const prompts = zooDemoPrompts(o.prompts ?? d.prompts);
  for (const p of prompts) await traceSpherePrompt(generateSd, pair, p, { steps, s }, per);
  const rows: SphereRow[] = [...per].flatMap(([method, bySteps]) =>
    bySteps.map((xs, step) => ({ method, step, ...meanAndSd(xs) })),
  );
  const settings = { zoo, prompts: prompts.map((p) => p.id), steps, s, ...PAPER, guidance: 5 };
  await out.commit(
    new Map([
      ['sphere.csv', csvOfRecords(rows, ['method', 'step', 'mean', 'sd'])],
      ['results.json', jsonText({ command: 'zoo sphere', settings, rows })],
      ['chart.svg', plotToSVG(sphereChart(rows), { figure: 'svg' })],
    ]),
  );
  const last = rows.filter((r) => r.step === s - 1);
  log(
    `‖x‖/√d at the last aggregated step (${s - 1}), mean ± sd over ${prompts.length} prompts: ${last.map((r) => `${r.method} ${r.mean.toFixed(3)} ± ${r.sd.toFixed(3)}`).join('; ')}`,
  );
  log(`wrote ${out.path}/{chart.svg,results.json,sphere.csv}`);
  return rows;
}

/** Per method, per aggregated step: the norms ‖x‖/√d, one per prompt. */
type NormsPerStep = Map<string, number[][]>;

function addNorm(per: NormsPerStep, method: string, step: number, v: number): void {
  ((per.get(method) ?? per.set(method, []).get(method)!)[step] ??= []).push(v);
}

/** The two zoo folders (target InteractDiffusion-mini, other MIGC-mini), their kinds and the VAE scaling factor. */
interface SpherePair {
  readonly id: string;
  readonly migc: string;
  readonly kinds: readonly string[];
  readonly scalingFactor: number | undefined;
}

async function spherePair(zoo: string): Promise<SpherePair> {
  const [id, migc] = ['interactdiffusion-mini', 'migc-mini'].map((n) => join(zoo, n));
  const kinds = [await folderKind(id), await folderKind(migc)];
  const scalingFactor = await folderScalingFactor(id);
  return { id, migc, kinds, scalingFactor };
}

/**
 * One prompt: the target alone's proposal norm at each of the first s steps, and for each rule
 * the merged latent's norm at each aggregated step, all per element (‖x‖/√d), added to `per`.
 */
async function traceSpherePrompt(
  generateSd: typeof GenerateSd,
  pair: SpherePair,
  p: MiniMigPrompt,
  { steps, s }: { steps: number; s: number },
  per: NormsPerStep,
): Promise<void> {
  const specs = [
    zooModelSpec(pair.kinds[0], p.scene, pair.id, 'interactdiffusion-mini')!,
    zooModelSpec(pair.kinds[1], p.scene, pair.migc, 'migc-mini')!,
  ];
  const run = {
    prompt: specs[0].prompt,
    negativePrompt: '',
    steps,
    guidance: 5,
    seed: p.seed,
    scalingFactor: pair.scalingFactor,
    trace: true,
  };
  const alone = await generateSd({ models: [specs[0]], ...run, aggregateSteps: 0 });
  const dim = alone.shape.reduce((a, b) => a * b, 1);
  for (const t of alone.trace!)
    if (t.step < s) addNorm(per, 'target alone', t.step, t.proposalNorms[0][0] / Math.sqrt(dim));
  for (const rule of SPHERE_RULES) {
    const r = await generateSd({ models: specs, ...run, aggregateSteps: s, ...PAPER, rule });
    for (const t of r.trace!) if (t.mixedNorms) addNorm(per, rule, t.step, t.mixedNorms[0] / Math.sqrt(dim));
  }
}

/** chart.svg: the mean norm per aggregated step, one labelled line per method. */
function sphereChart(rows: readonly SphereRow[]): Plot.PlotOptions {
  return {
    title:
      '‖x‖/√d per aggregated step on the mini-zoo: merged latent per rule, and the target alone (Figure 5b analog)',
    ...normPerStepAxes(),
    marginRight: 110,
    marks: [
      Plot.line(rows, { x: 'step', y: 'mean', stroke: 'method' }),
      Plot.text(
        rows,
        Plot.selectLast({
          x: 'step',
          y: 'mean',
          z: 'method',
          text: 'method',
          fill: 'method',
          dx: 6,
          textAnchor: 'start',
        }),
      ),
    ],
  };
}
