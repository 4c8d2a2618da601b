/**
 * Benchmark of the ONNX runtime path: how much of an AMDM/DDIM step is spent outside
 * `session.run`, and what running 2–3 ONNX models costs, sequentially or concurrently.
 *
 *  1. Overhead per step: plain DDIM (one model, CFG batched, guidance 7.5) over a UNet whose
 *     `session.run` is timed by a wrapper; outside = step wall time − run time (feeding the
 *     latent and timestep, reading and checking the output, the CFG combine, the DDIM step,
 *     the sampler's checks). Two UNets: the sd-tiny fixture (4×8×8 latent, run ≈ nothing)
 *     and a generated "medium" UNet (4×64×64 latent like SD at 512², two large MatMuls
 *     16384×512 and 512×16384 plus a text projection, ≈ 64 MB of weights) so run dominates.
 *  2. AMDM with N = 2, 3 medium models, every step aggregated (s = T, the worst case; with
 *     s < T the extra cost is (N−1)·s/T model calls per target call):
 *       - sequential: core `sampleAMDM`, all sessions in the main thread (they never overlap:
 *         onnxruntime-node's run executes on the calling JS thread);
 *       - concurrent: one session per worker_threads worker (intraOpNumThreads = cores / N),
 *         and an AMDM loop that awaits the active models of a step together; its latents are
 *         checked against the sequential run (max |Δ|);
 *       - single: DDIM of the target alone.
 *     Wall ratios to the single model and the UNet call counts.
 *  3. Intra-op spinning: 1 vs 3 sessions of the medium MatMul pair run in turn in one thread,
 *     with onnxruntime's default `session.intra_op.allow_spinning` = 1 and with 0 (idle
 *     thread pools of the other sessions spin and compete with the running one).
 *
 * Run: `npx tsx bench/onnx-overhead.ts [--steps 20] [--reps 3] [--threads N]`. Output: Markdown.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { ddimCoefficients, ddimStepInto } from '../src/core/ddim.ts';
import { deviate } from '../src/core/deviation.ts';
import { gaussianRng } from '../src/core/rng.ts';
import { slerp } from '../src/core/rules.ts';
import { sampleAMDM } from '../src/core/sampler.ts';
import { AMDM_DEFAULTS } from '../src/core/defaults.ts';
import { makeSchedule, prevTimestep, timesteps, type NoiseSchedule } from '../src/core/schedule.ts';
import type { Denoiser } from '../src/core/types.ts';
import { attr, graphBuilder } from '../src/onnx/graph.ts';
import { unetModel, type UnetModel } from '../src/onnx/model-folder.ts';
import { openSession, type OnnxSession } from '../src/onnx/session.ts';
import { createUnetDenoiser } from '../src/onnx/unet-denoiser.ts';
import { markdownRow, markdownTable } from '../src/jobs/table.ts';
import { seededUniform, textEncoderGraph, unetGraph } from '../fixtures/sd-tiny-graphs.ts';

const TEXT = { L: 77, D: 768 };
/** Blocks of the "large" UNet: ≈ 8 × the medium run, tens of ms on a 2-core machine. */
const LARGE_BLOCKS = 8;

/**
 * A medium UNet: sample [b,4,64,64] → tanh(x·W1 + mean(ehs)·Wt + τ(t))·W2 ≈ 64 MB of weights.
 * With `blocks` > 1 the block repeats as a residual stack x ← x + 0.1·block(x) over the same
 * weights, so a run costs `blocks` times as much with no more memory (a "large" UNet of
 * realistic cost, tens of ms per run, for the share of a step spent outside session.run).
 */
function mediumUnet(seed: number, blocks = 1): Uint8Array {
  const rnd = seededUniform(seed);
  const d = 4 * 64 * 64;
  const h = 512;
  const g = graphBuilder('medium_unet');
  g.input('sample', 'float32', ['batch', 4, 64, 64]);
  g.input('timestep', 'float32', []);
  g.input('encoder_hidden_states', 'float32', ['batch', TEXT.L, TEXT.D]);
  const x = g.op('Reshape', ['sample', g.i64([2], [-1, d])]);
  const text = g.op('ReduceMean', ['encoder_hidden_states'], { axes: attr.ints([1]), keepdims: attr.i(0) });
  const tau = g.op('Mul', [g.op('Sin', [g.op('Mul', ['timestep', g.f32([h], rnd(h, 0.01))])]), g.f32([], [0.1])]);
  const w1 = g.f32([d, h], rnd(d * h, 1 / Math.sqrt(d))),
    w2 = g.f32([h, d], rnd(h * d, 1 / Math.sqrt(h)));
  const cond = g.op('Add', [g.op('MatMul', [text, g.f32([TEXT.D, h], rnd(TEXT.D * h, 0.05))]), tau]);
  const block = (v: string) => g.op('MatMul', [g.op('Tanh', [g.op('Add', [g.op('MatMul', [v, w1]), cond])]), w2]);
  let out = block(x);
  for (let b = 1; b < blocks; b++) out = g.op('Add', [out, g.op('Mul', [block(out), g.f32([], [0.1])])]);
  g.op('Reshape', [out, g.op('Shape', ['sample'])], undefined, 'out_sample');
  g.output('out_sample', 'float32', ['batch', 4, 64, 64]);
  return g.encode().model;
}

