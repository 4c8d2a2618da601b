/**
 * The WebAssembly SIMD kernel backend: the passes of `wasm/kernels.ts` (AssemblyScript, compiled
 * by `npm run build:wasm` into `wasm-module.ts`), driven per sample by the same scalar code as the
 * JS reference (`kernel-math.ts`). Element-wise passes run in float32 × 4 lanes; reductions
 * promote to float64 like the reference, so the two agree to a few float32 ulps (tested ≤ 1e-6
 * relative). WebAssembly arithmetic is deterministic, so the bits are the same in every runtime.
 *
 * Memory: kernels read and write the module's linear memory. `buffers(count, n)` makes an arena —
 * its own memory, sized once and never grown (growing would detach the views it handed out) —
 * with the buffers, a reduction area and scratch. A call whose arrays all live in one arena runs
 * there in place; arrays from elsewhere (a denoiser's output, a caller's arrays) are copied into
 * that arena's scratch and outputs copied back; when they do not fit, the call runs in a shared
 * growable arena with every array copied.
 *
 * A DDIM step that also asks for x̂₀ (only the allocating `ddimStep` does, outside hot loops) runs
 * the reference loop: x̂₀ = (x − √(1−ᾱ)·ε)/√ᾱ cancels at high noise (both terms ≈ 15·x at
 * t = 981), where float32 arithmetic loses digits that float64 keeps.
 */
import type { DDIMCoefficients } from './ddim.ts';
import type { KernelBackend } from './backend.ts';
import { jsBackend } from './backend-js.ts';
import {
  deviationFactor,
  nlerpFactor,
  slerpCoefficients,
  sphericalMeanSample,
  type SpherePasses,
} from './kernel-math.ts';
import { WASM_KERNELS_BASE64 } from './wasm-module.ts';

/** The module's exports; pointers are byte offsets, n counts elements. */
interface Kernels {
  ddim(x: number, e: number, mean: number, prev: number, n: number, A: number, B: number): void;
  ddimNoise(
    x: number,
    e: number,
    z: number,
    mean: number,
    prev: number,
    n: number,
    A: number,
    B: number,
    sigma: number,
  ): void;
  combine(a: number, b: number, out: number, n: number, ca: number, cb: number): void;
  dot3(a: number, b: number, n: number): void;
  nlerpSums(a: number, b: number, n: number, ca: number, cb: number): void;
  distSq(a: number, b: number, n: number): number;
  sumSq(a: number, n: number): number;
  deviateStep(x: number, mu: number, out: number, n: number, k: number): void;
  anyNonFinite(x: number, n: number): number;
  sphAccumulate(q: number, x: number, n: number, c: number): void;
  norm64(v: number, n: number): number;
  div64(v: number, n: number, d: number): void;
  dot64(q: number, x: number, n: number): number;
  sinSq(q: number, x: number, n: number, inv: number, c: number): number;
  logAccumulate(u: number, q: number, x: number, n: number, inv: number, c: number, f: number): void;
  expStep(q: number, u: number, n: number, a: number, b: number): void;
  scaleOut(out: number, q: number, n: number, r: number): void;
}

/** The part of the WebAssembly JS API used here (the core is typed without DOM or Node types). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: object };
  Memory: new (descriptor: { initial: number }) => WasmMemory;
}
const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

const PAGE = 65536;
/** Bytes at address 0 where reductions leave their results (float64 slots). */
const RESULT_BYTES = 64;
const align16 = (bytes: number) => (bytes + 15) & ~15;

let bytes: Uint8Array | null = null;
let module: object | null = null;
let supported: boolean | null = null;

function moduleBytes(): Uint8Array {
  if (bytes === null) {
    const bin = atob(WASM_KERNELS_BASE64);
    bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  }
  return bytes;
}

/** Whether this runtime has WebAssembly and validates the kernels (128-bit SIMD). */
export function wasmSupported(): boolean {
  supported ??= wasm !== undefined && wasm.validate(moduleBytes());
  return supported;
}

