/**
 * Per-image cost of AMDM on the learned mini-zoo through the ONNX pipeline of `amdm generate`:
 * the target alone (InteractDiffusion-mini, plain DDIM) against AMDM with MIGC-mini, and with
 * MIGC-mini + IP-Adapter-mini (the paper's settings: T = 50, s = 20, CFG batched). The pipelines
 * are prepared once (loading is not timed); each image is one `pipeline.run` (text encoding,
 * sampling, VAE decoding). Every onnxruntime `InferenceSession.run` is timed by a wrapper on its
 * prototype, so "outside" is the share of an image's wall time spent in JavaScript (feeds, CFG
 * combine, DDIM step, slerp, deviation step, checks).
 *
 * Run: `npx tsx bench/zoo-image.ts [--reps 5] [--zoo models/mini-zoo] [--threads 0]`. Output: Markdown.
 */
import os from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { minimigPrompt } from '../src/toy/minimig/index.ts';
import { prepareSdPipeline } from '../src/sd/pipeline.ts';
import { AMDM_DEFAULTS } from '../src/core/defaults.ts';
import '../src/sd/families/index.ts';
import { folderKind, folderScalingFactor, stylePng, zooModelSpec, type ZooModelSpec } from '../src/cli/zoo-scene.ts';
import { markdownRow, markdownTable } from '../src/jobs/table.ts';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '5' },
    zoo: { type: 'string', default: 'models/mini-zoo' },
    threads: { type: 'string', default: '0' },
    help: { type: 'boolean' },
  },
});
if (values.help) {
  console.log('usage: npx tsx bench/zoo-image.ts [--reps 5] [--zoo models/mini-zoo] [--threads 0]');
  process.exit(0);
}
const reps = Number(values.reps);
const threads = Number(values.threads);
if (!Number.isInteger(reps) || reps < 1) throw new RangeError(`--reps must be an integer ≥ 1, got ${values.reps}`);
if (!Number.isInteger(threads) || threads < 0)
  throw new RangeError(`--threads must be an integer ≥ 0, got ${values.threads}`);
const zoo = resolve(values.zoo);

// time every session.run of onnxruntime
const timer = { run: 0 };
const proto = (ort.InferenceSession as unknown as { prototype: { run: (...a: unknown[]) => Promise<unknown> } })
  .prototype;
const run0 = proto.run;
proto.run = async function (this: unknown, ...a: unknown[]) {
  const t0 = performance.now();
  try {
    return await run0.apply(this, a);
  } finally {
    timer.run += performance.now() - t0;
  }
};

const p = minimigPrompt(3, 2);
const scratch = mkdtempSync(join(tmpdir(), 'zoo-image-'));
const ref = join(scratch, 'style.png');
writeFileSync(ref, await stylePng(p.reference));
const spec = async (name: string): Promise<ZooModelSpec> =>
  zooModelSpec(await folderKind(join(zoo, name)), p.scene, join(zoo, name), name, ref)!;
const [id, migc, ip] = [await spec('interactdiffusion-mini'), await spec('migc-mini'), await spec('ipadapter-mini')];
const scalingFactor = await folderScalingFactor(id.folder);
const T = AMDM_DEFAULTS.steps;
const s = AMDM_DEFAULTS.aggregateSteps;
const { weight: w, eta } = AMDM_DEFAULTS;
const configs = [
  { name: 'InteractDiffusion-mini alone', models: [id], extra: {} },
  { name: 'AMDM ← MIGC-mini', models: [id, migc], extra: { aggregateSteps: s, weights: [w], eta } },
  // IP-Adapter's w = 0.65: the paper's
  {
    name: 'AMDM ← MIGC-mini + IP-Adapter-mini',
    models: [id, migc, ip],
    extra: { aggregateSteps: s, weights: [w, 0.65], eta },
  },
];

console.log(
  `## Per image on the mini-zoo (T = ${T}, s = ${s}, CFG 5; ${reps} images each after one warm-up; ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? 'cpu'})\n`,
);
console.log(
  markdownTable(
    ['method', 'ms / image', 'ratio to alone', 'UNet calls', 'session.run (ms)', 'outside session.run'],
    [],
  ),
);
let alone = 0;
for (const c of configs) {
  const pipe = await prepareSdPipeline({ models: c.models, session: { intraOpNumThreads: threads } });
  const opts = {
    prompt: c.models[0].prompt,
    negativePrompt: '',
    steps: T,
    guidance: 5,
    seed: p.seed,
    scalingFactor,
    ...c.extra,
  };
  try {
    await pipe.run(opts);
    const walls: number[] = [];
    let runMs = 0;
    let calls = 0;
    for (let r = 0; r < reps; r++) {
      timer.run = 0;
      const t0 = performance.now();
      const res = await pipe.run(opts);
      walls.push(performance.now() - t0);
      runMs += timer.run;
      calls = res.totalCalls;
    }
    const wall = walls.reduce((a, b) => a + b, 0) / reps;
    if (alone === 0) alone = wall;
    const run = runMs / reps;
    console.log(
      markdownRow([
        c.name,
        wall.toFixed(1),
        (wall / alone).toFixed(2),
        String(calls),
        run.toFixed(1),
        `${(100 * (1 - run / wall)).toFixed(1)} %`,
      ]),
    );
  } finally {
    await pipe.release();
  }
}
rmSync(scratch, { recursive: true, force: true });
