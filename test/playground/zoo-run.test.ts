/**
 * The playground's mini-zoo world in Node: runZoo on models/mini-zoo gives the library's scores
 * (runJob and the MiniMIG evaluator, written out independently in the helper), the AMDM trace,
 * cached runs of a model alone, and stops when cancelled. The browser test checks the page
 * against the same helper with onnxruntime-web.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSettings, settingsFromHash, settingsToHash, type Settings } from '../../playground/src/settings.ts';
import { runZoo, type ZooEnv, type ZooMethodView } from '../../playground/src/zoo-run.ts';
import { ZOO_PRESET_IDS, ZOO_SAMPLER_DEFAULTS, zooPrompt } from '../../playground/src/zoo-settings.ts';
import { ZOO_SEARCH_BEST_SETTING, zooSettingRunOptions } from '../../src/experiments/zoo/search-settings.ts';
import { createPipelineCache, type PipelineCache } from '../../src/server/pipelines.ts';
import { projectRoot } from '../helpers/data.ts';
import { libraryZooScores, type ExpectedZooSettings } from '../helpers/playground-expected.ts';

describe('playground settings: the mini-zoo world', () => {
  it('has its own sampler defaults and shares the rest', () => {
    const s = parseSettings({ world: 'zoo' });
    expect(s).toMatchObject({
      world: 'zoo',
      ...ZOO_SAMPLER_DEFAULTS,
      zooPrompt: 'L3-002',
      zooTarget: 'interactdiffusion-mini',
      zooOthers: ['migc-mini', 'ipadapter-mini'],
      w: 0.5,
      rule: 'slerp',
    });
    expect(settingsToHash(s)).toBe('#world=zoo');
    const t = { ...s, T: 20, zooOthers: ['migc-mini' as const], zooPrompt: 'L4-017' };
    expect(settingsToHash(t)).toBe('#world=zoo&T=20&zooPrompt=L4-017&zooOthers=migc-mini');
    expect(settingsFromHash(settingsToHash(t))).toEqual(t);
    expect(ZOO_PRESET_IDS.slice(0, 2)).toEqual(['L2-000', 'L2-001']);
    expect(zooPrompt('L3-002').scene.relations.length).toBeGreaterThan(0);
  });

  it('rejects bad zoo settings with the setting named', () => {
    expect(() => parseSettings({ world: 'mars' })).toThrow("world must be one of 'shapes', 'zoo', got \"mars\"");
    expect(() => parseSettings({ world: 'zoo', zooPrompt: 'L1-000' })).toThrow(
      'zooPrompt must be a MiniMIG prompt id L<level>-<index> with level 2, 3, 4 (each has an interaction), e.g. "L3-002", got "L1-000"',
    );
    expect(() => parseSettings({ world: 'zoo', zooOthers: 'interactdiffusion-mini' })).toThrow(
      "zooOthers must not include the target ('interactdiffusion-mini')",
    );
    expect(() => parseSettings({ world: 'zoo', zooTarget: 'base' })).toThrow(
      "zooTarget must be one of 'interactdiffusion-mini', 'migc-mini', 'ipadapter-mini', got \"base\"",
    );
    expect(() => parseSettings({ world: 'zoo', samples: 5 })).toThrow(
      'samples must be at most 4 in the mini-zoo world (each is a full ONNX run), got 5',
    );
  });

  it('offers the zoo search’s best setting by name, in the link too', () => {
    const s = parseSettings({ world: 'zoo', zooMerge: 'search-best' });
    expect(s.zooMerge).toBe('search-best');
    expect(settingsToHash(s)).toBe('#world=zoo&zooMerge=search-best');
    expect(parseSettings({ world: 'zoo' }).zooMerge).toBe('sliders');
    expect(() => parseSettings({ world: 'zoo', zooMerge: 'best' })).toThrow(
      "zooMerge must be one of 'sliders', 'search-best', got \"best\"",
    );
  });
});

/** ONNX runs take seconds on idle cores and minutes on busy ones. */
const ZOO_TIMEOUT = 600_000;