/** One linear memory with its instance; `scratch` is the first byte after the arena's buffers. */
class Arena {
  readonly memory: WasmMemory;
  readonly k: Kernels;
  readonly scratch: number;
  readonly growable: boolean;
  f32!: Float32Array;
  f64!: Float64Array;
  constructor(pages: number, scratch: number, growable: boolean) {
    module ??= new wasm!.Module(moduleBytes());
    this.memory = new wasm!.Memory({ initial: pages });
    this.k = new wasm!.Instance(module, { env: { memory: this.memory } }).exports as Kernels;
    this.scratch = scratch;
    this.growable = growable;
    this.views();
  }
  private views(): void {
    this.f32 = new Float32Array(this.memory.buffer);
    this.f64 = new Float64Array(this.memory.buffer);
  }
  /** Whether `bytes` of scratch fit (growing the memory of a growable arena to make them fit). */
  fits(bytes: number): boolean {
    const need = this.scratch + bytes - this.memory.buffer.byteLength;
    if (need <= 0) return true;
    if (!this.growable) return false;
    this.memory.grow(Math.ceil(need / PAGE));
    this.views();
    return true;
  }
}

/** Arenas by the ArrayBuffer of their (never grown) memory. */
const owners = new WeakMap<ArrayBufferLike, Arena>();
let shared: Arena | null = null;

const sameView = (a: Float32Array, b: Float32Array) =>
  a.buffer === b.buffer && a.byteOffset === b.byteOffset && a.length === b.length;

/**
 * Places a call's arrays in one arena: `add` each array (inputs and outputs), `place` to pick the
 * arena, copy foreign inputs in and get pointers (`ptr`), run the kernels, `finish` to copy
 * foreign outputs back. Reused across calls: a call allocates nothing unless it copies out.
 */
class Stager {
  private arrs: Float32Array[] = [];
  private out: boolean[] = [];
  private ptrs: number[] = [];
  private count = 0;
  arena!: Arena;
  /** Byte offset of the extra scratch asked for in `place`. */
  extra = 0;

  begin(): this {
    this.count = 0;
    return this;
  }
  add(x: Float32Array, isOutput: boolean): number {
    const i = this.count++;
    this.arrs[i] = x;
    this.out[i] = isOutput;
    return i;
  }
  ptr(i: number): number {
    return this.ptrs[i];
  }

  place(extraBytes = 0): Arena {
    let arena: Arena | undefined;
    for (let i = 0; i < this.count && !arena; i++) arena = owners.get(this.arrs[i].buffer);
    if (!arena || !arena.fits(this.foreignBytes(arena) + extraBytes)) {
      shared ??= new Arena(1, RESULT_BYTES, true);
      arena = shared;
      arena.fits(this.foreignBytes(arena) + extraBytes);
    }
    this.arena = arena;
    let next = arena.scratch;
    for (let i = 0; i < this.count; i++) {
      const x = this.arrs[i];
      if (owners.get(x.buffer) === arena) {
        this.ptrs[i] = x.byteOffset;
        continue;
      }
      const j = this.firstAlias(i);
      if (j < i) {
        this.ptrs[i] = this.ptrs[j];
        continue;
      }
      this.ptrs[i] = next;
      arena.f32.set(x, next >> 2);
      next += align16(x.byteLength);
    }
    this.extra = next;
    return arena;
  }

  finish(): void {
    const arena = this.arena;
    for (let i = 0; i < this.count; i++) {
      const x = this.arrs[i];
      if (!this.out[i] || owners.get(x.buffer) === arena) continue;
      const p = this.ptrs[i] >> 2;
      x.set(arena.f32.subarray(p, p + x.length));
    }
  }

  private firstAlias(i: number): number {
    for (let j = 0; j < i; j++) if (sameView(this.arrs[j], this.arrs[i])) return j;
    return i;
  }

  private foreignBytes(arena: Arena): number {
    let sum = 0;
    for (let i = 0; i < this.count; i++) {
      if (owners.get(this.arrs[i].buffer) !== arena && this.firstAlias(i) === i)
        sum += align16(this.arrs[i].byteLength);
    }
    return sum;
  }
}

