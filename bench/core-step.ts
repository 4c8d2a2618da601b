/**
 * Benchmark of the per-step AMDM math (paper Algorithm 1 without the models): DDIM step (eq. 4/6)
 * + aggregation rule (eq. 8: slerp; also lerp, nlerp, vp, sphericalMean) + deviation optimization
 * (eq. 9), for N models, a 4×64×64 latent and B samples, in ns per element — one latent value of
 * one model per step — so numbers for different N and B compare directly.
 *
 *  1. Kernels, timed directly on random inputs, on each kernel backend (js: the reference loops,
 *     wasm: the SIMD kernels) with the backend's own buffers: ddimStepInto, each rule, deviate
 *     (ns per value of the B·d output of one call); and the copy bandwidth (Float32Array.set of
 *     B·d values) that bounds them: the roofline columns give the bytes each kernel moves per
 *     element and the share of that bound it reaches.
 *  2. `sampleAMDM` with zero-cost denoisers (their `eps` returns a preallocated buffer) over
 *     `--steps` steps with s = steps, so every step aggregates. The per-step time is read between
 *     the target's model calls of step 1 and step T−1 (the set-up before step 0 and the result
 *     after the last step are outside the window); median of `--reps` runs after `--warmup` runs.
 *     The split: N·ddimStepInto and N·deviate from (1), the rule timed inside the sampler by a
 *     wrapper (its cost depends on the inputs: sphericalMean iterates), "other" = the rest
 *     (the sampler's non-finite scans of ε and x′, the copy of the target's proposal, awaits).
 *  3. The same math in PyTorch (bench/torch_step.py, float32, 1 thread and all cores), when
 *     /usr/bin/python3 (or --python) imports torch; the speed-up torch time / wasm time.
 *  Parts 1–3 repeat in `--rounds` interleaved rounds (js, wasm, torch, js, wasm, torch, …) and
 *  each number is the median over the rounds, so that a busy spell of a shared machine hits all
 *  three alike.
 *  4. Heap growth per step of the sampler's loop, in a child `node --expose-gc` with a large young
 *     generation: heapUsed and arrayBuffers read at the target's call of step 10 and of step
 *     T−10, compared with the size of one latent; two control rules that allocate on purpose
 *     show that the measurement sees allocations.
 *
 * Run: `npm run bench` (= tsx bench/core-step.ts); `--help` lists the options. Output is Markdown.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import {
  RULES,
  ddimCoefficients,
  ddimStepInto,
  deviate,
  foldWeightsToSymmetric,
  gaussianRng,
  makeSchedule,
  sampleAMDM,
  type AggregationRule,
  type Denoiser,
  type RuleName,
} from '../src/core/index.ts';
import { checkNumber } from '../src/core/validate.ts';
import { BACKEND_NAMES, resolveBackend, type BackendName, type KernelBackend } from '../src/core/backend.ts';
import { markdownTable } from '../src/jobs/table.ts';

const SHAPE = [4, 64, 64] as const;
const DIM = SHAPE[0] * SHAPE[1] * SHAPE[2];
const WEIGHT = 0.5; // the sampler's default w
const ETA = 0.3; // the sampler's default η, scaled by √d ('sqrtDim')
const TORCH_RULES: readonly RuleName[] = ['slerp', 'lerp', 'nlerp', 'vp'];

interface Options {
  rounds: number;
  backends: BackendName[];
  reps: number;
  warmup: number;
  steps: number;
  models: number[];
  batches: number[];
  rules: RuleName[];
  kernelMs: number;
  heapSteps: number;
  python: string;
  torch: boolean;
  heap: boolean;
}

const USAGE = `usage: tsx bench/core-step.ts [options]
  --rounds N        interleaved rounds of js, wasm and torch, median reported (default 3)
  --backends LIST   kernel backends (default js,wasm)
  --reps N          timed repetitions per round, median reported (default 5)
  --warmup N        untimed runs first (default 2)
  --steps T         DDIM steps per sampler run, all aggregated (default 20, ≥ 4)
  --models LIST     model counts N (default 2,3)
  --batches LIST    batch sizes B (default 1,8)
  --rules LIST      rules (default slerp,lerp,nlerp,vp,sphericalMean)
  --kernel-ms MS    length of one timed kernel sample (default 10)
  --heap-steps T    steps of the heap measurement (default 100, 40…120: with
                    a fixed ε, vp's norm grows ~1.4× per fold stage and overflows later)
  --python PATH     interpreter with torch (default /usr/bin/python3)
  --no-torch        skip the PyTorch comparison
  --no-heap         skip the heap measurement
  --quick           a fast smoke run (rounds 1, reps 1, warmup 1, steps 6, kernel-ms 2, heap-steps 60)`;

function parseOptions(argv: string[]): Options & { heapChild: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      rounds: { type: 'string' },
      backends: { type: 'string' },
      reps: { type: 'string' },
      warmup: { type: 'string' },
      steps: { type: 'string' },
      models: { type: 'string' },
      batches: { type: 'string' },
      rules: { type: 'string' },
      'kernel-ms': { type: 'string' },
      'heap-steps': { type: 'string' },
      python: { type: 'string' },
      'no-torch': { type: 'boolean' },
      'no-heap': { type: 'boolean' },
      quick: { type: 'boolean' },
      'heap-child': { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const q = values.quick === true;
  const int = (name: string, v: string | undefined, dflt: number, min: number, max: number): number => {
    if (v === undefined) return dflt;
    const x = Number(v);
    if (!Number.isInteger(x) || x < min || x > max) throw new RangeError(`--${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
    return x;
  };
  const list = (name: string, v: string | undefined, dflt: number[], min: number, max: number): number[] =>
    v === undefined ? dflt : v.split(',').map((s) => int(name, s.trim(), 0, min, max));
  const ruleNames = Object.keys(RULES) as RuleName[];
  const rules = (values.rules ?? ruleNames.join(',')).split(',').map((r) => r.trim());
  for (const r of rules) {
    if (!(ruleNames as string[]).includes(r)) throw new RangeError(`--rules must be a comma list of ${ruleNames.join(', ')}, got ${JSON.stringify(r)}`);
  }
  const backends = (values.backends ?? BACKEND_NAMES.join(',')).split(',').map((b) => b.trim());
  for (const b of backends) {
    if (!(BACKEND_NAMES as readonly string[]).includes(b)) throw new RangeError(`--backends must be a comma list of ${BACKEND_NAMES.join(', ')}, got ${JSON.stringify(b)}`);
  }
  return {
    rounds: int('rounds', values.rounds, q ? 1 : 3, 1, 100),
    backends: backends as BackendName[],
    reps: int('reps', values.reps, q ? 1 : 5, 1, 1000),
    warmup: int('warmup', values.warmup, q ? 1 : 2, 0, 1000),
    steps: int('steps', values.steps, q ? 6 : 20, 4, 1000),
    models: list('models', values.models, [2, 3], 2, 16),
    batches: list('batches', values.batches, [1, 8], 1, 64),
    rules: rules as RuleName[],
    kernelMs: int('kernel-ms', values['kernel-ms'], q ? 2 : 10, 1, 10_000),
    heapSteps: int('heap-steps', values['heap-steps'], q ? 60 : 100, 40, 120),
    python: values.python ?? '/usr/bin/python3',
    torch: values['no-torch'] !== true,
    heap: values['no-heap'] !== true,
    heapChild: values['heap-child'] === true,
  };
}

// ---------------------------------------------------------------------------------------------
// Inputs and timing helpers

function randn(n: number, stream: number): Float32Array {
  const x = new Float32Array(n);
  gaussianRng(1234, stream).fillNormal(x);
  return x;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** One row per key, each numeric field the median over the rows with that key (first-seen order). */
