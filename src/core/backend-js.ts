/**
 * The reference kernel backend: plain loops over Float32Arrays, float64 arithmetic per element,
 * rounded once to float32 on store. These are the loops the core always ran; the seeded golden
 * runs (test/core/golden.test.ts, test-deno/) pin their bits. Every other backend is tested
 * against this one.
 */
import type { KernelBackend } from './kernel-types.ts';
import { sqNormAt } from './tensor.ts';
import {
  deviationFactor,
  nlerpFactor,
  slerpCoefficients,
  sphericalMeanSample,
  type SphereScratch,
  type SpherePasses,
} from './kernel-math.ts';

/** ‖v‖ of the first n values of a float64 vector. */
function norm64(v: Float64Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

/** The spherical mean's passes over JS arrays (q, u: float64 scratch of the calling rule). */
class JsSphere implements SpherePasses {
  q = new Float64Array(0);
  u = new Float64Array(0);
  xs: readonly Float32Array[] = [];
  out: Float32Array = new Float32Array(0);
  o = 0;
  dim = 0;
  bind(xs: readonly Float32Array[], out: Float32Array, dim: number, scratch: SphereScratch): void {
    scratch.reserve(dim);
    this.q = scratch.q;
    this.u = scratch.u;
    this.xs = xs;
    this.out = out;
    this.dim = dim;
  }
  sqNorm(k: number): number {
    return sqNormAt(this.xs[k], this.o, this.dim);
  }
  zeroQ(): void {
    this.q.fill(0, 0, this.dim);
  }
  addQ(k: number, c: number): void {
    const q = this.q,
      x = this.xs[k],
      o = this.o;
    for (let i = 0; i < this.dim; i++) q[i] += c * x[o + i];
  }
  normQ(): number {
    return norm64(this.q, this.dim);
  }
  divQ(d: number): void {
    const q = this.q;
    for (let i = 0; i < this.dim; i++) q[i] /= d;
  }
  zeroU(): void {
    this.u.fill(0, 0, this.dim);
  }
  dotQ(k: number): number {
    const q = this.q,
      x = this.xs[k],
      o = this.o;
    let c = 0;
    for (let i = 0; i < this.dim; i++) c += q[i] * x[o + i];
    return c;
  }
  sinSq(k: number, inv: number, c: number): number {
    const q = this.q,
      x = this.xs[k],
      o = this.o;
    let ss = 0;
    for (let i = 0; i < this.dim; i++) {
      const p = x[o + i] * inv - c * q[i];
      ss += p * p;
    }
    return ss;
  }
  addLog(k: number, inv: number, c: number, f: number): void {
    const q = this.q,
      u = this.u,
      x = this.xs[k],
      o = this.o;
    for (let i = 0; i < this.dim; i++) u[i] += f * (x[o + i] * inv - c * q[i]);
  }
  normU(): number {
    return norm64(this.u, this.dim);
  }
  expStep(a: number, b: number): void {
    const q = this.q,
      u = this.u;
    for (let i = 0; i < this.dim; i++) q[i] = a * q[i] + b * u[i];
  }
  writeOut(r: number): void {
    const q = this.q,
      out = this.out,
      o = this.o;
    for (let i = 0; i < this.dim; i++) out[o + i] = r * q[i];
  }
}

const coef = new Float64Array(2);

const sphere = new JsSphere();

/** DDIM step (eq. 4/6) in float64 per element, as the header of ddim.ts writes it. */
const ddim: KernelBackend['ddim'] = (c, x, eps, mean, prev, x0, noise) => {
  const n = x.length;
  const { x0FromX, x0FromEps, meanFromX0, meanFromEps, sigma } = c;
  const needNoise = prev !== null && sigma > 0;
  // one loop per combination of outputs, so the inner loops carry no branches
  if (!prev && !x0) {
    for (let i = 0; i < n; i++) {
      const e = eps[i];
      mean[i] = meanFromX0 * (x0FromX * x[i] + x0FromEps * e) + meanFromEps * e;
    }
  } else if (prev && !x0 && !needNoise) {
    for (let i = 0; i < n; i++) {
      const e = eps[i];
      const m = meanFromX0 * (x0FromX * x[i] + x0FromEps * e) + meanFromEps * e;
      mean[i] = m;
      prev[i] = m;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const e = eps[i];
      const xh = x0FromX * x[i] + x0FromEps * e;
      if (x0) x0[i] = xh;
      const m = meanFromX0 * xh + meanFromEps * e;
      mean[i] = m;
      if (prev) prev[i] = needNoise ? m + sigma * noise![i] : m;
    }
  }
};

/** Eq. 8 per sample: one pass for the reductions, then out = c_a·a + c_b·b. */
const slerp: KernelBackend['slerp'] = (a, b, w, out, dim) => {
  for (let s = 0, o = 0; o < out.length; s++, o += dim) {
    // one pass for ⟨a, b⟩, ‖a‖², ‖b‖²
    let dot = 0,
      aa = 0,
      bb = 0;
    for (let i = o; i < o + dim; i++) {
      const u = a[i],
        v = b[i];
      dot += u * v;
      aa += u * u;
      bb += v * v;
    }
    slerpCoefficients(dot, aa, bb, w, s, coef);
    const ca = coef[0],
      cb = coef[1];
    for (let i = o; i < o + dim; i++) out[i] = ca * a[i] + cb * b[i];
  }
};

/** Normalized lerp per sample. */
const nlerp: KernelBackend['nlerp'] = (a, b, w, out, dim) => {
  for (let s = 0, o = 0; o < out.length; s++, o += dim) {
    const aa = sqNormAt(a, o, dim),
      bb = sqNormAt(b, o, dim);
    let vv = 0;
    for (let i = o; i < o + dim; i++) {
      const v = (1 - w) * a[i] + w * b[i];
      vv += v * v;
    }
    const k = nlerpFactor(aa, bb, vv, w, s);
    if (k === 0) {
      out.fill(0, o, o + dim);
      continue;
    }
    for (let i = o; i < o + dim; i++) out[i] = k * ((1 - w) * a[i] + w * b[i]);
  }
};

/** The spherical mean per sample, on float64 q and u (`JsSphere`). */
const sphericalMean: KernelBackend['sphericalMean'] = (xs, weights, out, dim, tol, maxIt, scratch) => {
  const norms = scratch.normsFor(xs.length);
  sphere.bind(xs, out, dim, scratch);
  for (let s = 0, o = 0; o < out.length; s++, o += dim) {
    sphere.o = o;
    sphericalMeanSample(sphere, xs.length, weights, norms, s, tol, maxIt);
  }
};

/** Eq. 9 per sample. */
const deviate: KernelBackend['deviate'] = (x, mu, eta, out, dim, distances, clip) => {
  for (let s = 0, o = 0; o < x.length; s++, o += dim) {
    const end = o + dim;
    let sq = 0;
    for (let i = o; i < end; i++) {
      const d = x[i] - mu[i];
      sq += d * d;
    }
    const dist = Math.sqrt(sq);
    if (distances) distances[s] = dist;
    const k = deviationFactor(dist, eta, clip);
    if (k === 0) {
      if (out !== x) for (let i = o; i < end; i++) out[i] = x[i];
      continue;
    }
    for (let i = o; i < end; i++) {
      const xm = x[i];
      out[i] = xm - k * (xm - mu[i]);
    }
  }
};

/** The reference backend (one instance): the kernels above, in JS memory. */
export const jsBackend: KernelBackend = {
  name: 'js',
  buffers: (count, n) => Array.from({ length: count }, () => new Float32Array(n)),
  owns: () => true,
  ddim,
  combine(a, b, ca, cb, out) {
    for (let i = 0; i < out.length; i++) out[i] = ca * a[i] + cb * b[i];
  },
  slerp,
  nlerp,
  sphericalMean,
  deviate,
  firstNonFinite(x) {
    for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) return i;
    return -1;
  },
  sqNormAt,
};