/** The spherical mean's passes on staged pointers; q and u live in the extra scratch. */
class WasmSphere implements SpherePasses {
  k!: Kernels;
  arena!: Arena;
  px: number[] = [];
  out = 0;
  q = 0;
  u = 0;
  o4 = 0;
  dim = 0;
  sqNorm(k: number): number {
    return this.k.sumSq(this.px[k] + this.o4, this.dim);
  }
  zeroQ(): void {
    this.arena.f64.fill(0, this.q >> 3, (this.q >> 3) + this.dim);
  }
  addQ(k: number, c: number): void {
    this.k.sphAccumulate(this.q, this.px[k] + this.o4, this.dim, c);
  }
  normQ(): number {
    return this.k.norm64(this.q, this.dim);
  }
  divQ(d: number): void {
    this.k.div64(this.q, this.dim, d);
  }
  zeroU(): void {
    this.arena.f64.fill(0, this.u >> 3, (this.u >> 3) + this.dim);
  }
  dotQ(k: number): number {
    return this.k.dot64(this.q, this.px[k] + this.o4, this.dim);
  }
  sinSq(k: number, inv: number, c: number): number {
    return this.k.sinSq(this.q, this.px[k] + this.o4, this.dim, inv, c);
  }
  addLog(k: number, inv: number, c: number, f: number): void {
    this.k.logAccumulate(this.u, this.q, this.px[k] + this.o4, this.dim, inv, c, f);
  }
  normU(): number {
    return this.k.norm64(this.u, this.dim);
  }
  expStep(a: number, b: number): void {
    this.k.expStep(this.q, this.u, this.dim, a, b);
  }
  writeOut(r: number): void {
    this.k.scaleOut(this.out + this.o4, this.q, this.dim, r);
  }
}

