// The long bit-for-bit check of the WebAssembly normal stream (wasm/normal.ts), run by hand, not
// in the test suite (test/core/rng-wasm.test.ts runs the same comparisons on fewer values):
//
// 1. streams: `--values` normals (default 10^8) drawn by gaussianRng's fillNormal and (1 in 65)
//    normal() on the WebAssembly path and on the JS loop, from the same seeds, streams and calls;
//    every float32 and float64 compared;
// 2. the two-lane loop in float64: as many values again drawn by the module's `fill` one block
//    at a time; each block's ln u₁, r·cos θ and r·sin θ (float64, which the float32 outputs would
//    mostly hide) compared with Math's, except in the pairs the loop leaves to the scalar
//    functions (counted apart; the streams check covers their outputs; test/helpers/normal-lanes.ts);
// 3. functions: the module's log, cos and sin against Math.log/cos/sin on `--args` random
//    arguments (default 10^8 each) of Box–Muller's domain — u ∈ (0, 1) uniform and log-uniform,
//    θ = 2π·u — and on dense neighbourhoods of its edges: ±2^16 ulps around every power of two
//    2^-1 … 2^-53 (log's f = 0 and |f| < 2^-20 branches), ±2^20 ulps around every k·π/4 in
//    [0, 2π] (the branches of rem_pio2 and the kernels), and 2^20 low words under each high word
//    of n·π/2 (rem_pio2's extra rounds).
//
// It needs an engine whose Math.log/cos/sin are fdlibm's (Node 20). Run:
//   npx tsx scripts/check-normal-bits.ts [--values 1e8] [--args 1e8]
// Prints the counts compared and the mismatches (0 expected); exits 1 on any mismatch.
import { parseArgs } from 'node:util';
import { gaussianRng } from '../src/core/rng.ts';
import { setNormalPath, wasmNormals } from '../src/core/wasm-normal.ts';
import { laneMismatches, type LaneCount } from '../test/helpers/normal-lanes.ts';
import { mathIsFdlibm } from '../test/helpers/rng-golden.ts';

const { values } = parseArgs({
  options: { values: { type: 'string', default: '1e8' }, args: { type: 'string', default: '1e8' } },
});
const totalValues = Number(values.values);
const totalArgs = Number(values.args);
for (const [name, v] of [
  ['values', totalValues],
  ['args', totalArgs],
] as const)
  if (!Number.isInteger(v) || v < 0) throw new RangeError(`--${name} must be an integer ≥ 0, got ${values[name]}`);
if (!mathIsFdlibm())
  throw new Error("this engine's Math.log/cos/sin are not fdlibm's (Node 20's are): nothing to compare with");
const w = wasmNormals();
if (w === null) throw new Error('WebAssembly SIMD is missing');

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);
const bitsOf = (x: number) => ((f64[0] = x), u64[0]);
const fromBits = (b: bigint) => ((u64[0] = b), f64[0]);
const log = (s: string) => console.log(`${new Date().toISOString().slice(11, 19)} ${s}`);

// ---- 1. streams -------------------------------------------------------------------------------

/** Draws `n` values from (seed, stream) on one path: two fills (the first odd) with normal() calls between. */
function draw(
  path: 'js' | 'wasm',
  seed: number,
  stream: number,
  n: number,
  std: number,
  out: Float32Array,
  singles: Float64Array,
): void {
  setNormalPath(path);
  const g = gaussianRng(seed, stream);
  const first = (n >> 1) | 1;
  g.fillNormal(out, 0, first, std);
  for (let i = 0; i < singles.length; i++) singles[i] = g.normal();
  g.fillNormal(out, first, n - first, std);
}

function checkStreams(total: number): number {
  const n = 1 << 20;
  const stds = [1, 1, 1, 0.7, 2.5e-3, 13];
  const a = new Float32Array(n),
    b = new Float32Array(n);
  const sa = new Float64Array(1 << 14),
    sb = new Float64Array(1 << 14);
  const ua = new Uint32Array(a.buffer),
    ub = new Uint32Array(b.buffer);
  let compared = 0;
  let singles = 0;
  let bad = 0;
  for (let seed = 1; compared < total; seed++) {
    const stream = (seed * 2654435761) >>> 0;
    const std = stds[seed % stds.length];
    draw('js', seed, stream, n, std, a, sa);
    draw('wasm', seed, stream, n, std, b, sb);
    for (let i = 0; i < n; i++) if (ua[i] !== ub[i]) bad++;
    for (let i = 0; i < sa.length; i++) if (!Object.is(sa[i], sb[i])) bad++;
    compared += n + sa.length;
    singles += sa.length;
    if (seed % 16 === 0) log(`streams: ${compared} values compared, ${bad} mismatches`);
  }
  setNormalPath('auto');
  log(
    `streams: ${compared} values compared (${compared - singles} float32 from fillNormal, ` +
      `${singles} float64 from normal()), ${bad} mismatches`,
  );
  return bad;
}

