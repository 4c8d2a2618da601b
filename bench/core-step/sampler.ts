/** 2. `sampleAMDM` with zero-cost denoisers: the per-step time and its split. */
import { performance } from 'node:perf_hooks';
import { RULES, sampleAMDM, type AggregationRule, type Denoiser, type RuleName } from '../../src/core/index.ts';
import type { BackendName } from '../../src/core/backend.ts';
import { DIM, ETA, SHAPE, WEIGHT, type Options } from './options.ts';
import { cpuMs, makeModels, median, randn } from './measure.ts';
import type { KernelRow } from './kernels.ts';

export interface StepRow {
  rule: RuleName;
  N: number;
  B: number;
  backend: BackendName;
  /** ns per element (one latent value of one model per step): the sampler's wall and CPU time. */
  wall: number;
  cpu: number;
  /** The CPU-time split: N·ddimStepInto, the rule (in the sampler), N·deviate, the rest. */
  ddim: number;
  ruleShare: number;
  deviate: number;
  other: number;
}

async function runSampler(
  models: Denoiser[],
  latents: Float32Array[],
  B: number,
  steps: number,
  rule: AggregationRule,
  backend: BackendName,
): Promise<void> {
  await sampleAMDM({
    models,
    latents,
    shape: [...SHAPE],
    batch: B,
    steps,
    aggregateSteps: steps,
    rule,
    weights: WEIGHT,
    eta: ETA,
    backend,
  });
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

export async function benchSampler(o: Options, kernels: KernelRow[], backend: BackendName): Promise<StepRow[]> {
  const rows: StepRow[] = [];
  const T = o.steps;
  for (const B of o.batches) {
    const n = B * DIM;
    const kernel = (name: string) =>
      kernels.find((r) => r.kernel === name && r.B === B && r.backend === backend)!.cpu * n;
    for (const N of o.models) {
      const latents = Array.from({ length: N }, (_, k) => randn(n, 200 + k));
      let w0 = 0,
        w1 = 0,
        c0 = 0,
        c1 = 0;
      const models = makeModels(N, n, (step) => {
        if (step === 1) {
          w0 = performance.now();
          c0 = cpuMs();
        }
        if (step === T - 1) {
          w1 = performance.now();
          c1 = cpuMs();
        }
      });
      for (const r of o.rules) {
        const rule = RULES[r];
        const wall: number[] = [],
          cpu: number[] = [];
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
        rows.push({
          rule: r,
          N,
          B,
          backend,
          wall: median(wall) * perElement,
          cpu: cpuPer,
          ddim,
          ruleShare,
          deviate: dev,
          other: cpuPer - ddim - ruleShare - dev,
        });
      }
    }
  }
  return rows;
}
