/**
 * The WebAssembly side of the wasm kernel backend (backend-wasm.ts): the module's exports, the
 * support check, and arenas — one linear memory with its instance each. `buffers` arenas are
 * sized once and never grown (growing would detach the views they handed out). The WebAssembly
 * API type and the base64 decoding serve the normal stream's module too (wasm-normal.ts).
 */
import { WASM_KERNELS_BASE64 } from './wasm-module.ts';

/** The module's exports; pointers are byte offsets, n counts elements. */
export interface Kernels {
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
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
export interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: object };
  Memory: new (descriptor: { initial: number }) => WasmMemory;
}
/** This runtime's WebAssembly, or undefined. */
export const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

/** The bytes of a base64 string (a generated module). */
export function base64Bytes(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export const PAGE = 65536;
/** Bytes at address 0 where reductions leave their results (float64 slots). */
export const RESULT_BYTES = 64;
export const align16 = (bytes: number) => (bytes + 15) & ~15;

let bytes: Uint8Array | null = null;
let module: object | null = null;
let supported: boolean | null = null;

function moduleBytes(): Uint8Array {
  bytes ??= base64Bytes(WASM_KERNELS_BASE64);
  return bytes;
}

/** Whether this runtime has WebAssembly and validates the kernels (128-bit SIMD). */
export function wasmSupported(): boolean {
  supported ??= wasm !== undefined && wasm.validate(moduleBytes());
  return supported;
}

/** One linear memory with its instance; `scratch` is the first byte after the arena's buffers. */
export class Arena {
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
export const owners = new WeakMap<ArrayBufferLike, Arena>();

/** `count` buffers of n floats in a new arena of their own, with scratch for one foreign tensor (a denoiser's ε) and the spherical mean's q, u (float64). */
export function arenaBuffers(count: number, n: number): Float32Array[] {
  const size = align16(4 * n);
  const scratch = RESULT_BYTES + count * size;
  const total = scratch + size + align16(16 * n);
  const arena = new Arena(Math.ceil(total / PAGE), scratch, false);
  owners.set(arena.memory.buffer, arena);
  return Array.from({ length: count }, (_, i) => new Float32Array(arena.memory.buffer, RESULT_BYTES + i * size, n));
}
