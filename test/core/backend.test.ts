import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  BACKEND_NAMES,
  kernelBackend,
  resolveBackend,
  setKernelBackend,
  type KernelBackend,
} from '../../src/core/backend.ts';
import { wasmSupported } from '../../src/core/backend-wasm.ts';
import { ddimCoefficients, ddimStepInto } from '../../src/core/ddim.ts';
import { deviate } from '../../src/core/deviation.ts';
import { RULES, makeSphericalMean, type RuleName } from '../../src/core/rules.ts';
import { sampleAMDM } from '../../src/core/sampler.ts';
import { makeSchedule } from '../../src/core/schedule.ts';
import { gaussianDenoiser } from '../helpers/gaussian-denoiser.ts';
import { gaussianRng } from '../../src/core/rng.ts';
import type { Denoiser } from '../../src/core/types.ts';

const js = resolveBackend('js');
const wasm = resolveBackend('wasm');
const randn = (n: number, stream: number) => {
  const x = new Float32Array(n);
  gaussianRng(77, stream).fillNormal(x);
  return x;
};

/**
 * Largest |a − b| per sample over the largest |b| of that sample, or over the largest `scale`
 * (the magnitude of the terms an element is summed from, for sums that may cancel).
 */
function relErr(a: Float32Array, b: Float32Array, dim: number, scale: ArrayLike<number> = b): number {
  let worst = 0;
  for (let o = 0; o < b.length; o += dim) {
    let d = 0,
      m = 0;
    for (let i = o; i < o + dim; i++) {
      d = Math.max(d, Math.abs(a[i] - b[i]));
      m = Math.max(m, Math.abs(scale[i]));
    }
    worst = Math.max(worst, m === 0 ? d : d / m);
  }
  return worst;
}

// odd sizes, sizes below and above one 4-lane vector, dims that are not a multiple of 4
const DIMS = [1, 3, 4, 5, 7, 16, 33, 130, 1027];
const BATCHES = [1, 2, 3, 8];
const SHAPES = DIMS.flatMap((dim) => BATCHES.map((batch) => ({ dim, batch })));

/** Places `x` where a backend's kernels use it in place (its buffers) or leaves it foreign. */
function place(k: KernelBackend, x: Float32Array, inPlace: boolean): Float32Array {
  if (!inPlace) return x.slice();
  const [b] = k.buffers(1, x.length);
  b.set(x);
  return b;
}