// ---- 2. the two-lane loop in float64 ----------------------------------------------------------

function checkLanes(total: number): number {
  const show = (c: LaneCount, done = false) =>
    log(
      `two-lane loop: ${2 * c.pairs} values (float64 ln u₁, r·cos θ, r·sin θ) compared, ` +
        `${c.rare} pairs left to the scalar functions, ${c.bad} mismatches${done ? '' : ' so far'}`,
    );
  const c = laneMismatches(Math.ceil(total / 1024), [0x12345678, 0x9abcdef, 0x2468ace, 0x13579bd], show);
  show(c, true);
  return c.bad;
}

// ---- 3. functions -----------------------------------------------------------------------------

const counts = { log: 0, cos: 0, sin: 0 };
const bad = { log: 0, cos: 0, sin: 0 };

function checkLog(u: number): void {
  counts.log++;
  if (!Object.is(w!.k.log(u), Math.log(u))) {
    if (bad.log++ < 5) log(`log mismatch at ${u}: ${w!.k.log(u)} vs ${Math.log(u)}`);
  }
}

function checkTrig(x: number): void {
  counts.cos++;
  counts.sin++;
  const c = w!.k.cosSin(x);
  const s = w!.sine;
  if (!Object.is(c, Math.cos(x)) && bad.cos++ < 5) log(`cos mismatch at ${x}: ${c} vs ${Math.cos(x)}`);
  if (!Object.is(s, Math.sin(x)) && bad.sin++ < 5) log(`sin mismatch at ${x}: ${s} vs ${Math.sin(x)}`);
}

function checkFunctions(total: number): number {
  const g = gaussianRng(20_260_101, 3);
  const TWO_PI = 2 * Math.PI;
  for (let i = 0; i < total; i++) {
    let u = g.uniform();
    // every other argument log-uniform: exponents down to 2^-53
    if (i & 1) u = Math.max(u * 2 ** -Math.floor(g.uniform() * 53), 2 ** -53);
    if (u > 0) checkLog(u);
    checkTrig(TWO_PI * g.uniform());
    if (i % 10_000_000 === 0 && i > 0) log(`random: ${i} arguments, mismatches ${JSON.stringify(bad)}`);
  }
  log(`random arguments: ${JSON.stringify(counts)} compared, mismatches ${JSON.stringify(bad)}`);
  // log near every power of two in Box–Muller's domain, and the smallest and largest u
  for (let e = 1; e <= 53; e++) {
    const p = bitsOf(2 ** -e);
    for (let d = -(1 << 16); d <= 1 << 16; d++) {
      const u = fromBits(p + BigInt(d));
      if (u >= 2 ** -53 && u < 1) checkLog(u);
    }
  }
  // cos, sin near every k·π/4 in [0, 2π], at 0 and below 2π
  for (let k = 0; k <= 8; k++) {
    const p = bitsOf((k * Math.PI) / 4);
    for (let d = -(1 << 20); d <= 1 << 20; d++) {
      const x = k === 0 ? fromBits(BigInt(Math.abs(d))) : fromBits(p + BigInt(d));
      if (x >= 0 && x < TWO_PI) checkTrig(x);
    }
  }
  // the high words of n·π/2, n = 1..4: rem_pio2's second and third rounds
  for (const h of [0x3ff921fbn, 0x400921fbn, 0x4012d97cn, 0x401921fbn]) {
    for (let i = 0; i < 1 << 20; i++) {
      const x = fromBits((h << 32n) | BigInt(Math.floor(g.uniform() * 2 ** 32)));
      if (x < TWO_PI) checkTrig(x);
    }
  }
  log(`all arguments: ${JSON.stringify(counts)} compared, mismatches ${JSON.stringify(bad)}`);
  return bad.log + bad.cos + bad.sin;
}

const mismatches = checkStreams(totalValues) + checkLanes(totalValues) + checkFunctions(totalArgs);
log(mismatches === 0 ? 'no mismatches' : `${mismatches} mismatches`);
process.exit(mismatches === 0 ? 0 : 1);
