/**
 * Cost of the initial noise per value: the core's seeded stream (`gaussianRng(seed, k).fillNormal`,
 * xoshiro128** + Box–Muller in float64, src/core/rng.ts) on its WebAssembly path (the default,
 * wasm/normal.ts) and on its JS loop (the same bits under Node 20), the same stream drawn one
 * value at a time by `normal()` on both paths, PyTorch's CPU stream reproduced in JS
 * (`torchGenerator(seed).randn`, mt19937 + its Box–Muller blocks, src/core/torch-rng.ts), and a
 * plain copy of the same number of float32 values as the floor. Sizes: one 2-model AMDM run's
 * initial latents at 4×64×64 (2·16384 values) and at batch 8 (8× that). The methods alternate in
 * `--rounds` rounds; each figure is the median over rounds of the best of `--reps` timed calls;
 * ratios are to the default core stream.
 *
 * Run: `npx tsx bench/noise.ts [--rounds 5] [--reps 20]`. Output: Markdown.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { gaussianRng } from '../src/core/rng.ts';
import { setNormalPath } from '../src/core/wasm-normal.ts';
import { torchGenerator } from '../src/core/torch-rng.ts';
import { markdownRow, markdownTable } from '../src/jobs/table.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    reps: { type: 'string', default: '20' },
    help: { type: 'boolean' },
  },
});
if (values.help) {
  console.log('usage: npx tsx bench/noise.ts [--rounds 5] [--reps 20]');
  process.exit(0);
}
const rounds = Number(values.rounds);
const reps = Number(values.reps);
for (const [k, v] of [
  ['rounds', rounds],
  ['reps', reps],
] as const)
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`--${k} must be an integer ≥ 1, got ${values[k]}`);

const sizes = [
  { name: '2 models × 4×64×64', n: 2 * 16384 },
  { name: '2 models × 8 × 4×64×64', n: 16 * 16384 },
];
const methods: { name: string; make: (n: number) => () => void }[] = [
  {
    name: 'copy (floor)',
    make: (n) => {
      const a = new Float32Array(n).fill(1);
      const b = new Float32Array(n);
      return () => b.set(a);
    },
  },
  ...(['wasm', 'js'] as const).map((path) => ({
    name: `gaussianRng.fillNormal (core stream, ${path === 'wasm' ? 'WebAssembly, default' : 'JS loop'})`,
    make: (n: number) => {
      const out = new Float32Array(n);
      let seed = 1;
      return () => {
        setNormalPath(path);
        gaussianRng(seed++, 0).fillNormal(out);
      };
    },
  })),
  ...(['wasm', 'js'] as const).map((path) => ({
    name: `gaussianRng.normal() per value (${path === 'wasm' ? 'WebAssembly, default' : 'JS loop'})`,
    make: (n: number) => {
      const out = new Float64Array(n);
      let seed = 1;
      return () => {
        setNormalPath(path);
        const g = gaussianRng(seed++, 0);
        for (let i = 0; i < n; i++) out[i] = g.normal();
      };
    },
  })),
  {
    name: 'torchGenerator.randn (PyTorch CPU stream)',
    make: (n) => {
      let seed = 1;
      return () => {
        torchGenerator(seed++).randn(n);
      };
    },
  },
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[(xs.length - 1) >> 1];
const results = new Map<string, number[]>();
for (let r = 0; r < rounds; r++) {
  for (const size of sizes) {
    for (const m of methods) {
      const f = m.make(size.n);
      f();
      let best = Infinity;
      for (let i = 0; i < reps; i++) {
        const t0 = performance.now();
        f();
        best = Math.min(best, performance.now() - t0);
      }
      const key = `${size.name}|${m.name}`;
      results.set(key, [...(results.get(key) ?? []), (best * 1e6) / size.n]);
    }
  }
}
const cpu = os.cpus();
console.log(
  `## Initial noise, ns per value (${rounds} rounds × best of ${reps}; ${cpu.length} cores, ${cpu[0]?.model ?? 'cpu'}; Node ${process.version}; load average ${os
    .loadavg()
    .map((v) => v.toFixed(1))
    .join(' / ')})\n`,
);
console.log(markdownTable(['values', 'method', 'ns / value', 'ms per run', 'ratio to core stream (WebAssembly)'], []));
for (const size of sizes) {
  const core = median(results.get(`${size.name}|${methods[1].name}`)!);
  for (const m of methods) {
    const ns = median(results.get(`${size.name}|${m.name}`)!);
    console.log(
      markdownRow([
        `${size.name} (${size.n})`,
        m.name,
        ns.toFixed(2),
        ((ns * size.n) / 1e6).toFixed(2),
        (ns / core).toFixed(2),
      ]),
    );
  }
}
