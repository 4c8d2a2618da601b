import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  RULE_NAMES,
  RULE_NAME_PATTERN,
  defineRule,
  lerp,
  type PairwiseKernel,
  type SymmetricKernel,
} from '../../src/core/rules.ts';
import { hasRule, registerRule, resolveRule, ruleNames } from '../../src/core/rule-registry.ts';
import { checkAggregationRule } from '../../src/core/rule-check.ts';
import { sampleAMDM } from '../../src/core/sampler.ts';
import { makeSchedule } from '../../src/core/schedule.ts';
import { gaussianDenoiser } from '../helpers/gaussian-denoiser.ts';

const lerpSample: PairwiseKernel = (a, b, w, out) => {
  for (let i = 0; i < a.length; i++) out[i] = (1 - w) * a[i] + w * b[i];
};
const meanSample: SymmetricKernel = (xs, weights, out) => {
  for (let i = 0; i < out.length; i++) {
    let v = 0;
    for (let k = 0; k < xs.length; k++) v += weights[k] * xs[k][i];
    out[i] = v;
  }
};
const validName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,15}$/);
const values = (n: number) =>
  fc
    .array(fc.integer({ min: -1000, max: 1000 }), { minLength: n, maxLength: n })
    .map((a) => Float32Array.from(a, (v) => v / 250));

describe('defineRule validates its definition', () => {
  it('takes exactly the names of a letter followed by letters, digits, _ or -', () => {
    fc.assert(
      fc.property(fc.oneof(validName, fc.string()), (name) => {
        const make = () => defineRule({ name, sample: lerpSample });
        if (RULE_NAME_PATTERN.test(name)) expect(make().ruleName).toBe(name);
        else
          expect(make).toThrow(
            `rule name must be a letter followed by letters, digits, _ or - (e.g. 'myRule'), got ${JSON.stringify(name)}`,
          );
      }),
    );
  });
  it('refuses a definition that is not an object, a sample that is not a function, a non-boolean symmetric and unknown fields', () => {
    const notFunction = fc.oneof(fc.constant(undefined), fc.integer(), fc.string(), fc.constant(null), fc.object());
    fc.assert(
      fc.property(validName, notFunction, (name, sample) => {
        expect(() => defineRule({ name, sample } as never)).toThrow(
          new RegExp(`^rule '${name}': sample must be a function \\(a, b, w, out\\) => void over one sample, got `),
        );
        expect(() => defineRule({ name, symmetric: true, sample } as never)).toThrow(
          `rule '${name}': sample must be a function (xs, weights, out) => void over one sample`,
        );
      }),
    );
    fc.assert(
      fc.property(validName, fc.oneof(fc.integer(), fc.string(), fc.constant(null)), (name, symmetric) => {
        expect(() => defineRule({ name, symmetric, sample: lerpSample } as never)).toThrow(
          `rule '${name}': symmetric must be a boolean when given`,
        );
      }),
    );
    fc.assert(
      fc.property(
        validName,
        fc.string({ minLength: 1 }).filter((k) => !['name', 'sample', 'symmetric'].includes(k) && k !== '__proto__'),
        (name, key) => {
          expect(() => defineRule({ name, sample: lerpSample, [key]: 1 } as never)).toThrow(
            `rule '${name}': unknown field '${key}'; a definition has name, sample and symmetric`,
          );
        },
      ),
    );
    for (const bad of [null, 3, 'slerp', lerpSample])
      expect(() => defineRule(bad as never)).toThrow(
        /^a rule definition must be an object \{ name, sample, symmetric\? \}, got /,
      );
  });
  it('its rule runs the kernel on each sample of the batch, like the built-in lerp, and checks its arguments like it', () => {
    const rule = defineRule({ name: 'myLerp', sample: lerpSample });
    const batches = fc
      .record({ batch: fc.integer({ min: 1, max: 4 }), dim: fc.integer({ min: 1, max: 6 }) })
      .chain(({ batch, dim }) =>
        fc.tuple(fc.constant(batch), fc.constant(dim), values(batch * dim), values(batch * dim)),
      );
    fc.assert(
      fc.property(batches, fc.double({ min: 0, max: 1, noNaN: true }), ([batch, dim, a, b], w) => {
        const got = rule([a, b], [w], new Float32Array(batch * dim), dim);
        const want = lerp([a, b], [w], new Float32Array(batch * dim), dim);
        for (let i = 0; i < got.length; i++) expect(got[i]).toBeCloseTo(want[i], 5);
      }),
    );
    const one = Float32Array.of(1, 2);
    expect(() => rule([one, one], [1.5], new Float32Array(2), 2)).toThrow('myLerp: weight must be in [0, 1], got 1.5');
    expect(() => rule([one], [0.5], new Float32Array(2), 2)).toThrow(
      'myLerp: xs must hold exactly 2 tensors (a pairwise rule), got 1',
    );
    expect(() => rule([one, one], [0.5], new Float32Array(3), 2)).toThrow('myLerp: out must have length 2, got 3');
    expect(() => rule([Float32Array.of(1, 2, 3), Float32Array.of(1, 2, 3)], [0.5], new Float32Array(3), 2)).toThrow(
      'myLerp: xs[0] must hold a whole number (≥ 1) of samples of dim 2, got length 3',
    );
  });
  it('a symmetric rule receives every proposal of a sample and weights that sum to 1', () => {
    const rule = defineRule({ name: 'weightedMean', symmetric: true, sample: meanSample });
    expect(rule.symmetric).toBe(true);
    const [a, b, c] = [Float32Array.of(1, 2, 3, 4), Float32Array.of(0, 1, 0, 1), Float32Array.of(2, 2, 2, 2)];
    expect(Array.from(rule([a, b, c], [0.5, 0.25, 0.25], new Float32Array(4), 2))).toEqual([1, 1.75, 2, 2.75]);
    expect(() => rule([a, b], [0.5, 0.6], new Float32Array(4), 2)).toThrow(
      'weightedMean: weights must sum to 1, got 1.1',
    );
    expect(() => rule([a, b], [1], new Float32Array(4), 2)).toThrow(
      'weightedMean: weights must hold 2 weights (one per tensor), got 1',
    );
  });
});

