/** 4. Heap growth per step of the sampler's loop, measured in a child `node --expose-gc`. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import {
  RULES,
  ddimCoefficients,
  ddimStepInto,
  deviate,
  makeSchedule,
  sampleAMDM,
  type AggregationRule,
} from '../../src/core/index.ts';
import { checkNumber } from '../../src/core/validate.ts';
import { DIM, ETA, SHAPE, WEIGHT, type Options } from './options.ts';
import { makeModels, median, randn, symmetricWeights } from './measure.ts';

export interface HeapRow {
  rule: string;
  N: number;
  B: number;
  window: number;
  heapPerStep: number;
  arrayBuffersPerStep: number;
  latentBytes: number;
  gcs: number;
}

export interface AllocRow {
  what: string;
  bytesPerCall: number;
  windows: string;
}

/** Heap bytes per call of `fn` in steady state: 5 windows of `calls` calls after a full GC each;
 * the median of the last 3 is reported (the first windows still see JIT compilation). */
async function bytesPerCall(
  gc: () => void,
  fn: () => unknown,
  calls: number,
): Promise<{ bytes: number; windows: number[] }> {
  const windows: number[] = [];
  for (let w = 0; w < 5; w++) {
    gc();
    const h0 = process.memoryUsage().heapUsed;
    const r = fn();
    if (r instanceof Promise)
      await r; // an async piece loops `calls` times itself
    else for (let i = 1; i < calls; i++) fn();
    windows.push((process.memoryUsage().heapUsed - h0) / calls);
  }
  return { bytes: median(windows.slice(2)), windows };
}

/** The child's work: heap growth per step, then bytes per call of each piece; JSON on stdout. */
export async function heapChild(o: Options): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') throw new Error('the heap measurement needs node --expose-gc');
  const rows = await heapPerStep(o, gc);
  const calls = await bytesPerPiece(o, gc);
  process.stdout.write(JSON.stringify({ rows, calls }));
}

/** heapUsed and arrayBuffers growth per step of the sampler's loop (B = 1), with two controls. */
async function heapPerStep(o: Options, gc: () => void): Promise<HeapRow[]> {
  const gcTimes: number[] = [];
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcTimes.push(e.startTime);
  });
  obs.observe({ entryTypes: ['gc'] });
  const T = o.heapSteps;
  const first = 10,
    last = T - 10;
  const rows: HeapRow[] = [];
  const B = 1,
    n = B * DIM;
  // Controls that allocate on purpose: one latent-sized Float32Array, or one small array, per call.
  const controls: [string, AggregationRule][] = [
    [
      'control: slerp + 1 Float32Array(B·d) per call',
      Object.assign(
        (xs: readonly Float32Array[], w: readonly number[], out: Float32Array, dim: number) => {
          new Float32Array(out.length)[0] = 1;
          return RULES.slerp(xs, w, out, dim);
        },
        { ruleName: 'control-latent' },
      ),
    ],
    [
      'control: slerp + 1 small array [w] per call',
      Object.assign(
        (xs: readonly Float32Array[], w: readonly number[], out: Float32Array, dim: number) =>
          RULES.slerp(xs, [w[0]], out, dim),
        { ruleName: 'control-small' },
      ),
    ],
  ];
  const cases: [string, AggregationRule][] = [
    ...o.rules.map((r) => [r, RULES[r]] as [string, AggregationRule]),
    ...controls,
  ];
  for (const N of o.models) {
    const latents = Array.from({ length: N }, (_, k) => randn(n, 300 + k));
    for (const [name, rule] of cases) {
      let h0 = 0,
        a0 = 0,
        h1 = 0,
        a1 = 0,
        t0 = 0,
        t1 = 0;
      const models = makeModels(N, n, (step) => {
        if (step === first) {
          const m = process.memoryUsage();
          h0 = m.heapUsed;
          a0 = m.arrayBuffers;
          t0 = performance.now();
        }
        if (step === last) {
          t1 = performance.now();
          const m = process.memoryUsage();
          h1 = m.heapUsed;
          a1 = m.arrayBuffers;
        }
      });
      const run = () =>
        sampleAMDM({
          models,
          latents,
          shape: [...SHAPE],
          batch: B,
          steps: T,
          aggregateSteps: T,
          rule,
          eta: ETA,
          weights: WEIGHT,
        });
      await run(); // warm-up: JIT code lands on the heap too
      const heap: number[] = [],
        arrays: number[] = [];
      let gcs = 0;
      for (let r = 0; r < 3; r++) {
        gc();
        gcTimes.length = 0;
        await run();
        await new Promise((res) => setImmediate(res)); // let the observer deliver
        heap.push(h1 - h0);
        arrays.push(a1 - a0);
        gcs += gcTimes.filter((t) => t >= t0 && t <= t1).length;
      }
      const steps = last - first;
      rows.push({
        rule: name,
        N,
        B,
        window: steps,
        heapPerStep: median(heap) / steps,
        arrayBuffersPerStep: median(arrays) / steps,
        latentBytes: n * 4,
        gcs,
      });
    }
  }
  obs.disconnect();
  return rows;
}

