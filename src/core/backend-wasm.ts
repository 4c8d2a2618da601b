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
import type { KernelBackend } from './kernel-types.ts';
import { jsBackend } from './backend-js.ts';
import { deviationFactor, nlerpFactor, slerpCoefficients, sphericalMeanSample } from './kernel-math.ts';
import { align16, arenaBuffers, owners, wasmSupported } from './wasm-arena.ts';
import { WasmSphere } from './wasm-sphere.ts';
import { Stager } from './wasm-stager.ts';

export { wasmSupported } from './wasm-arena.ts';

// one backend instance (wasmBackend), so one stager, one sphere and one coefficient pair serve every call
const st = new Stager();
const sphere = new WasmSphere();
const coef = new Float64Array(2);

const ddim: KernelBackend['ddim'] = (c, x, eps, mean, prev, x0, noise) => {
  if (x0 !== null) return jsBackend.ddim(c, x, eps, mean, prev, x0, noise);
  const withNoise = prev !== null && c.sigma > 0;
  st.begin();
  const ix = st.add(x, false),
    ie = st.add(eps, false),
    im = st.add(mean, true);
  const ip = prev === null ? im : st.add(prev, true);
  const iz = withNoise ? st.add(noise!, false) : -1;
  const { k } = st.place();
  if (withNoise) k.ddimNoise(st.ptr(ix), st.ptr(ie), st.ptr(iz), st.ptr(im), st.ptr(ip), x.length, c.A, c.B, c.sigma);
  else k.ddim(st.ptr(ix), st.ptr(ie), st.ptr(im), st.ptr(ip), x.length, c.A, c.B);
  st.finish();
};

const combine: KernelBackend['combine'] = (a, b, ca, cb, out) => {
  st.placeInOut(a, b, out).k.combine(st.ptr(0), st.ptr(1), st.ptr(2), out.length, ca, cb);
  st.finish();
};

const slerp: KernelBackend['slerp'] = (a, b, w, out, dim) => {
  const { k, f64 } = st.placeInOut(a, b, out);
  const pa = st.ptr(0),
    pb = st.ptr(1),
    po = st.ptr(2);
  for (let s = 0, o4 = 0; o4 < 4 * out.length; s++, o4 += 4 * dim) {
    k.dot3(pa + o4, pb + o4, dim);
    slerpCoefficients(f64[0], f64[1], f64[2], w, s, coef);
    k.combine(pa + o4, pb + o4, po + o4, dim, coef[0], coef[1]);
  }
  st.finish();
};

const nlerp: KernelBackend['nlerp'] = (a, b, w, out, dim) => {
  const { k, f32, f64 } = st.placeInOut(a, b, out);
  const pa = st.ptr(0),
    pb = st.ptr(1),
    po = st.ptr(2);
  for (let s = 0, o4 = 0; o4 < 4 * out.length; s++, o4 += 4 * dim) {
    k.nlerpSums(pa + o4, pb + o4, dim, 1 - w, w);
    const f = nlerpFactor(f64[0], f64[1], f64[2], w, s);
    if (f === 0) f32.fill(0, (po + o4) >> 2, ((po + o4) >> 2) + dim);
    else k.combine(pa + o4, pb + o4, po + o4, dim, f * (1 - w), f * w);
  }
  st.finish();
};

const sphericalMean: KernelBackend['sphericalMean'] = (xs, weights, out, dim, tol, maxIt, scratch) => {
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
};

const deviate: KernelBackend['deviate'] = (x, mu, eta, out, dim, distances, clip) => {
  const { k, f32 } = st.placeInOut(x, mu, out);
  const px = st.ptr(0),
    pm = st.ptr(1),
    po = st.ptr(2);
  for (let s = 0, o4 = 0; o4 < 4 * x.length; s++, o4 += 4 * dim) {
    const dist = Math.sqrt(k.distSq(px + o4, pm + o4, dim));
    if (distances) distances[s] = dist;
    const f = deviationFactor(dist, eta, clip);
    if (f !== 0) k.deviateStep(px + o4, pm + o4, po + o4, dim, f);
    else if (po !== px) f32.copyWithin((po + o4) >> 2, (px + o4) >> 2, ((px + o4) >> 2) + dim);
  }
  st.finish();
};

function makeWasmBackend(): KernelBackend {
  return {
    name: 'wasm',
    buffers: arenaBuffers,
    owns: (x) => owners.has(x.buffer),
    ddim,
    combine,
    slerp,
    nlerp,
    sphericalMean,
    deviate,
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
