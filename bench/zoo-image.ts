/**
 * Per-image cost of AMDM on the learned mini-zoo through the ONNX pipeline of `amdm generate`:
 * the target alone (InteractDiffusion-mini, plain DDIM) against AMDM with MIGC-mini, and with
 * MIGC-mini + IP-Adapter-mini (the paper's settings: T = 50, s = 20, CFG batched), and the loop
 * of the zoo experiments (`amdm zoo bench` / `zoo calibrate`: a new prompt, hence new conditions,
 * per image) through a model pool against loading the folders per image, and AMDM with each
 * non-target UNet in its own worker thread (`unetWorkers`: the models' calls of an aggregated step
 * at once, the target's on the main thread).
 *
 * Each (round, threads, method) runs in its own child process, so that its peak RSS is its own;
 * the rounds interleave the methods so that a busy spell of a shared machine hits all of them.
 * In a child the fixed-prompt methods prepare their pipeline once (not timed) and time `reps`
 * images after one warm-up; every onnxruntime `InferenceSession.run` is timed by a wrapper on its
 * prototype, so "outside" is the share of an image's wall time spent in JavaScript (feeds, CFG
 * combine, DDIM step, slerp, deviation step, checks, and for the loop rows preparing).
 *
 * Run: `npx tsx bench/zoo-image.ts [--reps 5] [--rounds 3] [--threads 1,2] [--zoo models/mini-zoo]`.
 * Output: Markdown.
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { minimigPrompt } from '../src/toy/minimig/index.ts';
import { generateSd, prepareSdPipeline, type SdRunOptions } from '../src/sd/pipeline.ts';
import { createSdModelPool } from '../src/sd/pipeline-pool.ts';
import { AMDM_DEFAULTS } from '../src/core/defaults.ts';
import '../src/sd/families/index.ts';
import {
  folderKind,
  folderScalingFactor,
  stylePng,
  zooModelSpec,
  type ZooModelSpec,
} from '../src/experiments/zoo/scene.ts';
import { markdownRow, markdownTable } from '../src/jobs/table.ts';
import { intArg } from './int-arg.ts';
import { peakRssMiB } from './peak-rss.ts';

const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    zoo: { type: 'string', default: 'models/mini-zoo' },
    threads: { type: 'string', default: '1,2' },
    child: { type: 'string' },
    help: { type: 'boolean' },
  },
});
const usage =
  'usage: npx tsx bench/zoo-image.ts [--reps 5] [--rounds 3] [--threads 1,2] [--zoo models/mini-zoo]\n' +
  '  --threads: comma-separated onnxruntime intra-op thread counts, one set of rows each (0 = onnxruntime default)';
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const reps = intArg('reps', values.reps!, 1, usage);
const rounds = intArg('rounds', values.rounds!, 1, usage);
const threadList = values.threads!.split(',').map((t) => intArg('threads', t, 0, usage));
const zoo = resolve(values.zoo!);

const T = AMDM_DEFAULTS.steps;
const s = AMDM_DEFAULTS.aggregateSteps;
const { weight: w, eta } = AMDM_DEFAULTS;
/** The methods: fixed prompt (one pipeline) or the experiments' loop (a prompt per image). */
const METHODS = [
  { name: 'InteractDiffusion-mini alone', models: ['interactdiffusion-mini'], loop: null },
  { name: 'AMDM ← MIGC-mini', models: ['interactdiffusion-mini', 'migc-mini'], loop: null },
  // IP-Adapter's w = 0.65: the paper's
  {
    name: 'AMDM ← MIGC-mini + IP-Adapter-mini',
    models: ['interactdiffusion-mini', 'migc-mini', 'ipadapter-mini'],
    loop: null,
  },
  {
    name: 'AMDM ← MIGC-mini, UNets in worker threads',
    models: ['interactdiffusion-mini', 'migc-mini'],
    loop: null,
    unetWorkers: true,
  },
  {
    name: 'AMDM ← MIGC-mini + IP-Adapter-mini, UNets in worker threads',
    models: ['interactdiffusion-mini', 'migc-mini', 'ipadapter-mini'],
    loop: null,
    unetWorkers: true,
  },
  // 3 UNets on 2 cores: the cheap IP-Adapter-mini call after the target's on the main thread
  {
    name: 'AMDM ← MIGC-mini + IP-Adapter-mini, MIGC-mini in a worker thread',
    models: ['interactdiffusion-mini', 'migc-mini', 'ipadapter-mini'],
    loop: null,
    unetWorkers: [1],
  },
  { name: 'loop, AMDM ← MIGC-mini: pool', models: ['interactdiffusion-mini', 'migc-mini'], loop: 'pool' },
  { name: 'loop, AMDM ← MIGC-mini: load per image', models: ['interactdiffusion-mini', 'migc-mini'], loop: 'load' },
] as const;

interface ChildResult {
  /** Wall ms per image, session.run ms per image (all sessions), UNet calls per image. */
  wall: number;
  run: number;
  calls: number;
  /** Peak resident set of the child, MiB. */
  rssMiB: number;
}

if (values.child !== undefined) {
  const r = await child(intArg('child', values.child, 0, usage), threadList[0]);
  console.log(JSON.stringify(r));
} else {
  parent();
}

