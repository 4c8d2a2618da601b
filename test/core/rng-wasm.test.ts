import { afterEach, describe, expect, it as vit } from 'vitest';
import { fc, it } from '@fast-check/vitest';
import { gaussianRng } from '../../src/core/rng.ts';
import { setNormalPath, wasmNormals, type NormalPath } from '../../src/core/wasm-normal.ts';
import {
  GOLDEN_NORMAL_DIGEST,
  RARE_BRANCH_SEEDS,
  fromHex64,
  hex64,
  mathIsFdlibm,
  normalStreamDigest,
} from '../helpers/rng-golden.ts';
import { laneMismatches } from '../helpers/normal-lanes.ts';

// The WebAssembly normal stream (wasm/normal.ts) against the JS loop of rng.ts. The JS loop's
// bits are fdlibm's only where Math.log/cos/sin are fdlibm's (Node 20's V8); elsewhere only the
// golden digest applies. scripts/check-normal-bits.ts runs the same comparisons over 10^8 values.

const fdlibm = mathIsFdlibm();

afterEach(() => setNormalPath('auto'));

type Op =
  | { kind: 'fill'; size: number; offset: number; length: number; std: number }
  | { kind: 'normal' }
  | { kind: 'uniform' };

/** The draws of `ops` on one generator, as bit strings (float32 bits of fills, float64 of the rest). */
function run(path: NormalPath, seed: number, stream: number, ops: Op[]): string[] {
  setNormalPath(path);
  const g = gaussianRng(seed, stream);
  const log: string[] = [];
  for (const op of ops) {
    if (op.kind === 'normal') log.push(hex64(g.normal()));
    else if (op.kind === 'uniform') log.push(hex64(g.uniform()));
    else {
      const out = new Float32Array(op.size).fill(-7);
      g.fillNormal(out, op.offset, op.length, op.std);
      log.push(Array.from(new Uint32Array(out.buffer), (b) => b.toString(16)).join(','));
    }
  }
  return log;
}

/** Lengths around the module's pair blocks (1024 values) and calls (8192 values), small ones, odd ones. */
const lengthArb = fc.oneof(
  fc.integer({ min: 0, max: 40 }),
  fc.constantFrom(1023, 1024, 1025, 1026, 2047, 8191, 8192, 8193, 16385),
);
const stdArb = fc.oneof(
  fc.constantFrom(1, 0, 0.5, 2.5, 1e-3, 1e30, Number.MAX_VALUE),
  fc.double({ min: 0, max: 10, noNaN: true }),
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc
    .record({
      length: lengthArb,
      offset: fc.integer({ min: 0, max: 5 }),
      pad: fc.integer({ min: 0, max: 3 }),
      std: stdArb,
    })
    .map(({ length, offset, pad, std }): Op => ({ kind: 'fill', size: offset + length + pad, offset, length, std })),
  fc.constant<Op>({ kind: 'normal' }),
  fc.constant<Op>({ kind: 'uniform' }),
);

describe('the WebAssembly normal stream', () => {
  vit('runs by default in Node (WebAssembly SIMD validates)', () => {
    expect(wasmNormals()).not.toBeNull();
  });

  vit('mixed draws from seeds with rare branches give the digest recorded under Node 20', () => {
    setNormalPath('wasm');
    expect(normalStreamDigest()).toBe(GOLDEN_NORMAL_DIGEST);
  });
});

describe.skipIf(!fdlibm)('the WebAssembly normal stream against the JS loop (Math.log/cos/sin are fdlibm here)', () => {
  vit('the JS loop gives the same digest', () => {
    setNormalPath('js');
    expect(normalStreamDigest()).toBe(GOLDEN_NORMAL_DIGEST);
  });

  it.prop(
    [
      fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.array(opArb, { minLength: 1, maxLength: 8 }),
    ],
    { numRuns: 150 },
  )('fillNormal, normal() and uniform() in any order give the JS bits', (seed, stream, ops) => {
    expect(run('wasm', seed, stream, ops)).toEqual(run('js', seed, stream, ops));
  });

  vit('the two-lane loop’s float64 ln u₁, r·cos θ, r·sin θ equal Math’s (2^16 pairs)', () => {
    // the float32 outputs hide most one-ulp float64 differences; these do not
    const c = laneMismatches(128, [1, 2, 3, 4]);
    expect(c.pairs).toBe(1 << 16);
    expect(c.bad).toBe(0);
  });

  vit('seeds whose blocks take the scalar fallback give the JS bits', () => {
    const ops: Op[] = [
      { kind: 'fill', size: 3001, offset: 0, length: 3001, std: 1 },
      { kind: 'normal' },
      { kind: 'fill', size: 2048, offset: 1, length: 2047, std: 0.3 },
    ];
    for (const seed of RARE_BRANCH_SEEDS) {
      expect(run('wasm', seed, 0, ops)).toEqual(run('js', seed, 0, ops));
      // the same stream one pair at a time: every pair by the scalar path
      const one: Op[] = Array.from({ length: 1100 }, () => ({ kind: 'normal' }));
      expect(run('wasm', seed, 0, one)).toEqual(run('js', seed, 0, one));
    }
  });
});