function medianRows<T extends object>(rows: T[], key: (r: T) => string): T[] {
  const groups = new Map<string, T[]>();
  for (const r of rows) { const k = key(r); if (!groups.has(k)) groups.set(k, []); groups.get(k)!.push(r); }
  return [...groups.values()].map((g) => {
    const res = { ...g[0] } as Record<string, unknown>;
    for (const [field, v] of Object.entries(g[0])) if (typeof v === 'number') res[field] = median(g.map((r) => (r as Record<string, number>)[field]));
    return res as T;
  });
}

/** Wall clock and this process's CPU time (all threads; a busy machine disturbs it less), in ns. */
interface Timing { wall: number; cpu: number }

/** Process CPU time in ms (user + system). */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Median ns per call of `fn`; each timed sample repeats it for about `minMs`. */
function timeCalls(fn: () => void, reps: number, warmup: number, minMs: number): Timing {
  let calls = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) fn();
    const dt = performance.now() - t0;
    if (dt >= minMs / 4 || calls >= 1 << 20) {
      calls = Math.max(1, Math.ceil((calls * minMs) / Math.max(dt, 1e-3)));
      break;
    }
    calls *= 4;
  }
  for (let w = 0; w < warmup; w++) for (let i = 0; i < calls; i++) fn();
  const wall: number[] = [], cpu: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now(), c0 = cpuMs();
    for (let i = 0; i < calls; i++) fn();
    wall.push(((performance.now() - t0) * 1e6) / calls);
    cpu.push(((cpuMs() - c0) * 1e6) / calls);
  }
  return { wall: median(wall), cpu: median(cpu) };
}

