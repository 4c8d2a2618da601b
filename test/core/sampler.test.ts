import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { sampleAMDM, sampleDDIM, type StepTrace } from '../../src/core/sampler.ts';
import { makeSchedule } from '../../src/core/schedule.ts';
import { lerp, nlerp, slerp, sphericalMean, vp } from '../../src/core/rules.ts';
import { randn } from '../../src/core/rng.ts';
import { distAt } from '../../src/core/tensor.ts';
import type { Denoiser } from '../../src/core/types.ts';
import { gaussianDenoiser } from '../helpers/gaussian-denoiser.ts';

const schedule = makeSchedule();
const dim = 2 * 4 * 4;
const shape = [2, 4, 4];
const mean = (v: number) => new Float32Array(dim).fill(v);
const ramp = () => Float32Array.from({ length: dim }, (_, i) => (i % 5) / 5 - 0.4);

describe('sampleAMDM basics', () => {
  it('s = 0 equals plain DDIM of the target bit for bit (seeded, any target)', async () => {
    for (const target of [0, 1, 2]) {
      const models = [
        gaussianDenoiser(schedule, mean(0.5), 0.2),
        gaussianDenoiser(schedule, ramp(), 0.1),
        gaussianDenoiser(schedule, mean(-1), 0.3),
      ];
      const amdm = await sampleAMDM({ models, target, steps: 12, aggregateSteps: 0, shape, seed: 7, batch: 2 });
      const ddim = await sampleDDIM(models[target], { steps: 12, shape, seed: 7, batch: 2 });
      expect(Array.from(amdm.latents)).toEqual(Array.from(ddim.latents));
      expect(amdm.calls).toEqual(models.map((_, k) => (k === target ? 12 : 0)));
    }
  });
  it('N = 1 with s > 0 equals DDIM bit for bit, also with η_ddim > 0 (same noise stream)', async () => {
    const m = gaussianDenoiser(schedule, ramp(), 0.2);
    const a = await sampleAMDM({ models: [m], steps: 10, aggregateSteps: 5, shape, seed: 3, ddimEta: 0.5 });
    const b = await sampleDDIM(m, { steps: 10, shape, seed: 3, ddimEta: 0.5 });
    expect(Array.from(a.latents)).toEqual(Array.from(b.latents));
  });
  it('identical models from identical latents reproduce the single-model result for any rule and w', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(slerp, lerp, nlerp, sphericalMean),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 10 }),
        async (rule, w, s) => {
          const g = () => gaussianDenoiser(schedule, ramp(), 0.2);
          const x = randn(11, 2 * dim);
          const single = await sampleDDIM(g(), { steps: 10, shape, latents: x, batch: 2 });
          // η = 0: eq. 9 steps a fixed length η√d towards μ, so a rounding-sized ‖μ − x′‖ (lerp's
          // last bits) would be amplified into a full step in an arbitrary direction (seed 564386423)
          const multi = await sampleAMDM({
            models: [g(), g(), g()],
            steps: 10,
            aggregateSteps: s,
            weights: [w, 1 - w],
            rule,
            eta: 0,
            shape,
            latents: x,
            batch: 2,
          });
          for (let i = 0; i < x.length; i++) expect(multi.latents[i]).toBeCloseTo(single.latents[i], 5);
        },
      ),
      { numRuns: 25 },
    );
  });
  it('counts model calls: T + (N − 1)·s, and only the target runs after step s', async () => {
    const models = [0, 1, 2].map((k) => gaussianDenoiser(schedule, mean(k), 0.2));
    const evaluated: number[][] = [];
    const r = await sampleAMDM({
      models,
      target: 1,
      steps: 20,
      aggregateSteps: 7,
      shape,
      seed: 1,
      onStep: (tr) => evaluated.push(tr.evaluated),
    });
    expect(r.totalCalls).toBe(20 + 2 * 7);
    expect(r.calls).toEqual([7, 20, 7]);
    expect(models.map((m) => m.calls)).toEqual([7, 20, 7]);
    expect(evaluated[6]).toEqual([0, 1, 2]);
    expect(evaluated[7]).toEqual([1]);
  });
  it('seeded runs are reproducible; other seeds differ; each model draws its own initial noise', async () => {
    const models = [gaussianDenoiser(schedule, mean(1), 0.2), gaussianDenoiser(schedule, mean(-1), 0.2)];
    const opts = { models, steps: 8, aggregateSteps: 4, shape, seed: 42 };
    const a = await sampleAMDM(opts),
      b = await sampleAMDM(opts),
      c = await sampleAMDM({ ...opts, seed: 43 });
    expect(Array.from(a.latents)).toEqual(Array.from(b.latents));
    expect(Array.from(a.latents)).not.toEqual(Array.from(c.latents));
    expect(Array.from(a.initialLatents[0])).not.toEqual(Array.from(a.initialLatents[1]));
    expect(Array.from(a.initialLatents[0])).toEqual(Array.from(randn(42, dim, 0)));
    expect(Array.from(a.initialLatents[1])).toEqual(Array.from(randn(42, dim, 1)));
  });
  it('per-sample norms: a batch of 2 equals each sample run alone (the official code mixes them)', async () => {
    const models = [gaussianDenoiser(schedule, mean(1), 0.2), gaussianDenoiser(schedule, ramp(), 0.1)];
    const x0 = randn(5, 2 * dim, 0),
      x1 = randn(5, 2 * dim, 1);
    const both = await sampleAMDM({ models, steps: 10, aggregateSteps: 4, shape, batch: 2, latents: [x0, x1] });
    for (let b = 0; b < 2; b++) {
      const sl = (x: Float32Array) => x.slice(b * dim, (b + 1) * dim);
      const one = await sampleAMDM({ models, steps: 10, aggregateSteps: 4, shape, latents: [sl(x0), sl(x1)] });
      expect(Array.from(sl(both.latents))).toEqual(Array.from(one.latents));
    }
  });
});