describe('wasm kernels agree with the js reference (≤ 1e-6 relative)', () => {
  it('this runtime runs the wasm backend', () => {
    expect(wasmSupported()).toBe(true);
    expect(wasm.name).toBe('wasm');
  });

  const pairRules: RuleName[] = ['slerp', 'lerp', 'nlerp', 'vp'];
  for (const inPlace of [false, true]) {
    const where = inPlace ? 'backend buffers' : 'plain arrays';
    it(`every pairwise rule, every shape, w ∈ {0, 0.3, 0.5, 1} (${where})`, () => {
      for (const { dim, batch } of SHAPES) {
        const n = dim * batch;
        const a = randn(n, dim),
          b = randn(n, dim + 1000);
        for (const r of pairRules) {
          for (const w of [0, 0.3, 0.5, 1]) {
            const ref = new Float32Array(n);
            let refError: unknown = null;
            try {
              RULES[r]([a, b], [w], ref, dim, js);
            } catch (e) {
              refError = e;
            }
            const out = place(wasm, new Float32Array(n), inPlace);
            const run = () => RULES[r]([place(wasm, a, inPlace), place(wasm, b, inPlace)], [w], out, dim, wasm);
            if (refError) {
              expect(run).toThrow((refError as Error).message);
              continue;
            }
            run();
            expect(relErr(out, ref, dim), `${r} dim ${dim} batch ${batch} w ${w}`).toBeLessThanOrEqual(1e-6);
          }
        }
      }
    });
  }

  it('out may alias xs[0], for plain arrays and backend buffers', () => {
    const dim = 33,
      n = 3 * dim;
    for (const inPlace of [false, true]) {
      for (const r of ['slerp', 'nlerp', 'vp'] as const) {
        const a = randn(n, 1),
          b = randn(n, 2);
        const ref = RULES[r]([a, b], [0.4], new Float32Array(n), dim, js);
        const x = place(wasm, a, inPlace);
        expect(RULES[r]([x, place(wasm, b, inPlace)], [0.4], x, dim, wasm)).toBe(x);
        expect(relErr(x, ref, dim)).toBeLessThanOrEqual(1e-6);
      }
    }
  });

  it('sphericalMean with 2, 3 and 4 inputs, every shape with dim ≥ 3', () => {
    const rule = makeSphericalMean({ tolerance: 1e-12 });
    for (const { dim, batch } of SHAPES.filter((s) => s.dim >= 3)) {
      const n = dim * batch;
      for (const N of [2, 3, 4]) {
        // inputs share a common direction so the mean is unique even in few dimensions
        const base = randn(n, 5);
        const xs = Array.from({ length: N }, (_, k) => {
          const x = randn(n, 10 + k);
          for (let i = 0; i < n; i++) x[i] = 0.4 * x[i] + base[i];
          return x;
        });
        const w = Array.from({ length: N }, (_, k) => (k + 1) / ((N * (N + 1)) / 2));
        const ref = rule(xs, w, new Float32Array(n), dim, js);
        const out = rule(
          xs.map((x) => place(wasm, x, batch % 2 === 0)),
          w,
          new Float32Array(n),
          dim,
          wasm,
        );
        expect(relErr(out, ref, dim), `N ${N} dim ${dim} batch ${batch}`).toBeLessThanOrEqual(1e-6);
      }
    }
  });

  it('DDIM step with and without noise at early, middle and late timesteps; x̂₀ from the float64 reference', () => {
    const schedule = makeSchedule();
    for (const { dim, batch } of SHAPES) {
      const n = dim * batch;
      const x = randn(n, 1),
        e = randn(n, 2),
        z = randn(n, 3);
      for (const [t, tp, eta] of [
        [981, 931, 0],
        [501, 451, 0.5],
        [41, 1, 1],
      ] as const) {
        const c = ddimCoefficients(schedule, t, tp, eta);
        const out = (k: KernelBackend, withX0: boolean) => {
          const mean = new Float32Array(n),
            prev = new Float32Array(n),
            x0 = new Float32Array(n);
          ddimStepInto(c, x, e, mean, { prev, x0: withX0 ? x0 : null, noise: z, kernels: k });
          return { mean, prev, x0 };
        };
        const r = out(js, true),
          w = out(wasm, false);
        // relative to the terms of μ = A·x + B·ε (+ σ·z), which cancel in some elements
        const terms = Float64Array.from(
          x,
          (v, i) => Math.abs(c.A * v) + Math.abs(c.B * e[i]) + Math.abs(c.sigma * z[i]),
        );
        for (const key of ['mean', 'prev'] as const)
          expect(relErr(w[key], r[key], dim, terms), `${key} t ${t} dim ${dim}`).toBeLessThanOrEqual(1e-6);
        // x̂₀ cancels at high noise: the wasm backend computes it with the reference loop
        expect(out(wasm, true)).toEqual(r);
      }
    }
  });

  it('deviation (eq. 9): outputs ≤ 1e-6 relative, distances ≤ 1e-12 relative, with and without clipping', () => {
    for (const { dim, batch } of SHAPES) {
      const n = dim * batch;
      const x = randn(n, 1),
        mu = randn(n, 2);
      mu.set(x.subarray(0, dim)); // sample 0 at distance 0: left unchanged
      for (const eta of [0, 0.5, 50]) {
        for (const clip of [false, true]) {
          const dr = new Float64Array(batch),
            dw = new Float64Array(batch);
          const ref = deviate(x, mu, new Float32Array(n), { eta, dim, distances: dr, clip, kernels: js });
          const out = deviate(place(wasm, x, clip), mu, new Float32Array(n), {
            eta,
            dim,
            distances: dw,
            clip,
            kernels: wasm,
          });
          expect(relErr(out, ref, dim)).toBeLessThanOrEqual(1e-6);
          for (let s = 0; s < batch; s++) expect(Math.abs(dw[s] - dr[s])).toBeLessThanOrEqual(1e-12 * dr[s]);
        }
      }
    }
  });

  it('non-finite scans find the same index; sample norms agree to 1e-12', () => {
    for (const n of [1, 3, 4, 9, 1027]) {
      const x = randn(n, 4);
      expect(wasm.firstNonFinite(x)).toBe(-1);
      for (const bad of [NaN, Infinity, -Infinity]) {
        const y = x.slice();
        y[n - 1] = bad;
        if (n > 2) y[1] = bad;
        expect(wasm.firstNonFinite(y)).toBe(js.firstNonFinite(y));
      }
      expect(Math.abs(wasm.sqNormAt(x, 0, n) / js.sqNormAt(x, 0, n) - 1)).toBeLessThanOrEqual(1e-12);
    }
  });

  it('a whole AMDM run (every rule, odd shape, batch 2, η_ddim > 0) stays within 1e-5 of js', async () => {
    const schedule = makeSchedule();
    const dim = 3 * 5 * 7;
    const model = (offset: number, sigma: number) =>
      gaussianDenoiser(
        schedule,
        Float32Array.from({ length: dim }, (_, i) => Math.sin(offset + i / 7)),
        sigma,
      );
    for (const rule of Object.keys(RULES) as RuleName[]) {
      const run = (backend: 'js' | 'wasm') =>
        sampleAMDM({
          models: [model(0, 0.5), model(1, 0.6), model(2, 0.4)],
          steps: 12,
          aggregateSteps: 6,
          rule,
          shape: [3, 5, 7],
          batch: 2,
          seed: 5,
          ddimEta: 0.5,
          backend,
        });
      const [r, w] = await Promise.all([run('js'), run('wasm')]);
      expect(relErr(w.latents, r.latents, dim), rule).toBeLessThanOrEqual(1e-5);
      // results are copies, not views of the backend's memory
      expect(w.latents.buffer.byteLength).toBe(w.latents.byteLength);
    }
  });
});

