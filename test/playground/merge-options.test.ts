import { describe, expect, it } from 'vitest';
import { runPlayground } from '../../playground/src/run.ts';
import { DEFAULT_SETTINGS, parseSettings, WORLD } from '../../playground/src/settings.ts';
import { compareOnShapes } from '../../src/toy/shapes/compare.ts';
import { parsePromptLabel } from '../../src/toy/shapes/prompts.ts';
import { SEARCH_BEST_SETTING, mergeSettingAtSteps } from '../../src/toy/shapes/merge-setting.ts';

const quick = { ...DEFAULT_SETTINGS, T: 12, s: 5, samples: 2 };

describe('playground: where and when to merge (Shapes world)', () => {
  it("the window start and the box maps reach the library's run, with the same rates", async () => {
    const r = await runPlayground({ ...quick, windowStart: 2, spatial: 'boxes-f1', w: 1 });
    const amdm = r.methods.find((m) => m.key === 'amdm')!;
    expect(r.amdmError).toBeNull();
    expect(amdm.calls).toBe(12 + (5 - 2));
    const lib = await compareOnShapes({
      world: WORLD,
      prompts: [parsePromptLabel(WORLD, quick.prompt)],
      methods: [
        {
          name: 'x',
          experts: ['layout', 'attribute'],
          aggregateSteps: 5,
          weights: 1,
          eta: 0,
          rule: 'slerp',
          windows: [[2, 5]],
          spatial: [{ instances: true, feather: 1, invert: false }],
        },
      ],
      samplesPerPrompt: 2,
      steps: 12,
      seed: quick.seed,
    });
    expect(amdm.summary).toEqual(lib.methods[0].summary.overall);
  });

  it('the named search-best setting runs its window at T; a window past s and a map with nlerp are named', async () => {
    const r = await runPlayground({ ...quick, merge: 'search-best' });
    const [a, b] = mergeSettingAtSteps(SEARCH_BEST_SETTING, 12).window;
    expect(r.methods.find((m) => m.key === 'amdm')!.calls).toBe(12 + b - a);
    expect(() => parseSettings({ s: 5, windowStart: 6 })).toThrow('windowStart must be at most s (5), got 6');
    const bad = await runPlayground({ ...quick, rule: 'nlerp', spatial: 'boxes-f0' });
    expect(bad.amdmError).toBe(
      "spatialWeights need a rule that takes a per-cell weight: 'slerp', 'lerp', 'vp'; got rule 'nlerp'",
    );
  });
});