/** Weights a symmetric rule gets from the fold weights [w, w, …] (what the sampler passes). */
function symmetricWeights(N: number): number[] {
  return foldWeightsToSymmetric(new Array<number>(N - 1).fill(WEIGHT));
}

// ---------------------------------------------------------------------------------------------
// 1. Kernels

/** ns per element of one call. */
interface KernelRow { kernel: string; B: number; backend: BackendName; wall: number; cpu: number }

/** Bytes a kernel reads and writes per element (the wasm passes; the js loops move the same). */
const KERNEL_BYTES: Record<string, number> = {
  ddimStepInto: 16, // x, ε in; μ and the proposal out
  deviate: 20, // distance pass: x′, μ in; step pass: x′, μ in, x out
  slerp: 20, // dot pass: a, b in; combine pass: a, b in, out
  nlerp: 20, // sums pass, combine pass
  lerp: 12,
  vp: 12,
  copy: 8,
};
const COPY = 'copy';

/** Random values in `k`'s own buffers (used in place by its kernels). */
function randnIn(k: KernelBackend, n: number, streams: number[]): Float32Array[] {
  const bufs = k.buffers(streams.length, n);
  streams.forEach((st, i) => gaussianRng(1234, st).fillNormal(bufs[i]));
  return bufs;
}

