import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { pairedDiff, paretoFrontier, successiveHalving } from '../../src/experiments/merge-search.ts';

describe('successiveHalving', () => {
  it('scores each candidate on growing prefixes of one unit set, keeps ⌈n/η⌉, ranks inadmissible ones last', async () => {
    // candidate i succeeds on unit u with a fixed pattern; 'noisy' is best but fails the guard
    const quality: Record<string, number> = { a: 0.2, b: 0.5, c: 0.8, d: 0.4, noisy: 1 };
    const calls: [string[], number, number][] = [];
    const rounds = await successiveHalving({
      candidates: Object.keys(quality).map((name) => ({ name, setting: quality[name] })),
      budgets: [4, 8, 12],
      reduction: 2,
      evaluate: async (cands, from, to) => {
        calls.push([cands.map((c) => c.name), from, to]);
        return cands.map((c) => ({
          values: Array.from({ length: to - from }, (_, i) => (((from + i) % 10) / 10 < c.setting ? 1 : 0)),
          guard: Array.from({ length: to - from }, () => (c.name === 'noisy' ? 0 : 1)),
        }));
      },
    });
    expect(calls).toEqual([
      [['a', 'b', 'c', 'd', 'noisy'], 0, 4],
      [['b', 'c', 'd'], 4, 8],
      [['b', 'c'], 8, 12],
    ]);
    // b, c and d tie on the first 4 units (all 1): input order breaks the tie
    expect(rounds[0].rows.map((r) => r.name)).toEqual(['b', 'c', 'd', 'a', 'noisy']);
    expect(rounds[0].rows.at(-1)!.admissible).toBe(false);
    expect(rounds[2].kept).toEqual(['c', 'b']);
    // the vector grows with the rounds: units 0 … 11 of c
    expect(rounds[2].rows[0].values).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1]);
    expect(rounds[2].rows[0].objective.value).toBeCloseTo(10 / 12, 12);
  });
  it('names bad budgets and duplicate candidates', async () => {
    const evaluate = async () => [];
    await expect(
      successiveHalving({ candidates: [{ name: 'a', setting: 0 }], budgets: [4, 4], reduction: 2, evaluate }),
    ).rejects.toThrow('budgets[1] must be an integer in [5, 9007199254740991], got 4');
    await expect(
      successiveHalving({
        candidates: [
          { name: 'a', setting: 0 },
          { name: 'a', setting: 1 },
        ],
        budgets: [1],
        reduction: 2,
        evaluate,
      }),
    ).rejects.toThrow('candidate names must be unique');
  });
});

describe('paired differences and the Pareto frontier', () => {
  it('pairedDiff is the mean of the differences with its standard error', () => {
    const d = pairedDiff([1, 1, 0, 1], [0, 1, 0, 0]);
    expect(d.value).toBe(0.5);
    expect(d.se).toBeCloseTo(Math.sqrt(1 / 3) / 2, 12);
    expect(() => pairedDiff([1], [1, 0])).toThrow('paired vectors must score the same items (1 vs 2)');
  });
  it('the frontier holds exactly the undominated points', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 9 })), { minLength: 1 }),
        (pts) => {
          const front = paretoFrontier(
            pts,
            (p) => p[0],
            (p) => p[1],
          );
          const dominated = (p: [number, number]) =>
            pts.some((q) => q[0] >= p[0] && q[1] >= p[1] && (q[0] > p[0] || q[1] > p[1]));
          for (const p of pts) expect(front.includes(p)).toBe(!dominated(p));
          expect(front.length).toBeGreaterThan(0);
        },
      ),
    );
  });
});