interface ModelSpec {
  bytes: Uint8Array;
  cond: Float32Array;
  uncond: Float32Array;
  threads: number;
}

/** A UnetModel whose session.run adds its time to `timer.run`. */
function timedUnet(unet: UnetModel, timer: { run: number }): UnetModel {
  const s: OnnxSession = unet.session;
  const session: OnnxSession = {
    ...s,
    input: s.input,
    output: s.output,
    run: async (feeds, fetches) => {
      const t0 = performance.now();
      const r = await s.run(feeds, fetches);
      timer.run += performance.now() - t0;
      return r;
    },
  };
  return { ...unet, session };
}

async function localDenoiser(
  spec: ModelSpec,
  timer?: { run: number },
): Promise<{ d: Denoiser; release: () => Promise<void> }> {
  const session = await openSession(spec.bytes, { intraOpNumThreads: spec.threads });
  let unet = unetModel(session, 'unet');
  if (timer) unet = timedUnet(unet, timer);
  return {
    d: createUnetDenoiser({ unet, cond: spec.cond, uncond: spec.uncond, guidance: AMDM_DEFAULTS.guidance }),
    release: () => session.release(),
  };
}

// ---- worker side: one session, eps on request -------------------------------------------
if (!isMainThread) {
  const spec = workerData as ModelSpec;
  const { d } = await localDenoiser(spec);
  parentPort!.on('message', async (m: { x: Float32Array; t: number; batch: number }) => {
    const e = await d.eps(m.x, m.t, m.batch);
    parentPort!.postMessage(e);
  });
  parentPort!.postMessage('ready');
}