describe('registerRule', () => {
  const schedule = makeSchedule();
  const shape = [2, 4, 4];
  const models = [1, -1].map((v) => gaussianDenoiser(schedule, new Float32Array(32).fill(v), 0.2));

  it('makes a rule selectable by name in sampleAMDM: the same bits as passing the rule itself', async () => {
    const rule = registerRule({ name: 'registeredLerp', sample: lerpSample });
    expect(hasRule('registeredLerp')).toBe(true);
    expect(ruleNames()).toEqual([...RULE_NAMES, 'registeredLerp']);
    expect(resolveRule('registeredLerp')).toBe(rule);
    const opts = { models, steps: 6, aggregateSteps: 3, shape, seed: 4, batch: 2 };
    const byName = await sampleAMDM({ ...opts, rule: 'registeredLerp' });
    const byRule = await sampleAMDM({ ...opts, rule });
    expect(byName.latents).toEqual(byRule.latents);
    const sym = registerRule({ name: 'registeredMean', symmetric: true, sample: meanSample });
    await expect(
      sampleAMDM({ ...opts, models: [...models, models[0]], rule: 'registeredMean', weights: [0.3, 0.4] }),
    ).resolves.toBeTruthy();
    expect(sym.symmetric).toBe(true);
  });
  it('refuses built-in names, a second rule of a name (unless replace) and rules that fail checkAggregationRule', () => {
    for (const name of RULE_NAMES)
      expect(() => registerRule({ name, sample: lerpSample })).toThrow(
        `'${name}' is a built-in aggregation rule and cannot be replaced`,
      );
    registerRule({ name: 'twice', sample: lerpSample });
    expect(() => registerRule({ name: 'twice', sample: lerpSample })).toThrow(
      "an aggregation rule named 'twice' is already registered (pass { replace: true } to replace it)",
    );
    const again = registerRule({ name: 'twice', sample: lerpSample }, { replace: true });
    expect(resolveRule('twice')).toBe(again);
    const swapped: PairwiseKernel = (a, b, w, out) => lerpSample(a, b, 1 - w, out);
    expect(() => registerRule({ name: 'swapped', sample: swapped })).toThrow(
      /^rule 'swapped' must return a \(the target keeps its proposal\) at w = 0/,
    );
    expect(hasRule('swapped')).toBe(false);
    const unnamed = Object.assign(() => new Float32Array(0), { ruleName: 'not a name' });
    expect(() => registerRule(unnamed as never)).toThrow(
      'a registered rule needs a ruleName of a letter followed by letters, digits, _ or - (defineRule gives one), got "not a name"',
    );
    expect(() => resolveRule('nope')).toThrow(
      /^rule must be one of 'slerp', 'lerp', 'nlerp', 'vp', 'sphericalMean', 'registeredLerp', .* or a function, got "nope"$/,
    );
  });
  it('checkAggregationRule takes a definition and checks the rule defineRule makes of it', () => {
    expect(checkAggregationRule({ name: 'okLerp', sample: lerpSample }).ruleName).toBe('okLerp');
    expect(() => checkAggregationRule({ name: 'bad', sample: () => {} })).toThrow(
      "rule 'bad' must write a finite value to every element of out at w = 0, got NaN at index 0 (sample 0)",
    );
  });
});
