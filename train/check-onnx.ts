/**
 * Export check of the mini-zoo: runs every exported graph with onnxruntime-node on the inputs
 * train/export.py saved (check.json + check.bin per graph) and compares with the torch outputs,
 * and compares the trainer's MIGC masks and CLIP image normalisation with the TypeScript input
 * builders (builders.json). Exits 1 when a relative error max|onnx − torch| / max|torch| exceeds
 * the tolerance (default 1e-4).
 *
 * Usage: npx tsx train/check-onnx.ts <check-dir> [--tol 1e-4]
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { migcMasks } from '../src/sd/families/migc.ts';
import { clipImagePreprocess } from '../src/sd/families/clip-image.ts';
import type { Box } from '../src/sd/families/boxes.ts';

interface Entry {
  name: string;
  dtype: 'float32' | 'int64';
  dims: number[];
  offset: number;
  length: number;
}
interface Check {
  model: string;
  inputs: Entry[];
  outputs: Entry[];
}

function relError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) throw new RangeError(`length ${got.length} != ${want.length}`);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    if (!Number.isFinite(got[i])) return Infinity;
    err = Math.max(err, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  return err / Math.max(scale, 1e-12);
}

function read(buf: Buffer, e: Entry): Float32Array | BigInt64Array {
  const bytes = buf.subarray(e.offset, e.offset + e.length * (e.dtype === 'int64' ? 8 : 4));
  const copy = new Uint8Array(bytes).buffer;
  return e.dtype === 'int64' ? new BigInt64Array(copy) : new Float32Array(copy);
}

async function checkGraph(dir: string, tol: number): Promise<boolean> {
  const c = JSON.parse(readFileSync(join(dir, 'check.json'), 'utf8')) as Check;
  const buf = readFileSync(join(dir, 'check.bin'));
  const session = await ort.InferenceSession.create(c.model);
  const feeds: Record<string, ort.Tensor> = {};
  for (const e of c.inputs) feeds[e.name] = new ort.Tensor(e.dtype, read(buf, e), e.dims);
  const out = await session.run(feeds);
  let ok = true;
  for (const e of c.outputs) {
    const r = relError(out[e.name].data as Float32Array, read(buf, e) as Float32Array);
    const pass = r <= tol;
    ok &&= pass;
    console.log(
      `${pass ? 'ok  ' : 'FAIL'} ${dir.split('/').slice(-2).join('/')} ${e.name} [${e.dims.join(',')}] rel.err ${r.toExponential(2)}`,
    );
  }
  return ok;
}

function checkBuilders(file: string, tol: number): boolean {
  const b = JSON.parse(readFileSync(file, 'utf8')) as {
    boxes: Box[];
    latent: number;
    guidance: number[];
    supplement: number[];
    image: number[];
    pixel_values: number[];
  };
  const m = migcMasks(b.boxes, [b.latent, b.latent]);
  const img = { width: 32, height: 32, data: new Uint8ClampedArray(32 * 32 * 4) };
  for (let p = 0; p < 32 * 32; p++) {
    for (let ch = 0; ch < 3; ch++) img.data[4 * p + ch] = b.image[ch * 1024 + p];
    img.data[4 * p + 3] = 255;
  }
  const pv = clipImagePreprocess(img, { size: 32, crop: 32 });
  const rows: [string, number][] = [
    ['guidance_mask', relError(m.guidance, b.guidance)],
    ['supplement_mask', relError(m.supplement, b.supplement)],
    ['pixel_values', relError(pv, b.pixel_values)],
  ];
  let ok = true;
  for (const [name, r] of rows) {
    ok &&= r <= tol;
    console.log(`${r <= tol ? 'ok  ' : 'FAIL'} builders ${name} rel.err ${r.toExponential(2)}`);
  }
  return ok;
}

function checkDirs(root: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(root)) {
    const p = join(root, name);
    if (statSync(p).isDirectory()) out.push(...checkDirs(p));
    else if (name === 'check.json') out.push(root);
  }
  return out.sort();
}

async function main(args: string[]): Promise<number> {
  const root = args[0];
  const tolArg = args.indexOf('--tol');
  const tol = tolArg >= 0 ? Number(args[tolArg + 1]) : 1e-4;
  if (!root || !(tol > 0)) {
    console.error('usage: check-onnx.ts <check-dir> [--tol 1e-4] (tol > 0)');
    return 2;
  }
  let ok = true;
  for (const dir of checkDirs(root)) ok = (await checkGraph(dir, tol)) && ok;
  const builders = join(root, 'builders.json');
  try {
    statSync(builders);
    ok = checkBuilders(builders, tol) && ok;
  } catch {
    console.log('no builders.json: builder check skipped');
  }
  console.log(ok ? 'all checks passed' : 'some checks FAILED');
  return ok ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
