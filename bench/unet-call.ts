/**
 * One UNet call of an exported SD-1.x UNet under amdm's onnxruntime-node session (the call a
 * generate step makes: batch 2 = both guidance halves): load time, call time and peak memory.
 *
 *   npx tsx bench/unet-call.ts <folder>/unet/model.onnx [--calls 2] [--warmup 0] [--threads n]
 *     [--inputs <dir with sample.f32, encoder_hidden_states.f32>] [--save <output.f32>]
 *
 * Inputs: seeded normal values, or the raw float32 files of `--inputs` (bench/sd15_unet_call.py
 * writes them, so that torch gets the same). `--threads`: onnxruntime's intra-op threads (default:
 * its choice). Output: one JSON line; `peak_rss_mib` is VmHWM (bench/peak-rss.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openSession, tensorOver } from '../src/onnx/session.ts';
import { gaussianRng } from '../src/core/rng.ts';
import { intArg } from './int-arg.ts';
import { peakRssMiB } from './peak-rss.ts';

const usage =
  'usage: npx tsx bench/unet-call.ts <unet/model.onnx> [--calls 2] [--warmup 0] [--threads n] [--inputs dir] [--save file.f32]';
const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    calls: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '0' },
    threads: { type: 'string' },
    inputs: { type: 'string' },
    save: { type: 'string' },
  },
});
const file = positionals[0];
if (!file) throw new Error(usage);
const calls = intArg('calls', values.calls!, 1, usage);
const warmup = intArg('warmup', values.warmup!, 0, usage);
const threads = values.threads === undefined ? undefined : intArg('threads', values.threads, 1, usage);

const shapes = { sample: [2, 4, 64, 64], encoder_hidden_states: [2, 77, 768] } as const;
function input(name: keyof typeof shapes, rng: ReturnType<typeof gaussianRng>): Float32Array {
  const n = shapes[name].reduce((a, b) => a * b, 1);
  if (!values.inputs) return rng.fillNormal(new Float32Array(n));
  const bytes = readFileSync(join(values.inputs, `${name}.f32`));
  if (bytes.byteLength !== 4 * n)
    throw new RangeError(`--inputs: ${name}.f32 must hold ${n} float32 values, has ${bytes.byteLength} bytes`);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

const t0 = performance.now();
const session = await openSession(file, { device: 'cpu', ...(threads ? { intraOpNumThreads: threads } : {}) });
const t1 = performance.now();
const rng = gaussianRng(0, 0);
const feeds = {
  sample: tensorOver('float32', input('sample', rng), shapes.sample),
  timestep: tensorOver('float32', new Float32Array([601]), []),
  encoder_hidden_states: tensorOver('float32', input('encoder_hidden_states', rng), shapes.encoder_hidden_states),
};
const times: number[] = [];
let out: Record<string, { data: unknown }> = {};
for (let i = 0; i < warmup + calls; i++) {
  const s = performance.now();
  out = (await session.run(feeds)) as typeof out;
  if (i >= warmup) times.push((performance.now() - s) / 1000);
}
if (values.save) {
  const data = Object.values(out)[0]!.data as Float32Array;
  writeFileSync(values.save, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}
console.log(
  JSON.stringify({
    file,
    threads: threads ?? 'default',
    load_s: +((t1 - t0) / 1000).toFixed(2),
    call_s: times.map((t) => +t.toFixed(3)),
    peak_rss_mib: Math.round(peakRssMiB()),
  }),
);
await session.release();