describe.skipIf(!fdlibm)("the module's log, cos and sin", () => {
  const two = (k: number) => 2 ** k;
  const next = (x: number, steps: number) => {
    const v = new DataView(new ArrayBuffer(8));
    v.setFloat64(0, x);
    v.setBigUint64(0, v.getBigUint64(0) + BigInt(steps));
    return v.getFloat64(0);
  };
  /** Box–Muller's log arguments: 2^-53 and its neighbours, powers of two and values within 2^-20 of them, near 1, the branch edges of log. */
  const logEdges = [
    two(-53),
    ...[1, 2, 3, 1000].map((k) => k * two(-53)),
    ...Array.from({ length: 53 }, (_, j) => two(-j - 1)).flatMap((p) =>
      [-3, -2, -1, 0, 1, 2, 3].map((s) => next(p, s)),
    ),
    ...Array.from({ length: 53 }, (_, j) => two(-j - 1) * (1 + two(-20))),
    ...Array.from({ length: 53 }, (_, j) => two(-j - 1) * (1 - two(-21))),
    1 - two(-53),
    1 - two(-52),
    1 - two(-21),
    Math.SQRT1_2,
    next(Math.SQRT1_2, 1),
    next(Math.SQRT1_2, -1),
    fromHex64('3fe6147a00000000'),
    fromHex64('3fe6b85100000000'),
    fromHex64('3fe6b851ffffffff'),
    fromHex64('3fe6147affffffff'),
  ];
  /** Angles 2π·u: 0, tiny ones, multiples of π/4 and their neighbours (the branch edges of rem_pio2 and the kernels), the largest below 2π. */
  const TWO_PI = 2 * Math.PI;
  const angleEdges = [
    0,
    TWO_PI * two(-53),
    two(-30),
    two(-27),
    next(two(-27), -1),
    0.3,
    0.78125,
    TWO_PI * (1 - two(-53)),
    ...Array.from({ length: 9 }, (_, k) => (k * Math.PI) / 4).flatMap((x) =>
      [-1000, -3, -2, -1, 0, 1, 2, 3, 1000].map((s) => next(x, s)).filter((y) => y >= 0 && y < TWO_PI),
    ),
    // x whose high word is that of n·π/2 (rem_pio2's second and third rounds)
    ...['3ff921fb', '400921fb', '4012d97c', '401921fb'].flatMap((h) =>
      ['00000000', '54442d18', '54442d17', '54442d19', 'ffffffff', '7f3321d2'].map((l) => fromHex64(h + l)),
    ),
  ].filter((x) => x < TWO_PI);

  vit('equal Math.log on the edge values of Box–Muller’s domain', () => {
    const k = wasmNormals()!.k;
    for (const x of logEdges) expect(hex64(k.log(x)), `log(${x})`).toBe(hex64(Math.log(x)));
  });

  vit('equal Math.cos and Math.sin on the edge values of [0, 2π)', () => {
    const w = wasmNormals()!;
    for (const x of angleEdges) {
      expect(hex64(w.k.cosSin(x)), `cos(${x})`).toBe(hex64(Math.cos(x)));
      expect(hex64(w.sine), `sin(${x})`).toBe(hex64(Math.sin(x)));
    }
  });
});

describe('setNormalPath', () => {
  vit('accepts auto, js and wasm; rejects anything else by name', () => {
    expect(() => setNormalPath('gpu' as NormalPath)).toThrow(/path must be 'auto', 'js' or 'wasm', got "gpu"/);
    setNormalPath('js');
    expect(wasmNormals()).toBeNull();
    setNormalPath('auto');
    expect(wasmNormals()).not.toBeNull();
  });
});