/** A Denoiser whose eps runs in a worker thread (x and ε are copied across). */
async function workerDenoiser(spec: ModelSpec): Promise<{ d: Denoiser; release: () => Promise<void> }> {
  // The worker registers tsx's loader, then imports this file (which serves eps requests).
  const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); })`;
  const w = new Worker(boot, { eval: true, workerData: spec });
  await new Promise<void>((res, rej) => {
    w.once('message', () => res());
    w.once('error', rej);
  });
  const pending: { res: (e: Float32Array) => void; rej: (e: unknown) => void }[] = [];
  w.on('message', (e: Float32Array) => pending.shift()?.res(e));
  w.on('error', (e) => pending.splice(0).forEach((p) => p.rej(e)));
  return {
    d: {
      eps: (x, t, batch) =>
        new Promise<Float32Array>((res, rej) => {
          pending.push({ res, rej });
          w.postMessage({ x, t, batch });
        }),
    },
    release: async () => {
      await w.terminate();
    },
  };
}

/**
 * AMDM (paper Algorithm 1, slerp fold, η·√d deviation, η_ddim = 0) with the active models of a
 * step evaluated together; same random streams as sampleAMDM so the results can be compared.
 */
async function amdmConcurrent(
  models: Denoiser[],
  schedule: NoiseSchedule,
  T: number,
  s: number,
  shape: number[],
  seed: number,
  eta: number,
  w: number,
) {
  const N = models.length;
  const dim = shape.reduce((a, b) => a * b, 1);
  const ts = timesteps(schedule, T);
  const xs = models.map((_, k) => {
    const x = new Float32Array(dim);
    gaussianRng(seed, k).fillNormal(x);
    return x;
  });
  const mus = models.map(() => new Float32Array(dim));
  const mixed = new Float32Array(dim);
  const calls = new Array<number>(N).fill(0);
  for (let i = 0; i < T; i++) {
    const c = ddimCoefficients(schedule, ts[i], prevTimestep(schedule, ts, i));
    const active = i < s ? models.map((_, k) => k) : [0];
    const eps = await Promise.all(active.map((k) => models[k].eps(xs[k], ts[i], 1)));
    active.forEach((k, j) => {
      calls[k]++;
      ddimStepInto(c, xs[k], eps[j], mus[k]);
    });
    if (i < s && N > 1) {
      mixed.set(mus[0]);
      for (let k = 1; k < N; k++) slerp([mixed, mus[k]], [w], mixed, dim);
      for (let k = 0; k < N; k++) deviate(mixed, mus[k], xs[k], { eta: eta * Math.sqrt(dim), dim });
    } else {
      xs[0].set(mus[0]);
    }
  }
  return { latents: xs[0], calls };
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const ms = (x: number) => x.toFixed(2);

async function main() {
  const { values } = parseArgs({
    options: {
      steps: { type: 'string', default: '20' },
      reps: { type: 'string', default: '3' },
      threads: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log('usage: npx tsx bench/onnx-overhead.ts [--steps 20] [--reps 3] [--threads N (default: all cores)]');
    return;
  }
  const T = Number(values.steps);
  const reps = Number(values.reps);
  const cores = Number(values.threads ?? os.availableParallelism());
  if (!Number.isInteger(T) || T < 2 || !Number.isInteger(reps) || reps < 1 || !Number.isInteger(cores) || cores < 1) {
    throw new RangeError('--steps must be an integer >= 2, --reps >= 1, --threads >= 1');
  }
  const schedule = makeSchedule();
  console.log(
    `# ONNX path overhead\n\nnode ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'}, ${cores} threads, T = ${T}, median of ${reps}\n`,
  );

  // Tiny fixture: real sd-tiny graphs (text width 32), text from its encoder graph is not needed:
  // random embeddings of the right shape are fed.
  const tiny = unetGraph({ seed: 1, timestep: 'float32-scalar', dtype: 'float32' }).encode().model;
  void textEncoderGraph;
  const emb = (n: number, seed: number) => seededUniform(seed)(n, 1);
  const tinySpec: ModelSpec = { bytes: tiny, cond: emb(77 * 32, 3), uncond: emb(77 * 32, 4), threads: cores };
  const medSpecs: ModelSpec[] = [1, 2, 3].map((k) => ({
    bytes: mediumUnet(10 + k),
    cond: emb(TEXT.L * TEXT.D, 20 + k),
    uncond: emb(TEXT.L * TEXT.D, 30 + k),
    threads: cores,
  }));

  console.log('## 1. Time outside session.run per DDIM step (one model, CFG batch of 2 rows)\n');
  console.log(
    markdownTable(['UNet', 'latent', 'step (ms)', 'session.run (ms)', 'outside (ms)', 'outside / step'], [], {
      textColumns: 6,
    }),
  );
  for (const [label, spec, shape] of [
    ['sd-tiny fixture', tinySpec, [4, 8, 8]],
    ['medium (2×MatMul, 64 MB)', medSpecs[0], [4, 64, 64]],
    [
      `large (${LARGE_BLOCKS} residual blocks of the medium one)`,
      { ...medSpecs[0], bytes: mediumUnet(11, LARGE_BLOCKS) },
      [4, 64, 64],
    ],
  ] as const) {
    const timer = { run: 0 };
    const { d, release } = await localDenoiser(spec, timer);
    await sampleDDIM1(d, schedule, 2, shape); // warm-up
    const step: number[] = [];
    const run: number[] = [];
    for (let r = 0; r < reps; r++) {
      timer.run = 0;
      const t0 = performance.now();
      await sampleDDIM1(d, schedule, T, shape);
      step.push((performance.now() - t0) / T);
      run.push(timer.run / T);
    }
    await release();
    const st = median(step);
    const rn = median(run);
    console.log(
      markdownRow([label, shape.join('×'), ms(st), ms(rn), ms(st - rn), `${((100 * (st - rn)) / st).toFixed(1)} %`]),
    );
  }

  console.log(`\n## 2. AMDM over medium ONNX models, s = T = ${T}\n`);
  console.log(
    markdownTable(['run', 'models', 'wall (ms)', 'wall / single', 'UNet calls', 'max abs Δ vs sequential'], [], {
      textColumns: 6,
    }),
  );
  const shape = [4, 64, 64];
  const single = await (async () => {
    const { d, release } = await localDenoiser(medSpecs[0]);
    await sampleDDIM1(d, schedule, 2, shape);
    const walls: number[] = [];
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      await sampleDDIM1(d, schedule, T, shape);
      walls.push(performance.now() - t0);
    }
    await release();
    return median(walls);
  })();
  console.log(markdownRow(['single (DDIM)', '1', ms(single), '1.00', String(T), '–']));
  for (const N of [2, 3]) {
    const specs = medSpecs.slice(0, N);
    const per = Math.max(1, Math.floor(cores / N));
    let ref!: Awaited<ReturnType<typeof sampleAMDM>>;
    // Sessions in the main thread with all cores each (idle intra-op pools keep spinning and
    // compete with the running one), then with cores / N threads each.
    for (const threads of [cores, per]) {
      const seq = await Promise.all(specs.map((s) => localDenoiser({ ...s, threads })));
      const run = () =>
        sampleAMDM({
          models: seq.map((m) => m.d),
          steps: T,
          aggregateSteps: T,
          shape,
          seed: 1,
          schedule,
          weights: AMDM_DEFAULTS.weight,
          eta: AMDM_DEFAULTS.eta,
          rule: AMDM_DEFAULTS.rule,
        });
      await run();
      const walls: number[] = [];
      for (let r = 0; r < reps; r++) {
        const t0 = performance.now();
        ref = await run();
        walls.push(performance.now() - t0);
      }
      await Promise.all(seq.map((m) => m.release()));
      const wSeq = median(walls);
      console.log(
        markdownRow([
          `sequential, main thread, ${N} sessions × ${threads} threads`,
          String(N),
          ms(wSeq),
          (wSeq / single).toFixed(2),
          `${ref.calls.join(' + ')} = ${ref.totalCalls}`,
          '–',
        ]),
      );
    }

    const conc = await Promise.all(specs.map((s) => workerDenoiser({ ...s, threads: per })));
    const runC = () =>
      amdmConcurrent(
        conc.map((m) => m.d),
        schedule,
        T,
        T,
        shape,
        1,
        AMDM_DEFAULTS.eta,
        AMDM_DEFAULTS.weight,
      );
    await runC();
    const wallsC: number[] = [];
    let res!: Awaited<ReturnType<typeof runC>>;
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      res = await runC();
      wallsC.push(performance.now() - t0);
    }
    await Promise.all(conc.map((m) => m.release()));
    let diff = 0;
    for (let i = 0; i < res.latents.length; i++) diff = Math.max(diff, Math.abs(res.latents[i] - ref.latents[i]));
    const wC = median(wallsC);
    console.log(
      markdownRow([
        `concurrent, ${N} workers × ${per} threads`,
        String(N),
        ms(wC),
        (wC / single).toFixed(2),
        `${res.calls.join(' + ')} = ${res.calls.reduce((a, b) => a + b, 0)}`,
        diff.toExponential(2),
      ]),
    );
  }
  await spinning(cores, reps);
}

