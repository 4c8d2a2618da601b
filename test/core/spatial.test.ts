import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { sampleAMDM, sampleDDIM, type AMDMOptions, type StepTrace } from '../../src/core/sampler.ts';
import { resolveAMDMPlan } from '../../src/core/sampler-plan.ts';
import { makeSchedule } from '../../src/core/schedule.ts';
import { lerp, slerp, sphericalMean, vp } from '../../src/core/rules.ts';
import { deviate, deviateRelative } from '../../src/core/deviation.ts';
import { randn } from '../../src/core/rng.ts';
import { boxWeightMap, deviateWithMap, mergeWithMap, mapCells } from '../../src/core/spatial.ts';
import type { Denoiser } from '../../src/core/types.ts';
import { resolveBackend } from '../../src/core/backend.ts';
import { gaussianDenoiser } from '../helpers/gaussian-denoiser.ts';

const js = resolveBackend('js');

const schedule = makeSchedule();
const shape = [2, 4, 4];
const dim = 32;
const cells = 16;

function meanOf(seed: number): Float32Array {
  return randn(seed, dim);
}

const models = (): Denoiser[] => [
  gaussianDenoiser(schedule, meanOf(1), 0.3, 'a'),
  gaussianDenoiser(schedule, meanOf(2), 0.3, 'b'),
  gaussianDenoiser(schedule, meanOf(3), 0.3, 'c'),
];

const run = (o: Partial<AMDMOptions> = {}) =>
  sampleAMDM({ models: models().slice(0, 2), steps: 6, aggregateSteps: 4, shape, batch: 2, seed: 5, ...o });

const mapArb = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: cells, maxLength: cells });

describe('mergeWithMap (spatial weights in eq. 8)', () => {
  it('an all-0 map returns the target bit for bit; an all-1 map is the rule itself; w = 1 with an all-1 map the other model', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.constantFrom('slerp', 'lerp', 'vp') as fc.Arbitrary<'slerp' | 'lerp' | 'vp'>,
        (seed, w, r) => {
          const a = randn(seed, 2 * dim),
            b = randn(seed + 1, 2 * dim);
          const out = new Float32Array(2 * dim);
          mergeWithMap(a, b, out, { rule: r, w, map: new Float32Array(cells), dim });
          expect(out).toEqual(a);
          mergeWithMap(a, b, out, { rule: r, w, map: new Float32Array(cells).fill(1), dim });
          // all-1: bit for bit the rule on the JS reference (same sums in the same order, same coefficients)
          const plain = { slerp, lerp, vp }[r]([a, b], [w], new Float32Array(2 * dim), dim, js);
          expect(out).toEqual(plain);
          mergeWithMap(a, b, out, { rule: r, w: 1, map: new Float32Array(cells).fill(1), dim });
          expect(out).toEqual(b);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('a constant map c is the rule with weight w·c (the angle does not change)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        (seed, w, c) => {
          const a = randn(seed, dim),
            b = randn(seed + 7, dim);
          const out = new Float32Array(dim);
          mergeWithMap(a, b, out, { rule: 'slerp', w, map: new Float32Array(cells).fill(c), dim });
          const ref = slerp([a, b], [w * c], new Float32Array(dim), dim);
          for (let i = 0; i < dim; i++) expect(out[i]).toBeCloseTo(ref[i], 5);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("a hard map keeps slerp's norm per region: inside R the regional slerp, a elsewhere, ‖out‖ = ‖a‖ when ‖a_R‖ = ‖b_R‖", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.array(fc.boolean(), { minLength: cells, maxLength: cells }).filter((m) => m.some((v) => v)),
        (seed, w, inside) => {
          const map = Float32Array.from(inside, (v) => (v ? 1 : 0));
          const a = randn(seed, dim),
            b = randn(seed + 3, dim);
          // rescale b inside R to ‖a_R‖
          const sq = (x: Float32Array) => x.reduce((s, v, i) => s + (map[i % cells] ? v * v : 0), 0);
          const k = Math.sqrt(sq(a) / sq(b));
          for (let i = 0; i < dim; i++) if (map[i % cells]) b[i] *= k;
          const out = new Float32Array(dim),
            theta = new Float64Array(1);
          mergeWithMap(a, b, out, { rule: 'slerp', w, map, dim, angles: theta });
          for (let i = 0; i < dim; i++) if (!map[i % cells]) expect(out[i]).toBe(a[i]);
          expect(Math.sqrt(sq(out))).toBeCloseTo(Math.sqrt(sq(a)), 4);
          // and the regional angle is what the trace reports
          let dot = 0;
          for (let i = 0; i < dim; i++) if (map[i % cells]) dot += a[i] * b[i];
          expect(theta[0]).toBeCloseTo(Math.acos(Math.min(1, Math.max(-1, dot / sq(a)))), 5);
        },
      ),
      { numRuns: 80 },
    );
  });

  it('reports θ_m for every rule; only slerp refuses antipodal inputs', () => {
    const a = randn(4, dim),
      b = randn(5, dim);
    const map = boxWeightMap({ height: 4, width: 4, boxes: [[0, 0, 0.5, 1]], feather: 1 });
    const th = (r: 'slerp' | 'lerp' | 'vp', x = b) => {
      const t = new Float64Array(1);
      mergeWithMap(a, x, new Float32Array(dim), { rule: r, w: 0.5, map, dim, angles: t });
      return t[0];
    };
    expect(th('lerp')).toBe(th('slerp'));
    expect(th('vp')).toBe(th('slerp'));
    expect(th('lerp')).toBeGreaterThan(0.5);
    expect(
      th(
        'lerp',
        a.map((v) => -v),
      ),
    ).toBeCloseTo(Math.PI, 6);
  });

  it('refuses antipodal inputs where the map is', () => {
    const a = randn(1, dim);
    const b = a.map((v) => -v);
    expect(() =>
      mergeWithMap(a, b, new Float32Array(dim), { rule: 'slerp', w: 0.5, map: new Float32Array(cells).fill(0.5), dim }),
    ).toThrow('slerp with a spatial map: sample 0 has antipodal inputs where the map is');
  });
});

