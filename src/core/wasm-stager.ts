/** How a wasm kernel call (backend-wasm.ts) finds its arrays in one arena: in place, or copied in and out. */
import { Arena, RESULT_BYTES, align16, owners } from './wasm-arena.ts';

/** The growable arena of calls whose arrays live in no arena or do not fit theirs. */
let shared: Arena | null = null;

const sameView = (a: Float32Array, b: Float32Array) =>
  a.buffer === b.buffer && a.byteOffset === b.byteOffset && a.length === b.length;

/**
 * Places a call's arrays in one arena: `add` each array (inputs and outputs), `place` to pick the
 * arena, copy foreign inputs in and get pointers (`ptr`), run the kernels, `finish` to copy
 * foreign outputs back. Reused across calls: a call allocates nothing unless it copies out.
 */
export class Stager {
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

  /** The common call: `begin`, inputs a and b and output out (indices 0, 1, 2), then `place`. */
  placeInOut(a: Float32Array, b: Float32Array, out: Float32Array): Arena {
    this.begin();
    this.add(a, false);
    this.add(b, false);
    this.add(out, true);
    return this.place();
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