function makeWasmBackend(): KernelBackend {
  const st = new Stager();
  const sphere = new WasmSphere();
  const coef = new Float64Array(2);
  return {
    name: 'wasm',

    buffers(count, n) {
      const size = align16(4 * n);
      // scratch: one foreign tensor (a denoiser's ε) and the spherical mean's q, u (float64)
      const scratch = RESULT_BYTES + count * size;
      const total = scratch + size + align16(16 * n);
      const arena = new Arena(Math.ceil(total / PAGE), scratch, false);
      owners.set(arena.memory.buffer, arena);
      return Array.from({ length: count }, (_, i) => new Float32Array(arena.memory.buffer, RESULT_BYTES + i * size, n));
    },

    owns: (x) => owners.has(x.buffer),

    ddim(c: DDIMCoefficients, x, eps, mean, prev, x0, noise) {
      if (x0 !== null) return jsBackend.ddim(c, x, eps, mean, prev, x0, noise);
      const withNoise = prev !== null && c.sigma > 0;
      st.begin();
      const ix = st.add(x, false),
        ie = st.add(eps, false),
        im = st.add(mean, true);
      const ip = prev === null ? im : st.add(prev, true);
      const iz = withNoise ? st.add(noise!, false) : -1;
      const { k } = st.place();
      if (withNoise)
        k.ddimNoise(st.ptr(ix), st.ptr(ie), st.ptr(iz), st.ptr(im), st.ptr(ip), x.length, c.A, c.B, c.sigma);
      else k.ddim(st.ptr(ix), st.ptr(ie), st.ptr(im), st.ptr(ip), x.length, c.A, c.B);
      st.finish();
    },

    combine(a, b, ca, cb, out) {
      st.begin();
      const ia = st.add(a, false),
        ib = st.add(b, false),
        io = st.add(out, true);
      st.place().k.combine(st.ptr(ia), st.ptr(ib), st.ptr(io), out.length, ca, cb);
      st.finish();
    },

    slerp(a, b, w, out, dim) {
      st.begin();
      const ia = st.add(a, false),
        ib = st.add(b, false),
        io = st.add(out, true);
      const { k, f64 } = st.place();
      const pa = st.ptr(ia),
        pb = st.ptr(ib),
        po = st.ptr(io);
      for (let s = 0, o4 = 0; o4 < 4 * out.length; s++, o4 += 4 * dim) {
        k.dot3(pa + o4, pb + o4, dim);
        slerpCoefficients(f64[0], f64[1], f64[2], w, s, coef);
        k.combine(pa + o4, pb + o4, po + o4, dim, coef[0], coef[1]);
      }
      st.finish();
    },

    nlerp(a, b, w, out, dim) {
      st.begin();
      const ia = st.add(a, false),
        ib = st.add(b, false),
        io = st.add(out, true);
      const arena = st.place();
      const { k } = arena;
      const pa = st.ptr(ia),
        pb = st.ptr(ib),
        po = st.ptr(io);
      for (let s = 0, o4 = 0; o4 < 4 * out.length; s++, o4 += 4 * dim) {
        k.nlerpSums(pa + o4, pb + o4, dim, 1 - w, w);
        const f = nlerpFactor(arena.f64[0], arena.f64[1], arena.f64[2], w, s);
        if (f === 0) arena.f32.fill(0, (po + o4) >> 2, ((po + o4) >> 2) + dim);
        else k.combine(pa + o4, pb + o4, po + o4, dim, f * (1 - w), f * w);
      }
      st.finish();
    },

    sphericalMean(xs, weights, out, dim, tol, maxIt, scratch) {
      const norms = scratch.normsFor(xs.length);
      st.begin();
      for (const x of xs) st.add(x, false);
      const io = st.add(out, true);
      const arena = st.place(16 * dim + 16);
      sphere.arena = arena;
      sphere.k = arena.k;
      for (let i = 0; i < xs.length; i++) sphere.px[i] = st.ptr(i);
      sphere.out = st.ptr(io);
      sphere.q = align16(st.extra);
      sphere.u = sphere.q + 8 * dim;
      sphere.dim = dim;
      for (let s = 0, o = 0; o < out.length; s++, o += dim) {
        sphere.o4 = 4 * o;
        sphericalMeanSample(sphere, xs.length, weights, norms, s, tol, maxIt);
      }
      st.finish();
    },

    deviate(x, mu, eta, out, dim, distances, clip) {
      st.begin();
      const ix = st.add(x, false),
        im = st.add(mu, false),
        io = st.add(out, true);
      const arena = st.place();
      const { k } = arena;
      const px = st.ptr(ix),
        pm = st.ptr(im),
        po = st.ptr(io);
      for (let s = 0, o4 = 0; o4 < 4 * x.length; s++, o4 += 4 * dim) {
        const dist = Math.sqrt(k.distSq(px + o4, pm + o4, dim));
        if (distances) distances[s] = dist;
        const f = deviationFactor(dist, eta, clip);
        if (f !== 0) k.deviateStep(px + o4, pm + o4, po + o4, dim, f);
        else if (po !== px) arena.f32.copyWithin((po + o4) >> 2, (px + o4) >> 2, ((px + o4) >> 2) + dim);
      }
      st.finish();
    },

    firstNonFinite(x) {
      st.begin();
      const ix = st.add(x, false);
      const bad = st.place().k.anyNonFinite(st.ptr(ix), x.length);
      return bad === 0 ? -1 : jsBackend.firstNonFinite(x);
    },

    sqNormAt(a, offset, dim) {
      st.begin();
      const ia = st.add(a, false);
      return st.place().k.sumSq(st.ptr(ia) + 4 * offset, dim);
    },
  };
}

let instance: KernelBackend | null = null;

/** The WebAssembly backend (one instance; throws when the runtime cannot run it). */
export function wasmBackend(): KernelBackend {
  if (!wasmSupported())
    throw new Error(
      'the wasm kernel backend needs WebAssembly with 128-bit SIMD, which this runtime lacks; use the js backend',
    );
  instance ??= makeWasmBackend();
  return instance;
}