describe('deviateWithMap (eq. 9 restricted to a map)', () => {
  it('all-1 is eq. 9 / the relative step bit for bit; all-0 no step; a step of length η spent inside the map', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        mapArb,
        (seed, eta, m) => {
          const x = randn(seed, 2 * dim),
            mu = randn(seed + 1, 2 * dim);
          const d1 = new Float64Array(2),
            d2 = new Float64Array(2);
          const ones = new Float32Array(cells).fill(1);
          const out = new Float32Array(2 * dim);
          deviateWithMap(x, mu, out, { eta, map: ones, dim, distances: d1 });
          expect(out).toEqual(deviate(x, mu, new Float32Array(2 * dim), { eta, dim, distances: d2, kernels: js }));
          expect(d1).toEqual(d2);
          deviateWithMap(x, mu, out, { eta, map: ones, dim, distances: d1, relative: true });
          expect(out).toEqual(deviateRelative(x, mu, new Float32Array(2 * dim), { lambda: eta, dim, distances: d2 }));
          deviateWithMap(x, mu, out, { eta, map: new Float32Array(cells), dim, distances: d1 });
          expect(out).toEqual(x);
          expect([...d1]).toEqual([0, 0]);
          const map = Float32Array.from(m);
          deviateWithMap(x, mu, out, { eta, map, dim, distances: d1 });
          for (let s = 0; s < 2; s++) {
            let len = 0;
            for (let i = s * dim; i < (s + 1) * dim; i++) {
              if (map[i % cells] === 0) expect(out[i]).toBe(x[i]);
              len += (out[i] - x[i]) ** 2;
            }
            if (d1[s] > 0) expect(Math.sqrt(len)).toBeCloseTo(eta, 4);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('boxWeightMap', () => {
  it('1 inside the boxes, a linear feather outside, 0 beyond; invert gives 1 − m', () => {
    const hard = boxWeightMap({ height: 4, width: 4, boxes: [[0.25, 0.25, 0.75, 0.75]] });
    expect([...hard]).toEqual([0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0]);
    const soft = boxWeightMap({ height: 4, width: 4, boxes: [[0.25, 0.25, 0.75, 0.75]], feather: 2 });
    // centre (0.5, 1.5) is 0.5 cells left of the box: 1 − 0.5/2; the corner (0.5, 0.5) is √0.5 away
    expect(soft[4]).toBeCloseTo(0.75, 6);
    expect(soft[0]).toBeCloseTo(1 - Math.SQRT1_2 / 2, 6);
    expect(soft[5]).toBe(1);
    const inv = boxWeightMap({ height: 4, width: 4, boxes: [[0.25, 0.25, 0.75, 0.75]], feather: 2, invert: true });
    inv.forEach((v, i) => expect(v).toBeCloseTo(1 - soft[i], 7));
    expect(mapCells([3, 16, 8])).toBe(128);
    expect(mapCells([10])).toBe(10);
  });
  it('names a bad box or feather', () => {
    expect(() => boxWeightMap({ height: 4, width: 4, boxes: [[0.5, 0, 0.25, 1]] })).toThrow(
      'boxes[0] must have x0 < x1 and y0 < y1, got [0.5, 0, 0.25, 1]',
    );
    expect(() => boxWeightMap({ height: 4, width: 4, boxes: [[0, 0, 1.5, 1]] })).toThrow(
      'boxes[0][2] must be in [0, 1], got 1.5',
    );
    expect(() => boxWeightMap({ height: 4, width: 4, boxes: [], feather: -1 })).toThrow(
      'feather must be in [0, 4], got -1',
    );
  });
});

describe('sampleAMDM with spatial weights, windows and schedules', () => {
  it('an all-0 map is the target alone bit for bit (DDIM of the target), on both kernel backends', async () => {
    for (const backend of ['js', 'wasm'] as const) {
      const r = await run({ spatialWeights: [new Float32Array(cells)], backend, eta: 0.5 });
      const alone = await sampleDDIM(models()[0], { steps: 6, shape, batch: 2, seed: 5, backend });
      expect(r.latents).toEqual(alone.latents);
      const r2 = await run({ spatialWeights: [new Float32Array(cells)], spatialDeviation: true, backend, eta: 0.5 });
      expect(r2.latents).toEqual(alone.latents);
    }
  });

  it('an all-1 map is the run without one: bit for bit on js, ≤ 1e-5 on wasm; wasm and js agree with any map', async () => {
    const ones = new Float32Array(cells).fill(1);
    for (const rule of ['slerp', 'lerp', 'vp'] as const) {
      const plain = await run({ rule, backend: 'js' });
      expect((await run({ rule, spatialWeights: [ones], spatialDeviation: true, backend: 'js' })).latents).toEqual(
        plain.latents,
      );
    }
    await fc.assert(
      fc.asyncProperty(mapArb, fc.boolean(), fc.double({ min: 0, max: 1, noNaN: true }), async (m, restricted, w) => {
        const o = { spatialWeights: [m], spatialDeviation: restricted, weights: w, eta: 0.2 };
        const js = await run({ ...o, backend: 'js' });
        const wasm = await run({ ...o, backend: 'wasm' });
        const scale = Math.max(...js.latents.map(Math.abs));
        js.latents.forEach((v, i) => expect(Math.abs(v - wasm.latents[i])).toBeLessThanOrEqual(1e-5 * scale));
      }),
      { numRuns: 15 },
    );
  });

  it('windows: a model runs only in its window, joins from the target latent, and the default window is [0, s)', async () => {
    const seen: number[][] = [];
    const ms = models();
    const spy = (k: number): Denoiser => ({
      name: ms[k].name,
      eps: (x, t, b) => {
        seen.push([k, t, x[0]]);
        return ms[k].eps(x, t, b) as Float32Array;
      },
    });
    const r = await sampleAMDM({
      models: [spy(0), spy(1), spy(2)],
      steps: 6,
      aggregateSteps: 2,
      shape,
      windows: [[2, 5], null],
      seed: 3,
    });
    expect(r.calls).toEqual([6, 3, 2]);
    // at step 2 model 1's input is the target's
    const t2 = r.timesteps[2];
    const at = (k: number, t: number) => seen.find((e) => e[0] === k && e[1] === t)![2];
    expect(at(1, t2)).toBe(at(0, t2));
    expect(seen.filter((e) => e[0] === 1).map((e) => e[1])).toEqual(r.timesteps.slice(2, 5));
    const plan = resolveAMDMPlan({ models: 3, steps: 6, aggregateSteps: 2, shape, windows: [[2, 5], null] });
    expect(plan.steps.map((s) => [s.merged, s.joining, s.active])).toEqual([
      [[2], [], [0, 2]],
      [[2], [], [0, 2]],
      [[1], [1], [0, 1]],
      [[1], [], [0, 1]],
      [[1], [], [0, 1]],
      [[], [], [0]],
    ]);
    expect(plan.steps[2].weights).toEqual([0.5, 0]);
    // windows [0, s) for every model are the paper's run, bit for bit
    const base = { models: models(), steps: 6, aggregateSteps: 3, shape, seed: 1 };
    expect((await sampleAMDM({ ...base, windows: [[0, 3], null] })).latents).toEqual(
      (await sampleAMDM({ ...base, models: models() })).latents,
    );
  });

  it('weight schedules: constant, linear, cosine and list over each model’s window', () => {
    const plan = resolveAMDMPlan({
      models: 3,
      steps: 6,
      aggregateSteps: 5,
      shape,
      windows: [null, [1, 4]],
      weights: [
        { kind: 'linear', from: 0, to: 1 },
        { kind: 'list', values: [0.1, 0.2, 0.3] },
      ],
    });
    expect(plan.steps.slice(0, 5).map((s) => s.weights)).toEqual([
      [0, 0],
      [0.25, 0.1],
      [0.5, 0.2],
      [0.75, 0.3],
      [1, 0],
    ]);
    const cos = resolveAMDMPlan({
      models: 2,
      steps: 5,
      aggregateSteps: 5,
      shape,
      weights: { kind: 'cosine', from: 1, to: 0 },
    });
    const expected = [0, 1, 2, 3, 4].map((i) => 0.5 * (1 + Math.cos((Math.PI * i) / 4)));
    cos.steps.forEach((s, i) => expect(s.weights[0]).toBeCloseTo(expected[i], 12));
    const c = resolveAMDMPlan({
      models: 2,
      steps: 3,
      aggregateSteps: 2,
      shape,
      weights: [{ kind: 'constant', value: 0.3 }],
    });
    expect(c.steps.map((s) => s.weights)).toEqual([[0.3], [0.3], []]);
  });

  it('the trace reports the map angle, per-active deviations and 0 weights outside a window', async () => {
    const traces: StepTrace[] = [];
    await sampleAMDM({
      models: models(),
      steps: 4,
      aggregateSteps: 2,
      shape,
      windows: [null, [1, 3]],
      spatialWeights: [boxWeightMap({ height: 4, width: 4, boxes: [[0, 0, 0.5, 1]] }), null],
      spatialDeviation: true,
      onStep: (t) => traces.push(t),
    });
    expect(traces.map((t) => [t.evaluated, t.angles?.length, t.deviations?.length, t.weights])).toEqual([
      [[0, 1], 1, 2, [0.5, 0]],
      [[0, 1, 2], 2, 3, [0.5, 0.5]],
      [[0, 2], 1, 2, [0, 0.5]],
      [[0], undefined, undefined, undefined],
    ]);
    expect(traces[0].angles![0][0]).toBeGreaterThan(0);
  });

  it('names bad windows, maps and schedules', () => {
    const base = { models: 3, steps: 4, aggregateSteps: 2, shape };
    expect(() => resolveAMDMPlan({ ...base, windows: [[0, 2]] })).toThrow(
      'windows must hold 2 entries (one per non-target model: [start, end) or null)',
    );
    expect(() => resolveAMDMPlan({ ...base, windows: [[0, 5], null] })).toThrow(
      'windows[0][1] (end) must be an integer in [0, 4], got 5',
    );
    expect(() => resolveAMDMPlan({ ...base, windows: [[3, 2], null] })).toThrow(
      'windows[0][0] (start) must be an integer in [0, 2], got 3',
    );
    expect(() => resolveAMDMPlan({ ...base, spatialWeights: [new Float32Array(15), null] })).toThrow(
      'spatialWeights[0] must hold 16 weights (one per latent cell, H·W), got 15',
    );
    expect(() => resolveAMDMPlan({ ...base, spatialWeights: [null, new Array(16).fill(1.5)] })).toThrow(
      'spatialWeights[1][0] must be in [0, 1], got 1.5',
    );
    expect(() =>
      resolveAMDMPlan({ ...base, rule: sphericalMean, spatialWeights: [new Float32Array(16), null] }),
    ).toThrow(
      "spatialWeights need a rule that takes a per-cell weight: 'slerp', 'lerp', 'vp'; got rule 'sphericalMean'",
    );
    expect(() => resolveAMDMPlan({ ...base, spatialDeviation: true })).toThrow(
      'spatialDeviation restricts the deviation step to the spatial maps: give spatialWeights',
    );
    expect(() => resolveAMDMPlan({ ...base, weights: [{ kind: 'list', values: [0.1] }, 0.5] })).toThrow(
      "weights[0].values must hold one weight per step of the model's window [0, 2) (2), got an array of length 1",
    );
    expect(() => resolveAMDMPlan({ ...base, weights: { kind: 'linear', from: 0, to: 2 } })).toThrow(
      'weights.to must be in [0, 1], got 2',
    );
    expect(() =>
      resolveAMDMPlan({ ...base, weights: { kind: 'ramp', from: 0, to: 1 } as unknown as AMDMOptions['weights'] }),
    ).toThrow("weights.kind must be one of 'constant', 'linear', 'cosine', 'list'");
    expect(() =>
      resolveAMDMPlan({
        ...base,
        weights: { kind: 'constant', value: 0.2, to: 1 } as unknown as AMDMOptions['weights'],
      }),
    ).toThrow("weights: unknown field 'to'; a 'constant' schedule has kind, value");
  });
});
