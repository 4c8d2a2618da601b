/**
 * The WebAssembly path of the seeded normal stream (rng.ts): `wasm/normal.ts` (AssemblyScript,
 * compiled by `npm run build:wasm` into `wasm-normal-module.ts`) runs xoshiro128** and Box–Muller
 * with ports of fdlibm's log, sin and cos, so it gives the float64 bits of the JS path under
 * Node 20 (whose V8 implements Math.log/cos/sin with fdlibm) in every runtime. It takes the logs
 * and the sines and cosines two lanes at a time (128-bit SIMD, like the kernels), so it runs
 * where the kernel backend's module validates.
 *
 * One instance with one page of memory serves every generator: `fill` copies the generator's
 * four state words in, runs, and copies them (and a left-over second half) back, so the
 * generator's state stays in its own Int32Array between calls; `normal()` draws its uniforms in
 * JS and calls `k.boxMuller` for the pair.
 */
import { base64Bytes, wasm, type WasmMemory } from './wasm-arena.ts';
import { WASM_NORMAL_BASE64 } from './wasm-normal-module.ts';
import { describe } from './validate.ts';

interface NormalExports {
  fill(n: number, std: number): number;
  boxMuller(u1: number, u2: number): number;
  log(x: number): number;
  cosSin(x: number): number;
}

/** Byte offset of the float32 output in the module's memory (wasm/normal.ts: OUT). */
const OUT = 64;
/** Values per `fill` call (wasm/normal.ts: CHUNK), an even count. */
const CHUNK = 8192;

/** The module's instance and views of its memory. */
export class WasmNormals {
  readonly k: NormalExports;
  private readonly i32: Int32Array;
  private readonly f32: Float32Array;
  private readonly f64: Float64Array;
  constructor(module: object) {
    const memory: WasmMemory = new wasm!.Memory({ initial: 1 });
    this.k = new wasm!.Instance(module, { env: { memory } }).exports as NormalExports;
    this.i32 = new Int32Array(memory.buffer);
    this.f32 = new Float32Array(memory.buffer);
    this.f64 = new Float64Array(memory.buffer);
  }

  /** The second half left over by the last `fill` that returned true, or by `k.boxMuller`. */
  get spare(): number {
    return this.f64[2]; // wasm/normal.ts: SPARE = 16
  }

  /** sin x after `k.cosSin(x)` returned cos x. */
  get sine(): number {
    return this.f64[3]; // wasm/normal.ts: AUX = 24
  }

  /**
   * out[offset .. offset+n) = float32(std · normals) from the state words `st` (advanced);
   * true when n is odd, with the unused second half in `spare`.
   */
  fill(st: Int32Array, out: Float32Array, offset: number, n: number, std: number): boolean {
    const { i32, f32 } = this;
    i32.set(st);
    let odd = false;
    for (let done = 0; done < n; done += CHUNK) {
      const m = Math.min(CHUNK, n - done);
      odd = this.k.fill(m, std) === 1; // CHUNK is even: only the last chunk can be odd
      out.set(f32.subarray(OUT >> 2, (OUT >> 2) + m), offset + done);
    }
    st[0] = i32[0];
    st[1] = i32[1];
    st[2] = i32[2];
    st[3] = i32[3];
    return odd;
  }
}

export type NormalPath = 'auto' | 'js' | 'wasm';

let path: NormalPath = 'auto';
let instance: WasmNormals | null | undefined;

/**
 * The WebAssembly normal stream, or null where the JS path runs: 'auto' (the default) uses
 * WebAssembly when the runtime has it and validates the module.
 */
export function wasmNormals(): WasmNormals | null {
  return path === 'js' ? null : load();
}

function load(): WasmNormals | null {
  if (instance === undefined) {
    const bytes = base64Bytes(WASM_NORMAL_BASE64);
    instance = wasm !== undefined && wasm.validate(bytes) ? new WasmNormals(new wasm.Module(bytes)) : null;
  }
  return instance;
}

/**
 * Chooses the path of gaussianRng's normals ('wasm' throws where WebAssembly is missing). Both
 * give the same bits under Node 20; tests and benchmarks compare them.
 */
export function setNormalPath(p: NormalPath): void {
  if (p !== 'auto' && p !== 'js' && p !== 'wasm')
    throw new RangeError(`path must be 'auto', 'js' or 'wasm', got ${describe(p)}`);
  if (p === 'wasm' && load() === null)
    throw new Error('the WebAssembly normal stream needs WebAssembly with 128-bit SIMD, which this runtime lacks');
  path = p;
}