describe('runZoo', () => {
  const quick = { ...parseSettings({ world: 'zoo' }), T: 3, s: 1 } as Settings;
  let dir: string;
  let pipelines: PipelineCache;
  let env: ZooEnv;
  const cache = new Map<string, ZooMethodView>();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'amdm-zoo-run-'));
    pipelines = createPipelineCache(4);
    env = {
      root: join(projectRoot, 'models', 'mini-zoo'),
      backend: 'node',
      pipelines,
      putStyleImage: async (name, png) => {
        await writeFile(join(dir, name), png);
        return join(dir, name);
      },
    };
  });
  afterAll(async () => {
    await pipelines?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it(
    'shows the library’s MiniMIG scores for each model alone and AMDM, and the trace',
    async () => {
      const seen: string[] = [];
      const status: string[] = [];
      const res = await runZoo(quick, env, {
        cache,
        onMethod: (v) => seen.push(v.key),
        onStatus: (t) => status.push(t),
      });
      expect(seen).toEqual(['alone:interactdiffusion-mini', 'alone:migc-mini', 'alone:ipadapter-mini', 'amdm']);
      // each method says that it loads, then each sampling step of T = 3
      const first = status.filter((t) => t.startsWith('InteractDiffusion-mini alone: '));
      expect(first).toEqual([
        'InteractDiffusion-mini alone: loading its models…',
        'InteractDiffusion-mini alone: sampling, step 0 of 3',
        'InteractDiffusion-mini alone: sampling, step 1 of 3',
        'InteractDiffusion-mini alone: sampling, step 2 of 3',
        'InteractDiffusion-mini alone: sampling, step 3 of 3',
      ]);
      expect(status.at(-1)).toBe('AMDM InteractDiffusion-mini ← MIGC-mini + IP-Adapter-mini: sampling, step 3 of 3');
      expect(res.amdmError).toBeNull();
      const want = await libraryZooScores(quick as unknown as ExpectedZooSettings, 'node');
      for (const m of res.methods) expect(m.summary, m.key).toEqual(want[m.key]);
      // CFG runs each model once per step for the batch; AMDM: T for the target, s for each other
      expect(res.methods.map((m) => m.calls)).toEqual([3, 3, 3, 3 + 2 * 1]);
      expect(res.methods[0].images[0]).toMatchObject({ width: 32, height: 32 });
      expect(res.methods[3].name).toBe('AMDM InteractDiffusion-mini ← MIGC-mini + IP-Adapter-mini');
      const t = res.trace!;
      expect(t.angles.map((r) => r.pair)).toEqual(['InteractDiffusion-mini ↔ MIGC-mini', 'merge ↔ IP-Adapter-mini']);
      expect(t.deviations).toHaveLength(3);
      expect(t.etas.map((r) => r.eta)).toEqual(new Array(3).fill(0.3 * Math.sqrt(256)));
      expect(t.sphere).toEqual([]);
    },
    ZOO_TIMEOUT,
  );

  it(
    'runs the zoo search’s best setting by name (its window at T, its map from the prompt’s boxes); other models are named',
    async () => {
      const s = { ...quick, zooOthers: ['migc-mini'], zooMerge: 'search-best' } as Settings;
      const res = await runZoo(s, env, { cache });
      expect(res.amdmError).toBeNull();
      const job = zooSettingRunOptions(ZOO_SEARCH_BEST_SETTING, zooPrompt(s.zooPrompt).scene, 3);
      const [a, b] = job.windows?.[0] ?? [0, job.aggregateSteps];
      expect(res.methods.find((m) => m.key === 'amdm')!.calls).toBe(3 + (b - a));
      const three = await runZoo({ ...s, zooOthers: ['migc-mini', 'ipadapter-mini'] }, env, { cache });
      expect(three.amdmError).toBe(
        "zooMerge 'search-best' is a setting of InteractDiffusion-mini ← MIGC-mini; choose those models, got InteractDiffusion-mini ← MIGC-mini ← IP-Adapter-mini",
      );
    },
    ZOO_TIMEOUT,
  );

  it(
    'reruns only AMDM when w changes; a written rule is refused; a cancel stops the run',
    async () => {
      const res = await runZoo({ ...quick, w: 0.8 }, env, { cache });
      expect(res.methods.map((m) => m.ms === 0)).toEqual([true, true, true, false]);
      const custom = await runZoo({ ...quick, rule: 'custom' }, env, { cache });
      expect(custom.methods.map((m) => m.key)).toEqual([
        'alone:interactdiffusion-mini',
        'alone:migc-mini',
        'alone:ipadapter-mini',
      ]);
      expect(custom.amdmError).toBe(
        'the mini-zoo runs generate jobs, which take the built-in rules only; the written rule runs in the Shapes world',
      );
      const stop = new AbortController();
      stop.abort(new Error('cancelled by the test'));
      await expect(runZoo({ ...quick, T: 4 }, env, { cache, signal: stop.signal })).rejects.toThrow(
        'cancelled by the test',
      );
    },
    ZOO_TIMEOUT,
  );
});