async function spinning(cores: number, reps: number): Promise<void> {
  console.log('\n## 3. Sessions run in turn in one thread: intra-op spinning on / off\n');
  console.log(markdownTable(['allow_spinning', 'sessions in turn', 'ms per run'], [], { textColumns: 3 }));
  const d = 4 * 64 * 64;
  const h = 512;
  const model = (seed: number) => {
    const rnd = seededUniform(seed);
    const g = graphBuilder('pair');
    g.input('x', 'float32', [2, d]);
    const y = g.op('MatMul', [
      g.op('Tanh', [g.op('MatMul', ['x', g.f32([d, h], rnd(d * h, 0.01))])]),
      g.f32([h, d], rnd(h * d, 0.05)),
    ]);
    g.op('Identity', [y], undefined, 'out');
    g.output('out', 'float32', [2, d]);
    return g.encode().model;
  };
  const feeds = { x: new ort.Tensor('float32', new Float32Array(2 * d).fill(0.1), [2, d]) };
  for (const spin of ['1', '0']) {
    const ss: ort.InferenceSession[] = [];
    for (const k of [1, 2, 3]) {
      ss.push(
        await ort.InferenceSession.create(model(k), {
          intraOpNumThreads: cores,
          extra: { session: { intra_op: { allow_spinning: spin } } },
        }),
      );
    }
    for (const n of [1, 3]) {
      for (let w = 0; w < 2; w++) for (let k = 0; k < n; k++) await ss[k].run(feeds);
      const t0 = performance.now();
      for (let r = 0; r < 5 * reps; r++) for (let k = 0; k < n; k++) await ss[k].run(feeds);
      console.log(markdownRow([spin, String(n), ms((performance.now() - t0) / (5 * reps * n))]));
    }
    await Promise.all(ss.map((x) => x.release()));
  }
}

function sampleDDIM1(d: Denoiser, schedule: NoiseSchedule, T: number, shape: readonly number[]) {
  return sampleAMDM({ models: [d], steps: T, aggregateSteps: 0, shape, seed: 1, schedule });
}

if (isMainThread) {
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
