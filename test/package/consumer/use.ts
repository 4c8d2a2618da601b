// A consumer's program against the installed package: registers a rule of its own and samples
// with AMDM over two toy denoisers; prints the calls and the latents as JSON. The round-trip test
// (pack.test.ts) type-checks and runs it under Node (from `amdm`) and Deno (from `npm:amdm`).
import { makeSchedule, registerRule, sampleAMDM, type Denoiser } from 'amdm';

registerRule({
  name: 'smooth',
  sample(a: Float32Array, b: Float32Array, w: number, out: Float32Array) {
    const s = w * w * (3 - 2 * w);
    for (let i = 0; i < a.length; i++) out[i] = (1 - s) * a[i] + s * b[i];
  },
});
const toward = (c: number): Denoiser => ({ eps: async (x: Float32Array) => x.map((v) => (v - c) * 0.5) });
const r = await sampleAMDM({
  models: [toward(1), toward(-1)],
  target: 0,
  steps: 10,
  aggregateSteps: 4,
  weights: 0.5,
  eta: 0,
  rule: 'smooth',
  shape: [4],
  batch: 1,
  seed: 0,
  schedule: makeSchedule(),
});
const calls: number[] = r.calls;
console.log(JSON.stringify({ calls, latents: Array.from(r.latents) }));