describe('concurrent model calls', () => {
  it('give the same result as sequential calls, with async denoisers finishing out of order', async () => {
    const slow = (m: Denoiser, ms: number): Denoiser => ({
      eps: (x, t, b) => new Promise((res) => setTimeout(() => res((m.eps(x, t, b) as Float32Array).slice()), ms)),
    });
    const make = () => [
      slow(gaussianDenoiser(schedule, mean(1), 0.2), 3),
      slow(gaussianDenoiser(schedule, ramp(), 0.1), 0),
      slow(gaussianDenoiser(schedule, mean(-1), 0.3), 1),
    ];
    const opts = { steps: 6, aggregateSteps: 3, shape, seed: 5, ddimEta: 0.2 };
    const seq = await sampleAMDM({ ...opts, models: make() });
    const con = await sampleAMDM({ ...opts, models: make(), concurrent: true });
    expect(Array.from(con.latents)).toEqual(Array.from(seq.latents));
    expect(con.calls).toEqual(seq.calls);
  });
  it('rejects the same denoiser object twice', async () => {
    const g = gaussianDenoiser(schedule, mean(1), 0.2);
    await expect(sampleAMDM({ models: [g, g], steps: 4, aggregateSteps: 2, shape, concurrent: true })).rejects.toThrow(
      /concurrent: true needs distinct denoiser objects/,
    );
  });
});