describe('choosing a backend', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  it('names, objects and auto resolve; anything else names the allowed values', () => {
    expect(BACKEND_NAMES).toEqual(['js', 'wasm']);
    expect(resolveBackend('auto').name).toBe('wasm');
    expect(resolveBackend(js)).toBe(js);
    expect(() => resolveBackend('gpu' as never)).toThrow(
      "backend must be one of 'auto', 'js', 'wasm' or a KernelBackend, got \"gpu\"",
    );
    const prev = kernelBackend();
    expect(setKernelBackend('js')).toBe(js);
    expect(kernelBackend()).toBe(js);
    setKernelBackend(prev);
  });

  it('the sampler rejects an unknown backend before any model runs', async () => {
    let calls = 0;
    const m: Denoiser = {
      eps: (x) => {
        calls++;
        return x;
      },
    };
    await expect(
      sampleAMDM({ models: [m], steps: 2, aggregateSteps: 0, shape: [4], backend: 'cuda' as never }),
    ).rejects.toThrow(/backend must be one of 'auto', 'js', 'wasm'/);
    expect(calls).toBe(0);
  });

  it('AMDM_BACKEND picks the first backend used; a bad value is an error naming it', async () => {
    vi.stubEnv('AMDM_BACKEND', 'js');
    expect((await import('../../src/core/backend.ts')).kernelBackend().name).toBe('js');
    vi.resetModules();
    vi.stubEnv('AMDM_BACKEND', 'wasm');
    expect((await import('../../src/core/backend.ts')).kernelBackend().name).toBe('wasm');
    vi.resetModules();
    vi.stubEnv('AMDM_BACKEND', 'simd');
    const fresh = await import('../../src/core/backend.ts');
    expect(() => fresh.kernelBackend()).toThrow(
      "AMDM_BACKEND must be one of 'auto', 'js', 'wasm' or a KernelBackend, got \"simd\"",
    );
    vi.resetModules();
    vi.stubEnv('AMDM_BACKEND', '');
    expect((await import('../../src/core/backend.ts')).kernelBackend().name).toBe('wasm');
  });
});
