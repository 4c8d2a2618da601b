/** 1. The kernels, timed directly on random inputs in each backend's own buffers. */
import { RULES, ddimCoefficients, ddimStepInto, deviate, gaussianRng, makeSchedule } from '../../src/core/index.ts';
import { resolveBackend, type BackendName, type KernelBackend } from '../../src/core/backend.ts';
import { DIM, ETA, WEIGHT, type Options } from './options.ts';
import { symmetricWeights, timeCalls } from './measure.ts';

/** ns per element of one call. */
export interface KernelRow {
  kernel: string;
  B: number;
  backend: BackendName;
  wall: number;
  cpu: number;
}

/** Bytes a kernel reads and writes per element (the wasm passes; the js loops move the same). */
export const KERNEL_BYTES: Record<string, number> = {
  ddimStepInto: 16, // x, ε in; μ and the proposal out
  deviate: 20, // distance pass: x′, μ in; step pass: x′, μ in, x out
  slerp: 20, // dot pass: a, b in; combine pass: a, b in, out
  nlerp: 20, // sums pass, combine pass
  lerp: 12,
  vp: 12,
  copy: 8,
};
export const COPY = 'copy';

/** Random values in `k`'s own buffers (used in place by its kernels). */
function randnIn(k: KernelBackend, n: number, streams: number[]): Float32Array[] {
  const bufs = k.buffers(streams.length, n);
  streams.forEach((st, i) => gaussianRng(1234, st).fillNormal(bufs[i]));
  return bufs;
}

export function benchKernels(o: Options, backend: BackendName): KernelRow[] {
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
    const stepOpts = { prev, kernels: k },
      deviateOpts = { eta, dim: DIM, distances: dists, kernels: k };
    add('ddimStepInto', () => ddimStepInto(c, a, e, mean, stepOpts));
    add('deviate', () => {
      deviate(a, b, out, deviateOpts);
    });
    for (const r of o.rules) {
      const rule = RULES[r];
      if (rule.symmetric) {
        for (const N of o.models) {
          const xs = randnIn(
            k,
            n,
            Array.from({ length: N }, (_, j) => 10 + j),
          );
          const w = symmetricWeights(N);
          add(`${r} (${N} inputs)`, () => {
            rule(xs, w, out, DIM, k);
          });
        }
      } else {
        const xs = [a, b],
          w = [WEIGHT];
        add(r, () => {
          rule(xs, w, out, DIM, k);
        });
      }
    }
  }
  return rows;
}
