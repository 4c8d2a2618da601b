/**
 * One UNet call of an exported SD-1.x UNet under amdm's onnxruntime-node session (the call a
 * generate step makes: batch 2 = both guidance halves): load time, call time and peak memory.
 *
 *   npx tsx bench/unet-call.ts <folder>/unet/model.onnx [--calls 2]
 */
import { resourceUsage } from 'node:process';
import { parseArgs } from 'node:util';
import { openSession, tensorOver } from '../src/onnx/session.ts';
import { gaussianRng } from '../src/core/rng.ts';

const { positionals, values } = parseArgs({ allowPositionals: true, options: { calls: { type: 'string' } } });
const file = positionals[0];
if (!file) throw new Error('usage: npx tsx bench/unet-call.ts <unet/model.onnx> [--calls n]');
const calls = Number(values.calls ?? 2);
const t0 = performance.now();
const session = await openSession(file, { device: 'cpu' });
const t1 = performance.now();
const rng = gaussianRng(0, 0);
const sample = rng.fillNormal(new Float32Array(2 * 4 * 64 * 64));
const text = rng.fillNormal(new Float32Array(2 * 77 * 768));
const times: number[] = [];
for (let i = 0; i < calls; i++) {
  const s = performance.now();
  await session.run({
    sample: tensorOver('float32', sample, [2, 4, 64, 64]),
    timestep: tensorOver('float32', new Float32Array([601]), []),
    encoder_hidden_states: tensorOver('float32', text, [2, 77, 768]),
  });
  times.push((performance.now() - s) / 1000);
}
console.log(
  JSON.stringify({
    file,
    load_s: +((t1 - t0) / 1000).toFixed(2),
    call_s: times.map((t) => +t.toFixed(2)),
    peak_rss_gib: +(resourceUsage().maxRSS / 2 ** 20).toFixed(2),
  }),
);
await session.release();