function parent(): void {
  const script = fileURLToPath(import.meta.url);
  const results = new Map<string, ChildResult[]>();
  const load0 = os.loadavg();
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) {
    for (const threads of threadList) {
      for (let m = 0; m < METHODS.length; m++) {
        const args = ['--import', 'tsx', script, '--child', String(m), '--threads', String(threads)];
        args.push('--reps', String(reps), '--zoo', zoo);
        const p = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
        if (p.status !== 0) throw new Error(`child ${METHODS[m].name} (threads ${threads}) failed:\n${p.stderr}`);
        const key = `${threads}/${m}`;
        results.set(key, [...(results.get(key) ?? []), JSON.parse(p.stdout.trim().split('\n').pop()!)]);
      }
    }
  }
  const load1 = os.loadavg();
  const cpu = os.cpus();
  console.log(
    `## Per image on the mini-zoo (T = ${T}, s = ${s}, CFG 5; ${reps} images per child after one warm-up, ` +
      `${rounds} interleaved rounds, median over rounds; ${cpu.length} cores, ${cpu[0]?.model ?? 'cpu'}; Node ${process.version})\n`,
  );
  console.log(
    `Load average at start ${load0.map((v) => v.toFixed(2)).join(' / ')}, at end ${load1.map((v) => v.toFixed(2)).join(' / ')}; ` +
      `bench wall ${((performance.now() - t0) / 1000).toFixed(0)} s.\n`,
  );
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[(xs.length - 1) >> 1];
  const header = ['method', 'threads', 'ms / image', 'ratio to alone', 'UNet calls', 'call ratio'];
  header.push('ratio / call ratio', 'session.run (ms)', 'outside session.run', 'images/s', 'of session.run bound');
  header.push('peak RSS (MiB)');
  console.log(markdownTable(header, []));
  for (const threads of threadList) {
    const med = (m: number, k: keyof ChildResult) => median(results.get(`${threads}/${m}`)!.map((c) => c[k]));
    const alone = { wall: med(0, 'wall'), calls: med(0, 'calls') };
    METHODS.forEach((method, m) => {
      const wall = med(m, 'wall');
      const run = med(m, 'run');
      const calls = med(m, 'calls');
      const ratio = wall / alone.wall;
      const callRatio = calls / alone.calls;
      const row = [method.name, threads === 0 ? 'default' : String(threads), wall.toFixed(1), ratio.toFixed(2)];
      row.push(String(calls), callRatio.toFixed(2), (ratio / callRatio).toFixed(2));
      // the UNet runs of worker threads escape the wrapper: their share is not measured here
      const inWorkers = 'unetWorkers' in method;
      row.push(inWorkers ? '— (UNets in workers)' : run.toFixed(1));
      row.push(inWorkers ? '—' : `${(100 * (1 - run / wall)).toFixed(1)} %`, (1000 / wall).toFixed(2));
      row.push(inWorkers ? '—' : `${((100 * run) / wall).toFixed(0)} %`);
      row.push(med(m, 'rssMiB').toFixed(0));
      console.log(markdownRow(row));
    });
  }
}

/** One method at one thread count: `reps` images after a warm-up; the per-image means. */
async function child(m: number, threads: number): Promise<ChildResult> {
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
  const method = METHODS[m];
  const scratch = mkdtempSync(join(os.tmpdir(), 'zoo-image-'));
  try {
    // the loop rows draw a new L3 prompt per image (its scene gives every model its conditions)
    const prompts = Array.from({ length: reps + 1 }, (_, i) => minimigPrompt(3, method.loop ? 2 + i : 2));
    const specs = async (i: number): Promise<ZooModelSpec[]> => {
      const p = prompts[i];
      const ref = join(scratch, `style-${i}.png`);
      writeFileSync(ref, await stylePng(p.reference));
      const out: ZooModelSpec[] = [];
      for (const n of method.models)
        out.push(zooModelSpec(await folderKind(join(zoo, n)), p.scene, join(zoo, n), n, ref)!);
      return out;
    };
    const scalingFactor = await folderScalingFactor(join(zoo, method.models[0]));
    const options = (models: ZooModelSpec[], i: number): SdRunOptions => ({
      prompt: models[0].prompt,
      negativePrompt: '',
      steps: T,
      guidance: 5,
      seed: prompts[i].seed,
      scalingFactor,
      ...(models.length === 1 ? {} : { aggregateSteps: s, weights: models.length === 2 ? [w] : [w, 0.65], eta }),
    });
    const session = { intraOpNumThreads: threads };
    let image: (i: number) => Promise<number>;
    let done = async () => {};
    if (method.loop === null) {
      const models = await specs(0);
      const unetWorkers = 'unetWorkers' in method && method.unetWorkers;
      const pipe = await prepareSdPipeline({ models, session, unetWorkers });
      done = () => pipe.release();
      image = async () => (await pipe.run(options(models, 0))).totalCalls;
    } else if (method.loop === 'pool') {
      const pool = createSdModelPool({ session });
      done = () => pool.release();
      image = async (i) => {
        const models = await specs(i);
        const pipe = await pool.prepare({ models });
        try {
          return (await pipe.run(options(models, i))).totalCalls;
        } finally {
          await pipe.release();
        }
      };
    } else {
      image = async (i) => {
        const models = await specs(i);
        return (await generateSd({ models, session, ...options(models, i) })).totalCalls;
      };
    }
    try {
      await image(0);
      let wall = 0;
      let calls = 0;
      timer.run = 0;
      for (let r = 1; r <= reps; r++) {
        const t0 = performance.now();
        calls = await image(r);
        wall += performance.now() - t0;
      }
      return { wall: wall / reps, run: timer.run / reps, calls, rssMiB: peakRssMiB() };
    } finally {
      await done();
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
