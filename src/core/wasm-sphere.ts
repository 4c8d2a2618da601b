/** The spherical mean's passes (kernel-math.ts `SpherePasses`) on the wasm kernels, for backend-wasm.ts. */
import type { SpherePasses } from './kernel-math.ts';
import type { Arena, Kernels } from './wasm-arena.ts';

/** The spherical mean's passes on staged pointers; q and u live in the extra scratch. */
export class WasmSphere implements SpherePasses {
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