function benchKernels(o: Options, backend: BackendName): KernelRow[] {
  const k = resolveBackend(backend);
  const schedule = makeSchedule();
  const c = ddimCoefficients(schedule, 501, 451, 0);
  const rows: KernelRow[] = [];
  for (const B of o.batches) {
    const n = B * DIM;
    const [a, b, e, mean, prev, out] = randnIn(k, n, [1, 2, 3, 4, 5, 6]);
    const dists = new Float64Array(B);
    const eta = ETA * Math.sqrt(DIM);
    const add = (kernel: string, fn: () => void) => {
      const t = timeCalls(fn, o.reps, o.warmup, o.kernelMs);
      rows.push({ kernel, B, backend, wall: t.wall / n, cpu: t.cpu / n });
    };
    // the bound: one read and one write per element, as fast as the runtime copies
    add(COPY, () => out.set(a));
    // as the sampler calls it: mean and proposal written, η_ddim = 0
    add('ddimStepInto', () => ddimStepInto(c, a, e, mean, prev, null, null, k));
    add('deviate', () => { deviate(a, b, eta, out, DIM, dists, false, k); });
    for (const r of o.rules) {
      const rule = RULES[r];
      if (rule.symmetric) {
        for (const N of o.models) {
          const xs = randnIn(k, n, Array.from({ length: N }, (_, j) => 10 + j));
          const w = symmetricWeights(N);
          add(`${r} (${N} inputs)`, () => { rule(xs, w, out, DIM, k); });
        }
      } else {
        const xs = [a, b], w = [WEIGHT];
        add(r, () => { rule(xs, w, out, DIM, k); });
      }
    }
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// 2. The sampler

interface StepRow {
  rule: RuleName; N: number; B: number; backend: BackendName;
  /** ns per element (one latent value of one model per step): the sampler's wall and CPU time. */
  wall: number; cpu: number;
  /** The CPU-time split: N·ddimStepInto, the rule (in the sampler), N·deviate, the rest. */
  ddim: number; ruleShare: number; deviate: number; other: number;
}

/** Zero-cost denoisers: `eps` returns a preallocated buffer; the target's calls `onTarget(step)`. */
function makeModels(N: number, n: number, onTarget?: (step: number) => void): Denoiser[] {
  return Array.from({ length: N }, (_, k) => {
    const eps = randn(n, 100 + k);
    let step = 0, lastT = -1;
    return {
      name: `zero-cost ${k}`,
      eps(_x: Float32Array, t: number): Float32Array {
        if (k === 0) {
          if (t > lastT) step = 0; // timesteps fall within a run: a rise starts a new run
          lastT = t;
          if (onTarget) onTarget(step);
          step++;
        }
        return eps;
      },
    };
  });
}

async function runSampler(models: Denoiser[], latents: Float32Array[], B: number, steps: number, rule: AggregationRule, backend: BackendName): Promise<void> {
  await sampleAMDM({ models, latents, shape: [...SHAPE], batch: B, steps, aggregateSteps: steps, rule, weights: WEIGHT, eta: ETA, backend });
}

/** A rule that forwards to `rule` and adds the CPU time of each call to `acc[0]` (ms). */
function timedRule(rule: AggregationRule, acc: Float64Array): AggregationRule {
  const fn: AggregationRule = (xs, w, out, dim, kernels) => {
    const c0 = cpuMs();
    const res = rule(xs, w, out, dim, kernels);
    acc[0] += cpuMs() - c0;
    return res;
  };
  return Object.assign(fn, { symmetric: rule.symmetric === true, ruleName: rule.ruleName ?? 'rule' });
}

async function benchSampler(o: Options, kernels: KernelRow[], backend: BackendName): Promise<StepRow[]> {
  const rows: StepRow[] = [];
  const T = o.steps;
  for (const B of o.batches) {
    const n = B * DIM;
    const kernel = (name: string) => kernels.find((r) => r.kernel === name && r.B === B && r.backend === backend)!.cpu * n;
    for (const N of o.models) {
      const latents = Array.from({ length: N }, (_, k) => randn(n, 200 + k));
      let w0 = 0, w1 = 0, c0 = 0, c1 = 0;
      const models = makeModels(N, n, (step) => {
        if (step === 1) { w0 = performance.now(); c0 = cpuMs(); }
        if (step === T - 1) { w1 = performance.now(); c1 = cpuMs(); }
      });
      for (const r of o.rules) {
        const rule = RULES[r];
        const wall: number[] = [], cpu: number[] = [];
        for (let i = 0; i < o.warmup + o.reps; i++) {
          await runSampler(models, latents, B, T, rule, backend);
          if (i >= o.warmup) {
            wall.push(((w1 - w0) * 1e6) / (T - 2));
            cpu.push(((c1 - c0) * 1e6) / (T - 2));
          }
        }
        // the rule's own time, measured in the sampler's calls (same window as above)
        const acc = new Float64Array(1);
        let inWindow = 0;
        const ruleSamples: number[] = [];
        const stampModels = makeModels(N, n, (step) => {
          if (step === 1) acc[0] = 0;
          if (step === T - 1) inWindow = acc[0];
        });
        const wrapped = timedRule(rule, acc);
        for (let i = 0; i < Math.min(3, o.reps); i++) {
          await runSampler(stampModels, latents, B, T, wrapped, backend);
          ruleSamples.push((inWindow * 1e6) / (T - 2));
        }
        const perElement = 1 / (N * n);
        const cpuPer = median(cpu) * perElement;
        const ddim = N * kernel('ddimStepInto') * perElement;
        const dev = N * kernel('deviate') * perElement;
        const ruleShare = median(ruleSamples) * perElement;
        rows.push({ rule: r, N, B, backend, wall: median(wall) * perElement, cpu: cpuPer, ddim, ruleShare, deviate: dev, other: cpuPer - ddim - ruleShare - dev });
      }
    }
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// 3. PyTorch

interface TorchResult {
  torch: string;
  threads: number[];
  results: ({ kind: 'kernel'; kernel: string; threads: number; B: number; wall: number; cpu: number } |
    { kind: 'step'; rule: string; N: number; threads: number; B: number; wall: number; cpu: number })[];
}

function runTorch(o: Options): { result: TorchResult | null; why: string } {
  if (!o.torch) return { result: null, why: 'skipped (--no-torch)' };
  if (!existsSync(o.python)) return { result: null, why: `skipped: ${o.python} not found (Debian: apt-get install -y python3-torch)` };
  const probe = spawnSync(o.python, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    const msg = (probe.stderr || probe.error?.message || '').trim().split('\n').pop();
    return { result: null, why: `skipped: ${o.python} cannot import torch (${msg}); Debian: apt-get install -y python3-torch` };
  }
  const script = fileURLToPath(new URL('./torch_step.py', import.meta.url));
  const rules = o.rules.filter((r) => TORCH_RULES.includes(r));
  const args = [
    script, '--shape', SHAPE.join(','), '--models', o.models.join(','), '--batches', o.batches.join(','),
    '--rules', rules.join(','), '--steps', String(o.steps), '--reps', String(o.reps), '--warmup', String(Math.min(1, o.warmup)),
    '--threads', `1,${os.cpus().length}`, '--eta', String(ETA), '--weight', String(WEIGHT), '--kernel-ms', String(o.kernelMs),
  ];
  const run = spawnSync(o.python, args, { encoding: 'utf8', maxBuffer: 16 << 20 });
  if (run.status !== 0) return { result: null, why: `failed: ${o.python} ${args.join(' ')} exited ${run.status}: ${run.stderr.trim().split('\n').pop()}` };
  return { result: JSON.parse(run.stdout) as TorchResult, why: '' };
}

// ---------------------------------------------------------------------------------------------
// 4. Heap growth per step (runs in a child node with --expose-gc)

interface HeapRow {
  rule: string; N: number; B: number; window: number;
  heapPerStep: number; arrayBuffersPerStep: number; latentBytes: number; gcs: number;
}

interface AllocRow { what: string; bytesPerCall: number; windows: string }

/** Heap bytes per call of `fn` in steady state: 5 windows of `calls` calls after a full GC each;
 * the median of the last 3 is reported (the first windows still see JIT compilation). */
async function bytesPerCall(gc: () => void, fn: () => unknown, calls: number): Promise<{ bytes: number; windows: number[] }> {
  const windows: number[] = [];
  for (let w = 0; w < 5; w++) {
    gc();
    const h0 = process.memoryUsage().heapUsed;
    const r = fn();
    if (r instanceof Promise) await r; // an async piece loops `calls` times itself
    else for (let i = 1; i < calls; i++) fn();
    windows.push((process.memoryUsage().heapUsed - h0) / calls);
  }
  return { bytes: median(windows.slice(2)), windows };
}

async function heapChild(o: Options): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') throw new Error('the heap measurement needs node --expose-gc');
  const gcTimes: number[] = [];
  const obs = new PerformanceObserver((list) => { for (const e of list.getEntries()) gcTimes.push(e.startTime); });
  obs.observe({ entryTypes: ['gc'] });
  const T = o.heapSteps;
  const first = 10, last = T - 10;
  const rows: HeapRow[] = [];
  const B = 1, n = B * DIM;
  // Controls that allocate on purpose: one latent-sized Float32Array, or one small array, per call.
  const controls: [string, AggregationRule][] = [
    ['control: slerp + 1 Float32Array(B·d) per call', Object.assign(
      (xs: readonly Float32Array[], w: readonly number[], out: Float32Array, dim: number) => { new Float32Array(out.length)[0] = 1; return RULES.slerp(xs, w, out, dim); },
      { ruleName: 'control-latent' })],
    ['control: slerp + 1 small array [w] per call', Object.assign(
      (xs: readonly Float32Array[], w: readonly number[], out: Float32Array, dim: number) => RULES.slerp(xs, [w[0]], out, dim),
      { ruleName: 'control-small' })],
  ];
  const cases: [string, AggregationRule][] = [...o.rules.map((r) => [r, RULES[r]] as [string, AggregationRule]), ...controls];
  for (const N of o.models) {
    const latents = Array.from({ length: N }, (_, k) => randn(n, 300 + k));
    for (const [name, rule] of cases) {
      let h0 = 0, a0 = 0, h1 = 0, a1 = 0, t0 = 0, t1 = 0;
      const models = makeModels(N, n, (step) => {
        if (step === first) { const m = process.memoryUsage(); h0 = m.heapUsed; a0 = m.arrayBuffers; t0 = performance.now(); }
        if (step === last) { t1 = performance.now(); const m = process.memoryUsage(); h1 = m.heapUsed; a1 = m.arrayBuffers; }
      });
      const run = () => sampleAMDM({ models, latents, shape: [...SHAPE], batch: B, steps: T, aggregateSteps: T, rule, eta: ETA, weights: WEIGHT });
      await run(); // warm-up: JIT code lands on the heap too
      const heap: number[] = [], arrays: number[] = [];
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
        rule: name, N, B, window: steps,
        heapPerStep: median(heap) / steps,
        arrayBuffersPerStep: median(arrays) / steps,
        latentBytes: n * 4,
        gcs,
      });
    }
  }
  obs.disconnect();

  // Where the bytes come from: each piece of a step on its own (B = 1).
  const a = randn(n, 1), b = randn(n, 2), e = randn(n, 3), mean = new Float32Array(n), prev = new Float32Array(n), out = new Float32Array(n);
  const c = ddimCoefficients(makeSchedule(), 501, 451, 0);
  const dists = new Float64Array(B);
  const eta = ETA * Math.sqrt(DIM);
  const plain = new Float32Array(1);
  let sink = 0;
  const pieces: [string, () => unknown, number][] = [
    ['no-op (harness floor)', () => { sink++; }, 20_000],
    ["checkNumber('eta', 1.5, 0)", () => { sink += checkNumber('eta', 1.5, 0); }, 20_000],
    ['ddimStepInto (mean + proposal)', () => ddimStepInto(c, a, e, mean, prev, null, null), 2000],
    ['deviate', () => { deviate(a, b, eta, out, DIM, dists); }, 2000],
  ];
  for (const r of o.rules) {
    const rule = RULES[r];
    if (rule.symmetric) {
      for (const N of o.models) {
        const xs = Array.from({ length: N }, (_, k) => randn(n, 10 + k)), w = symmetricWeights(N);
        pieces.push([`${r} (${N} inputs)`, () => { rule(xs, w, out, DIM); }, 50]);
      }
    } else {
      const xs = [a, b], w = [WEIGHT];
      pieces.push([r, () => { rule(xs, w, out, DIM); }, 2000]);
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
  const awaitAll = async () => { for (let i = 0; i < K; i++) { const r = await model.eps(a, i, 1); sink += r.length; } };
  const awaitPromises = async () => {
    for (let i = 0; i < K; i++) { const p = model.eps(a, i, 1); const r = p instanceof Promise ? await p : p; sink += r.length; }
  };
  for (const [what, fn] of [['await of a synchronous eps result', awaitAll], ['the same loop awaiting only promises', awaitPromises]] as const) {
    const r = await bytesPerCall(gc, fn, K);
    calls.push({ what, bytesPerCall: r.bytes, windows: r.windows.map((x) => x.toFixed(0)).join(' ') });
  }
  if (sink < 0) console.error(sink);
  process.stdout.write(JSON.stringify({ rows, calls }));
}

function runHeap(o: Options, argv: string[]): { rows: HeapRow[] | null; calls: AllocRow[] | null; why: string; command: string } {
  const self = fileURLToPath(import.meta.url);
  const tsx = import.meta.resolve('tsx');
  const nodeArgs = ['--expose-gc', '--max-semi-space-size=64'];
  const args = [...nodeArgs, '--import', tsx, self, '--heap-child', ...argv.filter((a) => a !== '--heap-child')];
  const command = `node ${nodeArgs.join(' ')} --import tsx bench/core-step.ts --heap-child`;
  const run = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 16 << 20 });
  if (run.status !== 0) return { rows: null, calls: null, why: `failed (exit ${run.status}): ${run.stderr.trim().split('\n').slice(-3).join(' | ')}`, command };
  const res = JSON.parse(run.stdout) as { rows: HeapRow[]; calls: AllocRow[] };
  return { rows: res.rows, calls: res.calls, why: '', command };
}

// ---------------------------------------------------------------------------------------------
// Report

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) return m[1].trim();
  } catch { /* not Linux */ }
  return os.cpus()[0]?.model ?? 'unknown';
}