/** Where the bytes come from: each piece of a step on its own (B = 1). */
async function bytesPerPiece(o: Options, gc: () => void): Promise<AllocRow[]> {
  const B = 1,
    n = B * DIM;
  const a = randn(n, 1),
    b = randn(n, 2),
    e = randn(n, 3),
    mean = new Float32Array(n),
    prev = new Float32Array(n),
    out = new Float32Array(n);
  const c = ddimCoefficients(makeSchedule(), 501, 451, 0);
  const dists = new Float64Array(B);
  const eta = ETA * Math.sqrt(DIM);
  const plain = new Float32Array(1);
  // options built once, as the sampler builds them once per run
  const stepOpts = { prev },
    deviateOpts = { eta, dim: DIM, distances: dists };
  let sink = 0;
  const pieces: [string, () => unknown, number][] = [
    [
      'no-op (harness floor)',
      () => {
        sink++;
      },
      20_000,
    ],
    [
      "checkNumber('eta', 1.5, 0)",
      () => {
        sink += checkNumber('eta', 1.5, 0);
      },
      20_000,
    ],
    ['ddimStepInto (mean + proposal)', () => ddimStepInto(c, a, e, mean, stepOpts), 2000],
    [
      'deviate',
      () => {
        deviate(a, b, out, deviateOpts);
      },
      2000,
    ],
  ];
  for (const r of o.rules) {
    const rule = RULES[r];
    if (rule.symmetric) {
      for (const N of o.models) {
        const xs = Array.from({ length: N }, (_, k) => randn(n, 10 + k)),
          w = symmetricWeights(N);
        pieces.push([
          `${r} (${N} inputs)`,
          () => {
            rule(xs, w, out, DIM);
          },
          50,
        ]);
      }
    } else {
      const xs = [a, b],
        w = [WEIGHT];
      pieces.push([
        r,
        () => {
          rule(xs, w, out, DIM);
        },
        2000,
      ]);
    }
  }
  const calls: AllocRow[] = [];
  for (const [what, fn, count] of pieces) {
    const r = await bytesPerCall(gc, fn, count);
    calls.push({ what, bytesPerCall: r.bytes, windows: r.windows.map((x) => x.toFixed(0)).join(' ') });
  }
  // `await` of a synchronous eps's plain return value, as the sampler's loop does, and the same
  // loop awaiting only promises
  const model = { eps: (_x: Float32Array, _t: number, _b: number): Float32Array | Promise<Float32Array> => plain };
  const K = 5000;
  const awaitAll = async () => {
    for (let i = 0; i < K; i++) {
      const r = await model.eps(a, i, 1);
      sink += r.length;
    }
  };
  const awaitPromises = async () => {
    for (let i = 0; i < K; i++) {
      const p = model.eps(a, i, 1);
      const r = p instanceof Promise ? await p : p;
      sink += r.length;
    }
  };
  for (const [what, fn] of [
    ['await of a synchronous eps result', awaitAll],
    ['the same loop awaiting only promises', awaitPromises],
  ] as const) {
    const r = await bytesPerCall(gc, fn, K);
    calls.push({ what, bytesPerCall: r.bytes, windows: r.windows.map((x) => x.toFixed(0)).join(' ') });
  }
  if (sink < 0) console.error(sink);
  return calls;
}

export function runHeap(
  o: Options,
  argv: string[],
): { rows: HeapRow[] | null; calls: AllocRow[] | null; why: string; command: string } {
  const self = fileURLToPath(new URL('../core-step.ts', import.meta.url));
  const tsx = import.meta.resolve('tsx');
  const nodeArgs = ['--expose-gc', '--max-semi-space-size=64'];
  const args = [...nodeArgs, '--import', tsx, self, '--heap-child', ...argv.filter((a) => a !== '--heap-child')];
  const command = `node ${nodeArgs.join(' ')} --import tsx bench/core-step.ts --heap-child`;
  const run = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 16 << 20 });
  if (run.status !== 0)
    return {
      rows: null,
      calls: null,
      why: `failed (exit ${run.status}): ${run.stderr.trim().split('\n').slice(-3).join(' | ')}`,
      command,
    };
  const res = JSON.parse(run.stdout) as { rows: HeapRow[]; calls: AllocRow[] };
  return { rows: res.rows, calls: res.calls, why: '', command };
}
