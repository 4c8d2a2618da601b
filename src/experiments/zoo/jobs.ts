/**
 * `amdm zoo jobs`: writes the mini-zoo's example jobs for `amdm generate` from one MiniMIG prompt,
 * with its style reference as a PNG:
 *   mini-<model>.json            each zoo model alone (plain DDIM)
 *   mini-interact-migc.json      InteractDiffusion-mini ← MIGC-mini
 *   mini-interact-migc-ip.json   InteractDiffusion-mini ← MIGC-mini + IP-Adapter-mini
 *   mini-style-<prompt id>.png   the style reference
 * The AMDM jobs use the paper's settings: w = 0.5 (MIGC) and 0.65 (IP-Adapter), η = 0.3·√d,
 * aggregation in the first s = 20 of T = 50 DDIM steps; every model gets the caption variant it
 * was trained on (scene.ts). Every path (model folders, the style image, the output) is relative
 * to the job file, as `amdm generate` resolves them.
 */
import { join, relative, resolve } from 'node:path';
import { caption, minimigPrompt, type MiniMigPrompt } from '../../toy/minimig/index.ts';
import { AMDM_DEFAULTS } from '../../core/defaults.ts';
import { ensureDir, writeFileAtomic, writeJSONAtomic } from '../../io/files.ts';
import { stylePng, zooModelSpec, type ZooModelSpec } from './scene.ts';

/** The zoo's model folders and their families. */
export const ZOO_FOLDERS = Object.freeze([
  ['base', 'sd'],
  ['interactdiffusion-mini', 'interactdiffusion'],
  ['migc-mini', 'migc'],
  ['ipadapter-mini', 'ipadapter'],
] as const);

/** The paper's T, s, w and η (AMDM_DEFAULTS; IP-Adapter's w = 0.65 is the paper's too); the mini-zoo's CFG and seed. */
export const ZOO_JOB_DEFAULTS = Object.freeze({
  steps: AMDM_DEFAULTS.steps,
  aggregateSteps: AMDM_DEFAULTS.aggregateSteps,
  guidance: 5,
  seed: 1,
  weights: [AMDM_DEFAULTS.weight, 0.65],
  eta: AMDM_DEFAULTS.eta,
});

export interface ZooJobsOptions {
  /** Folder of the jobs (default examples/jobs). */
  out?: string;
  /** The zoo folder (default models/mini-zoo). */
  zoo?: string;
  /** The prompt (default L3 #2: three instances, both actions, a textured style). */
  prompt?: MiniMigPrompt;
}

/** The job files' contents by name, for prompt `p`, model folders in `zoo` and the style PNG `style`. */
function zooJobs(p: MiniMigPrompt, zoo: string, out: string, style: string): [string, unknown][] {
  const spec = (i: number): ZooModelSpec => {
    const [name, kind] = ZOO_FOLDERS[i];
    const s = zooModelSpec(
      kind,
      p.scene,
      relative(out, join(zoo, name)),
      name.replace(/-mini$/, ''),
      relative(out, style),
    );
    if (s === null) throw new RangeError(`prompt ${p.id} has no interaction: InteractDiffusion-mini cannot take it`);
    return s;
  };
  const d = ZOO_JOB_DEFAULTS;
  const job = (name: string, models: ZooModelSpec[], extra: Record<string, unknown>) => ({
    prompt: caption(p.scene),
    minimig: p.id,
    negativePrompt: '',
    models,
    steps: d.steps,
    guidance: d.guidance,
    seed: d.seed,
    device: 'cpu',
    output: `../../out/generate/${name}`,
    ...extra,
  });
  const amdm = {
    aggregateSteps: d.aggregateSteps,
    eta: d.eta,
    etaScale: AMDM_DEFAULTS.etaScale,
    rule: AMDM_DEFAULTS.rule,
    target: 'interactdiffusion',
    saveAll: true,
  };
  return [
    ...ZOO_FOLDERS.map(([name], i): [string, unknown] => [
      `mini-${name.replace(/-mini$/, '')}`,
      job(`mini-${name}`, [spec(i)], {}),
    ]),
    ['mini-interact-migc', job('mini-interact-migc', [spec(1), spec(2)], { ...amdm, weights: d.weights[0] })],
    [
      'mini-interact-migc-ip',
      job('mini-interact-migc-ip', [spec(1), spec(2), spec(3)], { ...amdm, weights: d.weights }),
    ],
  ];
}

/** Writes the jobs and the style PNG; resolves to the files written. */
export async function writeZooJobs(o: ZooJobsOptions = {}): Promise<string[]> {
  const out = resolve(o.out ?? 'examples/jobs');
  const zoo = resolve(o.zoo ?? 'models/mini-zoo');
  const p = o.prompt ?? minimigPrompt(3, 2);
  await ensureDir(out);
  const style = join(out, `mini-style-${p.id}.png`);
  await writeFileAtomic(style, await stylePng(p.reference));
  const files = [style];
  for (const [name, body] of zooJobs(p, zoo, out, style)) {
    const path = join(out, `${name}.json`);
    await writeJSONAtomic(path, body);
    files.push(path);
  }
  return files;
}
