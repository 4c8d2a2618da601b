import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  metricCounts,
  pairedDifference,
  pairedDifferences,
  type SceneEvaluation,
} from '../../src/toy/minimig/index.ts';

/** A minimal evaluation: instances ok/miou, relations ok/joint, image/style/clean flags. */
function ev(
  inst: readonly boolean[],
  rel: readonly [boolean, boolean][] = [],
  flags = { image: false, style: true, clean: true },
) {
  return {
    instances: inst.map((ok) => ({ ok, miou: ok ? 0.8 : 0.2 })),
    relations: rel.map(([ok, joint]) => ({ ok, joint })),
    imageOk: flags.image,
    style: { ok: flags.style },
    clean: { ok: flags.clean },
  } as unknown as SceneEvaluation;
}

describe('paired differences over prompts', () => {
  it('a hand-computed case: pooled difference and the cluster-robust standard error', () => {
    // prompt A: two seeds, 2 instances each: method 2+2 ok, target 0+1 → d = 3, n = 4
    // prompt B: one seed, 3 instances: method 1, target 1 → d = 0, n = 3
    // prompt C: one seed, 1 instance: method 0, target 1 → d = −1, n = 1
    const pairs = [
      { prompt: 'A', method: ev([true, true]), target: ev([false, false]) },
      { prompt: 'A', method: ev([true, true]), target: ev([true, false]) },
      { prompt: 'B', method: ev([true, false, false]), target: ev([false, true, false]) },
      { prompt: 'C', method: ev([false]), target: ev([true]) },
    ];
    const e = pairedDifference(pairs, 'instanceSuccess')!;
    const D = 2 / 8;
    expect(e.value).toBe(D);
    const ss = (3 - D * 4) ** 2 + (0 - D * 3) ** 2 + (-1 - D * 1) ** 2;
    expect(e.se).toBeCloseTo(Math.sqrt((3 / 2) * ss) / 8, 15);
    expect(e.n).toBe(3);
    // mIoU terms: method 0.8·5 + 0.2·3, target 0.8·3 + 0.2·5 over 8 instances
    expect(pairedDifference(pairs, 'mIoU')!.value).toBeCloseTo((4.6 - 3.4) / 8, 15);
  });

  it('equals the difference of the pooled rates (property)', () => {
    const image = fc.array(fc.boolean(), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.integer({ min: 0, max: 4 }), image, fc.array(fc.boolean(), { minLength: 4, maxLength: 4 })),
          {
            minLength: 2,
            maxLength: 20,
          },
        ),
        (rows) => {
          const pairs = rows.map(([p, a, flip]) => ({
            prompt: `P${p}`,
            method: ev(a),
            target: ev(a.map((x, i) => (flip[i] ? !x : x))),
          }));
          const e = pairedDifference(pairs, 'instanceSuccess');
          if (new Set(pairs.map((p) => p.prompt)).size < 2) return e === null;
          const hits = (side: 'method' | 'target') =>
            pairs.reduce((s, p) => s + metricCounts(p[side], 'instanceSuccess')[0], 0);
          const n = pairs.reduce((s, p) => s + p.method.instances.length, 0);
          return Math.abs(e!.value - (hits('method') - hits('target')) / n) < 1e-12 && e!.se >= 0;
        },
      ),
    );
  });

  it('identical methods differ by 0 ± 0; relation metrics are null without relations or with one prompt', () => {
    const pairs = ['A', 'B', 'C'].map((prompt) => ({ prompt, method: ev([true, false]), target: ev([true, false]) }));
    const d = pairedDifferences(pairs);
    expect(d.instanceSuccess).toEqual({ value: 0, se: 0, n: 3 });
    expect(d.relationSuccess).toBeNull();
    expect(d.interactionSuccess).toBeNull();
    expect(pairedDifference([pairs[0]], 'instanceSuccess')).toBeNull();
  });

  it('joint and per-part relation metrics and the image flag are counted apart', () => {
    const pairs = ['A', 'B'].map((prompt) => ({
      prompt,
      method: ev([true, true], [[true, true]], { image: true, style: true, clean: true }),
      target: ev([false, true], [[true, false]], { image: false, style: true, clean: false }),
    }));
    const d = pairedDifferences(pairs);
    expect([d.interactionSuccess!.value, d.relationSuccess!.value, d.imageSuccess!.value]).toEqual([0, 1, 1]);
    expect([d.styleSuccess!.value, d.cleanRate!.value]).toEqual([0, 1]);
  });

  it('refuses images of different scenes and an empty list, naming them', () => {
    expect(() =>
      pairedDifference([{ prompt: 'A', method: ev([true]), target: ev([true, true]) }], 'instanceSuccess'),
    ).toThrow('pairs[0] (prompt A) compares images of different scenes: 1 vs 2 units of instanceSuccess');
    expect(() => pairedDifference([], 'mIoU')).toThrow('pairs must be a non-empty array');
  });
});
