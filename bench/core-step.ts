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
 * Run: `npm run bench:kernels` (= tsx bench/core-step.ts); `--help` lists the options. Output is Markdown.
 * The parts live in bench/core-step/ (options, measure, kernels, sampler, torch, heap, report).
 */
import { performance } from 'node:perf_hooks';
import { parseOptions, type Options } from './core-step/options.ts';
import { medianRows } from './core-step/measure.ts';
import { benchKernels, type KernelRow } from './core-step/kernels.ts';
import { benchSampler, type StepRow } from './core-step/sampler.ts';
import { runTorch, type TorchResult } from './core-step/torch.ts';
import { heapChild, runHeap } from './core-step/heap.ts';
import { loadAverage, report } from './core-step/report.ts';

/** A stopwatch: each call returns the seconds since the previous one. */
function stopwatch(): () => number {
  let t = performance.now();
  return () => {
    const now = performance.now(),
      dt = (now - t) / 1000;
    t = now;
    return dt;
  };
}

/** Parts 1–3 in interleaved rounds (js, wasm, torch, js, wasm, torch, …); medians over the rounds. */
async function runRounds(o: Options) {
  const lap = stopwatch();
  const kernelRuns: KernelRow[] = [],
    stepRuns: StepRow[] = [],
    torchRuns: TorchResult[] = [];
  let torchWhy = '';
  const seconds = { kernels: 0, sampler: 0, torch: 0 };
  for (let round = 0; round < o.rounds; round++) {
    for (const b of o.backends) {
      lap();
      const k = benchKernels(o, b);
      kernelRuns.push(...k);
      seconds.kernels += lap();
      stepRuns.push(...(await benchSampler(o, k, b)));
      seconds.sampler += lap();
    }
    const t = runTorch(o);
    if (t.result) torchRuns.push(t.result);
    else torchWhy = t.why;
    seconds.torch += lap();
  }
  const kernels = medianRows(kernelRuns, (r) => `${r.kernel}|${r.B}|${r.backend}`);
  const steps = medianRows(stepRuns, (r) => `${r.rule}|${r.N}|${r.B}|${r.backend}`);
  const torch: TorchResult | null = torchRuns.length
    ? {
        ...torchRuns[0],
        results: medianRows(
          torchRuns.flatMap((t) => t.results),
          (r) =>
            `${r.kind}|${r.kind === 'kernel' ? r.kernel : r.rule}|${r.kind === 'step' ? r.N : ''}|${r.threads}|${r.B}`,
        ),
      }
    : null;
  return { kernels, steps, torch, torchWhy, seconds };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const o = parseOptions(argv);
  if (o.heapChild) return heapChild(o);
  const started = performance.now();
  const viaNpm = process.env.npm_lifecycle_event === 'bench:kernels';
  const command = `${viaNpm ? 'npm run bench:kernels' : 'npx tsx bench/core-step.ts'}${argv.length ? `${viaNpm ? ' --' : ''} ${argv.join(' ')}` : ''}`;
  const loadStart = loadAverage();
  const rounds = await runRounds(o);
  const lap = stopwatch();
  const heap = o.heap ? runHeap(o, argv) : { rows: null, calls: null, why: 'skipped (--no-heap)', command: '' };
  const heapSeconds = lap();
  const total = (performance.now() - started) / 1000;
  console.log(
    report({ o, command, loadStart, ...rounds, heap, seconds: { ...rounds.seconds, heap: heapSeconds, total } }),
  );
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