const f = (x: number, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : '—');

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const o = parseOptions(argv);
  if (o.heapChild) return heapChild(o);
  const started = performance.now();
  const viaNpm = process.env.npm_lifecycle_event === 'bench';
  const cmd = `${viaNpm ? 'npm run bench' : 'npx tsx bench/core-step.ts'}${argv.length ? `${viaNpm ? ' --' : ''} ${argv.join(' ')}` : ''}`;
  const cores = os.cpus().length;
  const loadavg = () => os.loadavg().map((x) => x.toFixed(2)).join(' / ');
  const loadStart = loadavg();

  const lap = (() => { let t = performance.now(); return () => { const now = performance.now(), dt = (now - t) / 1000; t = now; return dt; }; })();
  // interleaved rounds: js, wasm, torch, js, wasm, torch, …; medians over the rounds
  const kernelRuns: KernelRow[] = [], stepRuns: StepRow[] = [], torchRuns: TorchResult[] = [];
  let torchWhy = '';
  let tKernels = 0, tSampler = 0, tTorch = 0;
  for (let round = 0; round < o.rounds; round++) {
    for (const b of o.backends) {
      lap();
      const k = benchKernels(o, b);
      kernelRuns.push(...k);
      tKernels += lap();
      stepRuns.push(...(await benchSampler(o, k, b)));
      tSampler += lap();
    }
    const t = runTorch(o);
    if (t.result) torchRuns.push(t.result);
    else torchWhy = t.why;
    tTorch += lap();
  }
  const kernels = medianRows(kernelRuns, (r) => `${r.kernel}|${r.B}|${r.backend}`);
  const steps = medianRows(stepRuns, (r) => `${r.rule}|${r.N}|${r.B}|${r.backend}`);
  const tr: TorchResult | null = torchRuns.length
    ? { ...torchRuns[0], results: medianRows(torchRuns.flatMap((t) => t.results), (r) => `${r.kind}|${r.kind === 'kernel' ? r.kernel : r.rule}|${r.kind === 'step' ? r.N : ''}|${r.threads}|${r.B}`) }
    : null;
  lap();
  const heap = o.heap ? runHeap(o, argv) : { rows: null, calls: null, why: 'skipped (--no-heap)', command: '' };
  const tHeap = lap();

  const threadsAll = tr ? Math.max(...tr.threads) : cores;
  type TorchRow = TorchResult['results'][number];
  const tk = (kernel: string, B: number, threads: number): TorchRow | undefined =>
    tr?.results.find((r) => r.kind === 'kernel' && r.kernel === kernel && r.B === B && r.threads === threads);
  const ts = (rule: string, N: number, B: number, threads: number): TorchRow | undefined =>
    tr?.results.find((r) => r.kind === 'step' && r.rule === rule && r.N === N && r.B === B && r.threads === threads);
  const torchKernel = (k: string) => (k === 'ddimStepInto' ? 'ddim' : k);
  const kr = (kernel: string, B: number, backend: BackendName) => kernels.find((r) => r.kernel === kernel && r.B === B && r.backend === backend);
  const sr = (rule: string, N: number, B: number, backend: BackendName) => steps.find((r) => r.rule === rule && r.N === N && r.B === B && r.backend === backend);
  const fast: BackendName = o.backends.includes('wasm') ? 'wasm' : o.backends[0];
  /** GB/s of the copy (8 bytes per element) at batch B, on the fast backend's buffers. */
  const copyGBs = (B: number) => { const c = kr(COPY, B, fast); return c ? KERNEL_BYTES.copy / c.cpu : NaN; };
  /** Share of the copy bound reached by a time of `ns` per element moving `bytes` per element. */
  const ofBound = (bytes: number | undefined, ns: number, B: number) => (bytes === undefined ? '—' : `${f((100 * bytes) / copyGBs(B) / ns, 0)} %`);
  const speedup = (torchNs: number | undefined, ns: number | undefined) => (torchNs === undefined || ns === undefined ? '—' : `${f(torchNs / ns)}×`);

  const out: string[] = [];
  out.push('## Machine and command', '');
  out.push(`- command: \`${cmd}\``);
  out.push(`- CPU: ${cpuModel()}, ${cores} cores (os.cpus); load average at start ${loadStart}, at end ${loadavg()}`);
  out.push(`- Node ${process.version} (V8 ${process.versions.v8}), ${os.type()} ${os.release()} ${os.arch()}`);
  out.push(`- PyTorch: ${tr ? `${tr.torch} via ${o.python}, threads ${tr.threads.join(' and ')}` : torchWhy}`);
  out.push(`- latent ${SHAPE.join('×')} (d = ${DIM}), w = ${WEIGHT}, η = ${ETA}·√d, η_ddim = 0; ${o.steps} steps with s = ${o.steps}; ${o.rounds} interleaved rounds (${[...o.backends, 'torch'].join(', ')}), each the median of ${o.reps} after ${o.warmup} warm-up; the median over the rounds`);
  out.push('- "cpu": the process\'s CPU time (all its threads), which other work on the machine disturbs less; "wall": the wall clock. The kernels are single-threaded, so the 1-thread comparison uses CPU time and the all-cores one wall time.');
  out.push(`- roofline: copy bandwidth (Float32Array.set of B·d values in the ${fast} backend's memory, 8 B per element) ${o.batches.map((B) => `${f(copyGBs(B), 1)} GB/s at B = ${B}`).join(', ')}; "bound" = the share of that bandwidth a kernel reaches for the bytes it must move`);
  out.push('');
  const thN = `torch ${threadsAll} thr wall`;
  const jsOn = o.backends.includes('js'), wasmOn = o.backends.includes('wasm');
  out.push('## Kernels: ns per element of one call (element = one value of the B·d output)', '');
  out.push(markdownTable(['kernel', 'B', 'bytes/el', 'js cpu', 'wasm cpu', 'torch 1 thr cpu', 'wasm speed-up vs torch 1', 'wasm bound', 'wasm wall', thN, `speed-up vs torch ${threadsAll}`],
    kernels.filter((r) => r.backend === fast).map((r) => {
      const t1 = tk(torchKernel(r.kernel), r.B, 1), tn = tk(torchKernel(r.kernel), r.B, threadsAll);
      const j = jsOn ? kr(r.kernel, r.B, 'js') : undefined, w = wasmOn ? kr(r.kernel, r.B, 'wasm') : undefined;
      const bytes = KERNEL_BYTES[r.kernel];
      return [r.kernel, String(r.B), bytes === undefined ? '—' : String(bytes), f(j?.cpu ?? NaN), f(w?.cpu ?? NaN), f(t1?.cpu ?? NaN), speedup(t1?.cpu, w?.cpu),
        w ? ofBound(bytes, w.cpu, r.B) : '—', f(w?.wall ?? NaN), f(tn?.wall ?? NaN), speedup(tn?.wall, w?.wall)];
    })));
  out.push('');
  out.push('## One aggregated AMDM step: ns per element (one latent value of one model per step)', '');
  out.push('`sampleAMDM` with zero-cost denoisers, CPU time, on each backend, with the wasm split: N·ddimStepInto and N·deviate (kernel table), the rule (timed inside the sampler), other = the rest (staging each ε into the backend\'s memory, the non-finite scans of ε and x′, the copy of the target\'s proposal). µs/step = cpu × N·B·d. bytes/el = what a step must move per element on wasm: ε staged (8) and scanned (4), DDIM (16), eq. 9 (20), and per model 1/N of the rule\'s passes over N − 1 pairs, the copy (8) and scan (4) of x′.', '');
  const stepBytes = (rule: string, N: number) => (KERNEL_BYTES[rule] === undefined ? undefined : 8 + 4 + 16 + 20 + ((N - 1) * KERNEL_BYTES[rule] + 8 + 4) / N);
  out.push(markdownTable(['rule', 'N', 'B', 'bytes/el', 'js cpu', 'wasm cpu', 'wasm µs/step', 'ddim', 'rule', 'deviate', 'other', 'torch 1 thr cpu', 'wasm speed-up vs torch 1', 'js speed-up vs torch 1', 'wasm bound', 'wasm wall', thN, `speed-up vs torch ${threadsAll}`],
    steps.filter((r) => r.backend === fast).map((r) => {
      const t1 = ts(r.rule, r.N, r.B, 1), tn = ts(r.rule, r.N, r.B, threadsAll);
      const j = jsOn ? sr(r.rule, r.N, r.B, 'js') : undefined;
      const bytes = stepBytes(r.rule, r.N);
      const us = (r.cpu * r.N * r.B * DIM) / 1000;
      return [r.rule, String(r.N), String(r.B), bytes === undefined ? '—' : f(bytes, 0), f(j?.cpu ?? NaN), f(r.cpu), f(us, 0), f(r.ddim), f(r.ruleShare), f(r.deviate), f(r.other),
        f(t1?.cpu ?? NaN), speedup(t1?.cpu, r.cpu), speedup(t1?.cpu, j?.cpu), ofBound(bytes, r.cpu, r.B), f(r.wall), f(tn?.wall ?? NaN), speedup(tn?.wall, r.wall)];
    })));
  if (tr && o.rules.includes('sphericalMean')) out.push('', 'sphericalMean has no PyTorch counterpart here (an iterative Karcher mean; its cost depends on the inputs).');
  out.push('');
  out.push('## Heap growth of the sampler loop per step (B = 1)', '');
  if (heap.rows) {
    out.push(`\`${heap.command}\`: heapUsed and arrayBuffers read at the target's model call of steps 10 and ${o.heapSteps - 10} of ${o.heapSteps} (all aggregated); 1 warm-up run, then 3 runs each after a full GC, median; "GCs" counts collections inside the 3 windows (0: nothing was reclaimed, so the delta is all that was allocated).`, '');
    out.push(markdownTable(['rule', 'N', 'steps', 'heap B/step', 'arrayBuffers B/step', 'one latent (B)', 'heap / latent', 'GCs'],
      heap.rows.map((r) => [r.rule, String(r.N), String(r.window), f(r.heapPerStep, 1), f(r.arrayBuffersPerStep, 1), String(r.latentBytes),
        f(r.heapPerStep / r.latentBytes, 5), String(r.gcs)])));
    if (heap.calls) {
      out.push('', 'Heap bytes per call of each piece on its own (B = 1; 5 windows after a full GC each, median of the last 3; the first windows include JIT code):', '');
      out.push(markdownTable(['call', 'B/call', 'windows'], heap.calls.map((r) => [r.what, f(r.bytesPerCall, 1), r.windows])));
    }
  } else {
    out.push(`Heap measurement ${heap.why}`);
  }
  out.push('', `Bench time ${f((performance.now() - started) / 1000, 1)} s (wall): kernels ${f(tKernels, 1)}, sampler ${f(tSampler, 1)}, PyTorch ${f(tTorch, 1)}, heap ${f(tHeap, 1)}.`);
  console.log(out.join('\n'));
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack ?? e.message : e);
  process.exit(1);
});
