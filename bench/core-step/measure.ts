/** Inputs, timing, medians and zero-cost denoisers shared by the measurements. */
import { performance } from 'node:perf_hooks';
import { foldWeightsToSymmetric, gaussianRng, type Denoiser } from '../../src/core/index.ts';
import { WEIGHT } from './options.ts';

export function randn(n: number, stream: number): Float32Array {
  const x = new Float32Array(n);
  gaussianRng(1234, stream).fillNormal(x);
  return x;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** One row per key, each numeric field the median over the rows with that key (first-seen order). */
export function medianRows<T extends object>(rows: T[], key: (r: T) => string): T[] {
  const groups = new Map<string, T[]>();
  for (const r of rows) {
    const k = key(r);
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(r);
  }
  return [...groups.values()].map((g) => {
    const res = { ...g[0] } as Record<string, unknown>;
    for (const [field, v] of Object.entries(g[0]))
      if (typeof v === 'number') res[field] = median(g.map((r) => (r as Record<string, number>)[field]));
    return res as T;
  });
}

/** Wall clock and this process's CPU time (all threads; a busy machine disturbs it less), in ns. */
export interface Timing {
  wall: number;
  cpu: number;
}

/** Process CPU time in ms (user + system). */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Median ns per call of `fn`; each timed sample repeats it for about `minMs`. */
export function timeCalls(fn: () => void, reps: number, warmup: number, minMs: number): Timing {
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
  const wall: number[] = [],
    cpu: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now(),
      c0 = cpuMs();
    for (let i = 0; i < calls; i++) fn();
    wall.push(((performance.now() - t0) * 1e6) / calls);
    cpu.push(((cpuMs() - c0) * 1e6) / calls);
  }
  return { wall: median(wall), cpu: median(cpu) };
}

/** Weights a symmetric rule gets from the fold weights [w, w, …] (what the sampler passes). */
export function symmetricWeights(N: number): number[] {
  return foldWeightsToSymmetric(new Array<number>(N - 1).fill(WEIGHT));
}

/** Zero-cost denoisers: `eps` returns a preallocated buffer; the target's calls `onTarget(step)`. */
export function makeModels(N: number, n: number, onTarget?: (step: number) => void): Denoiser[] {
  return Array.from({ length: N }, (_, k) => {
    const eps = randn(n, 100 + k);
    let step = 0,
      lastT = -1;
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