describe('aggregation and deviation inside the sampler', () => {
  it('the trace reports angles, the merged norm and ‖x′ − μₖ‖; η is √d-scaled by default', async () => {
    const models = [gaussianDenoiser(schedule, mean(1), 0.2), gaussianDenoiser(schedule, mean(-1), 0.2)];
    const traces: StepTrace[] = [];
    await sampleAMDM({
      models,
      steps: 6,
      aggregateSteps: 3,
      shape,
      seed: 9,
      eta: [0.3, 0.1],
      onStep: (t) => traces.push(t),
    });
    expect(traces.map((t) => t.aggregated)).toEqual([true, true, true, false, false, false]);
    const t0 = traces[0];
    expect(t0.etas).toEqual([0.3 * Math.sqrt(dim), 0.1 * Math.sqrt(dim)]);
    expect(t0.angles![0][0]).toBeGreaterThan(0.5); // independent draws: roughly orthogonal
    expect(t0.deviations![0][0]).toBeGreaterThan(0);
    expect(t0.weights).toEqual([0.5]);
    // the slerp of two proposals of similar norm keeps the norm
    expect(t0.mixedNorms![0] / t0.proposalNorms[0][0]).toBeGreaterThan(0.9);
    expect(traces[4].mixedNorms).toBeUndefined();
  });
  it('one aggregated step by hand: DDIM → slerp → eq. 9, for each model', async () => {
    const m0 = gaussianDenoiser(schedule, mean(1), 0.2),
      m1 = gaussianDenoiser(schedule, ramp(), 0.3);
    const x0 = randn(1, dim, 0),
      x1 = randn(1, dim, 1);
    const r = await sampleAMDM({
      models: [m0, m1],
      steps: 1,
      aggregateSteps: 1,
      shape,
      latents: [x0, x1],
      weights: 0.3,
      eta: 0.2,
      etaScale: 'absolute',
    });
    const t = r.timesteps[0];
    const { ddimStep } = await import('../../src/core/ddim.ts');
    const y0 = ddimStep(schedule, x0, m0.eps(x0, t, 1) as Float32Array, t, t - 1000).mean;
    const y1 = ddimStep(schedule, x1, m1.eps(x1, t, 1) as Float32Array, t, t - 1000).mean;
    const mixed = slerp([y0, y1], [0.3], new Float32Array(dim), dim);
    const d = distAt(mixed, y0, 0, dim);
    for (let i = 0; i < dim; i++) expect(r.latents[i]).toBeCloseTo(mixed[i] - (0.2 * (mixed[i] - y0[i])) / d, 5);
    const d1 = distAt(mixed, y1, 0, dim);
    for (let i = 0; i < dim; i++)
      expect(r.modelLatents[1][i]).toBeCloseTo(mixed[i] - (0.2 * (mixed[i] - y1[i])) / d1, 5);
  });
  it("deviation 'relative' by hand: x = x′ + λ(μₖ − x′) for each model; λ = 0 equals eq. 9 with η = 0", async () => {
    const m0 = gaussianDenoiser(schedule, mean(1), 0.2),
      m1 = gaussianDenoiser(schedule, ramp(), 0.3);
    const x0 = randn(1, dim, 0),
      x1 = randn(1, dim, 1);
    const traces: StepTrace[] = [];
    const r = await sampleAMDM({
      models: [m0, m1],
      steps: 1,
      aggregateSteps: 1,
      shape,
      latents: [x0, x1],
      weights: 0.3,
      eta: [0.25, 0.6],
      deviation: 'relative',
      onStep: (t) => traces.push(t),
    });
    const t = r.timesteps[0];
    const { ddimStep } = await import('../../src/core/ddim.ts');
    const y0 = ddimStep(schedule, x0, m0.eps(x0, t, 1) as Float32Array, t, t - 1000).mean;
    const y1 = ddimStep(schedule, x1, m1.eps(x1, t, 1) as Float32Array, t, t - 1000).mean;
    const mixed = slerp([y0, y1], [0.3], new Float32Array(dim), dim);
    for (let i = 0; i < dim; i++) {
      expect(r.latents[i]).toBeCloseTo(mixed[i] + 0.25 * (y0[i] - mixed[i]), 5);
      expect(r.modelLatents[1][i]).toBeCloseTo(mixed[i] + 0.6 * (y1[i] - mixed[i]), 5);
    }
    expect(traces[0].etas).toEqual([0.25, 0.6]); // λ, not scaled by √d
    expect(traces[0].deviations![0][0]).toBeCloseTo(distAt(mixed, y0, 0, dim), 4);
    const models = [m0, m1];
    const rel0 = await sampleAMDM({
      models,
      steps: 8,
      aggregateSteps: 4,
      shape,
      seed: 3,
      eta: 0,
      deviation: 'relative',
    });
    const eq0 = await sampleAMDM({ models, steps: 8, aggregateSteps: 4, shape, seed: 3, eta: 0 });
    expect(rel0.latents).toEqual(eq0.latents);
    // λ = 1 returns the target to its own step mean every step: the target alone (plain DDIM)
    const rel1 = await sampleAMDM({
      models,
      steps: 8,
      aggregateSteps: 4,
      shape,
      seed: 3,
      eta: 1,
      deviation: 'relative',
    });
    const alone = await sampleAMDM({ models: [m0], steps: 8, aggregateSteps: 0, shape, seed: 3 });
    for (let i = 0; i < dim; i++) expect(rel1.latents[i]).toBeCloseTo(alone.latents[i], 5);
  });
  it('per-step weights and η as functions; vp and lerp rules by name', async () => {
    const models = [gaussianDenoiser(schedule, mean(1), 0.2), gaussianDenoiser(schedule, mean(-1), 0.2)];
    const seen: number[] = [];
    const r = await sampleAMDM({
      models,
      steps: 5,
      aggregateSteps: 3,
      shape,
      seed: 2,
      weights: (i) => 0.1 * (i + 1),
      eta: (i, k) => (k === 0 ? 0.05 * i : 0),
      rule: 'vp',
      onStep: (t) => t.weights && seen.push(t.weights[0]),
    });
    expect(seen.map((v) => +v.toFixed(10))).toEqual([0.1, 0.2, 0.3]);
    expect(r.latents.every(Number.isFinite)).toBe(true);
    await expect(sampleAMDM({ models, steps: 5, aggregateSteps: 3, shape, rule: 'lerp' })).resolves.toBeTruthy();
    void vp;
  });
});

