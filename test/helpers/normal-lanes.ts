/**
 * The float64 check of the module's two-lane loop (wasm/normal.ts): its `fill` keeps a block's
 * u₁, u₂, ln u₁, r·cos θ and r·sin θ, which the float32 outputs would mostly hide; each is
 * compared with Math.log/cos/sin (fdlibm's in Node 20), except in the lanes the loop leaves to the
 * scalar functions. Used by test/core/rng-wasm.test.ts and scripts/check-normal-bits.ts.
 */
import { base64Bytes, wasm } from '../../src/core/wasm-arena.ts';
import { WASM_NORMAL_BASE64 } from '../../src/core/wasm-normal-module.ts';

/** wasm/normal.ts's layout: OUT = 64, CHUNK = 8192 values, BLOCK = 512 pairs; U1, U2, LOG, RC, RS follow. */
const BLOCK = 512;
const ARRAYS = 64 + 4 * (8192 + 4);

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const hi = (x: number) => ((f64[0] = x), u32[1]);

/** Whether the two-lane loop leaves the pair (u₁, u₂) to the scalar functions: [for log, for cos/sin]. */
function rareLanes(u1: number, u2: number): [boolean, boolean] {
  const hm = hi(u1) & 0xfffff;
  const x = 2 * Math.PI * u2;
  const hx = hi(x);
  const fn = hx <= 0x3fe921fb ? 0 : Math.trunc(x * 6.36619772367581382433e-1 + 0.5);
  const fp = fn * 1.57079632673412561417;
  const y0 = x - fp - fn * 6.07710050650619224932e-11;
  return [((hm + 2) & 0xfffff) < 3, hx === hi(fp) || (hi(Math.abs(y0)) & 0x7fffffff) < 0x3e400000];
}

export interface LaneCount {
  /** Pairs compared. */
  pairs: number;
  /** Pairs left to the scalar functions (not compared here). */
  rare: number;
  /** Values (ln u₁, r·cos θ, r·sin θ) that differ from Math's. */
  bad: number;
}

/** Draws `blocks` blocks from the xoshiro128** state `state` on a fresh instance and compares them; `progress` sees the running count. */
export function laneMismatches(blocks: number, state: readonly number[], progress?: (c: LaneCount) => void): LaneCount {
  const memory = new wasm!.Memory({ initial: 1 });
  const k = new wasm!.Instance(new wasm!.Module(base64Bytes(WASM_NORMAL_BASE64)), { env: { memory } }).exports as {
    fill(n: number, std: number): number;
  };
  const [u1s, u2s, logs, rcs, rss] = [0, 1, 2, 3, 4].map(
    (i) => new Float64Array(memory.buffer, ARRAYS + i * 8 * (BLOCK + 2), BLOCK),
  );
  new Int32Array(memory.buffer, 0, 4).set(state);
  const c: LaneCount = { pairs: 0, rare: 0, bad: 0 };
  for (let b = 0; b < blocks; b++) {
    k.fill(2 * BLOCK, 1);
    for (let p = 0; p < BLOCK; p++) {
      const [logRare, trigRare] = rareLanes(u1s[p], u2s[p]);
      const l = Math.log(u1s[p]);
      const r = Math.sqrt(-2 * l);
      const x = 2 * Math.PI * u2s[p];
      if (logRare || trigRare) c.rare++;
      else {
        if (!Object.is(logs[p], l)) c.bad++;
        if (!Object.is(rcs[p], r * Math.cos(x))) c.bad++;
        if (!Object.is(rss[p], r * Math.sin(x))) c.bad++;
      }
    }
    c.pairs += BLOCK;
    if (progress && b % 16384 === 16383) progress(c);
  }
  return c;
}