describe('bad input gets a clear error', () => {
  const models = [gaussianDenoiser(schedule, mean(1), 0.2), gaussianDenoiser(schedule, mean(-1), 0.2)];
  const base = { models, steps: 10, aggregateSteps: 3, shape };
  it.each([
    [{ weights: 1.2 }, /weights must be in \[0, 1\], got 1.2/],
    [{ weights: [0.5, 0.5] }, /weights must hold 1 number\(s\) \(one per non-target model\), got 2/],
    [{ weights: () => -0.1 }, /weights \(step 0 of 10\) must be in \[0, 1\], got -0.1/],
    [{ aggregateSteps: -1 }, /aggregateSteps must be an integer in \[0, 10\], got -1/],
    [{ aggregateSteps: 11 }, /aggregateSteps must be an integer in \[0, 10\], got 11/],
    [{ steps: 0 }, /steps must be an integer in \[1, 1000\], got 0/],
    [{ steps: 1001 }, /steps must be an integer in \[1, 1000\], got 1001/],
    [{ eta: -0.3 }, /eta must be in \[0, Infinity\], got -0.3/],
    [{ eta: [0.1] }, /eta must hold 2 number\(s\) \(one per model\), got 1/],
    [{ rule: 'bilinear' }, /rule must be one of 'slerp', 'lerp', 'nlerp', 'vp', 'sphericalMean'/],
    [{ etaScale: 'relative' }, /etaScale must be one of 'absolute', 'sqrtDim'/],
    [{ deviation: 'clipped' }, /deviation must be one of 'eq9', 'relative', got "clipped"/],
    [{ deviation: 'relative', eta: 1.5 }, /eta \(λ of deviation 'relative'\) must be in \[0, 1\], got 1.5/],
    [
      { deviation: 'relative', eta: [0.2, -0.1] },
      /eta\[1\] \(λ of deviation 'relative'\) must be in \[0, 1\], got -0.1/,
    ],
    [
      { deviation: 'relative', eta: () => 2 },
      /eta \(λ of deviation 'relative'\) \(step 0 of 10, model 0\) must be in \[0, 1\], got 2/,
    ],
    [
      { deviation: 'relative', etaScale: 'sqrtDim' },
      /etaScale applies only to deviation 'eq9'.*leave etaScale unset, got "sqrtDim"/,
    ],
    [{ deviation: 'relative', clipDeviation: false }, /clipDeviation applies only to deviation 'eq9'/],
    [{ target: 2 }, /target must be an integer in \[0, 1\], got 2/],
    [{ latents: new Float32Array(5) }, /latents must have length batch·dim = 1·32 = 32, got 5/],
    [{ latents: [new Float32Array(32), new Float32Array(31)] }, /latents\[1\] must have length batch·dim = 32, got 31/],
    [{ shape: [2, 0] }, /shape\[1\] must be an integer in \[1,/],
    [{ spacing: 'log' }, /spacing must be one of 'leading', 'trailing', 'linspace'/],
    [{ ddimEta: 2 }, /ddimEta must be in \[0, 1\], got 2/],
  ])('%o', async (bad, msg) => {
    await expect(sampleAMDM({ ...base, ...(bad as object) })).rejects.toThrow(msg);
  });
  it('a denoiser returning the wrong length or a non-finite value is named with its index and step', async () => {
    const short: Denoiser = { name: 'short', eps: (x) => new Float32Array(x.length - 1) };
    await expect(sampleAMDM({ ...base, models: [models[0], short] })).rejects.toThrow(
      /models\[1\] \(short\) returned a Float32Array of length 31 at step 0 \(t = 901\); expected a Float32Array of length 32/,
    );
    let calls = 0;
    const nan: Denoiser = {
      eps: (x) => {
        calls++;
        const e = new Float32Array(x.length);
        if (calls === 3) e[4] = NaN;
        return e;
      },
    };
    await expect(sampleAMDM({ ...base, models: [nan, models[1]] })).rejects.toThrow(
      /models\[0\] \(unnamed\) returned a non-finite value \(NaN\) at index 4, step 2 \(t = 701\)/,
    );
  });
  it('an AbortSignal stops sampling between model calls', async () => {
    const ctrl = new AbortController();
    const r = sampleAMDM({
      ...base,
      onStep: (t) => {
        if (t.step === 1) ctrl.abort();
      },
      signal: ctrl.signal,
    });
    await expect(r).rejects.toThrow(/aborted/);
  });
});

describe('a denoiser that fails', () => {
  const ok: Denoiser = { name: 'interact', eps: (x) => new Float32Array(x.length) };
  /** Throws (or rejects) at its third call. */
  const failing = (reject: boolean): Denoiser => {
    let n = 0;
    return {
      name: 'migc',
      eps: (x) => {
        if (++n < 3) return new Float32Array(x.length);
        const e = new Error('CUDA out of memory');
        if (reject) return Promise.reject(e);
        throw e;
      },
    };
  };
  it.each([false, true])('is named with its step and t, its error kept as the cause (rejects: %s)', async (reject) => {
    // T = 4 'leading' timesteps of SD 1.x: 751, 501, 251, 1; the third call is at step 2
    for (const concurrent of [false, true]) {
      const err = await sampleAMDM({
        models: [ok, failing(reject)],
        steps: 4,
        aggregateSteps: 4,
        shape,
        seed: 0,
        concurrent,
      }).then(
        () => null,
        (e: Error) => e,
      );
      expect(err?.message).toBe('models[1] (migc) failed at step 2 (t = 251): CUDA out of memory');
      expect((err?.cause as Error).message).toBe('CUDA out of memory');
    }
  });
  it('is named by the official-code preset too', async () => {
    const { sampleAMDMReference } = await import('../../src/core/reference.ts');
    const err = await sampleAMDMReference({
      models: [ok, failing(false)],
      steps: 4,
      omegas: [0.5],
      optimStart: 0,
      optimEnd: 3,
      p: [1, 1],
      shape,
      seed: 1,
    }).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).toBe('models[1] (migc) failed at step 2 (t = 251): CUDA out of memory');
  });
});
