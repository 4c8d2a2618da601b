/**
 * The zoo's merge options after the `@` of a method (windows, ramps, maps from the prompt's
 * boxes), the search settings and their method names, and `amdm zoo search` / `amdm zoo confirm`
 * in quick mode on the committed mini-zoo.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveMethod } from '../../../src/experiments/zoo/methods.ts';
import { boxWeightMap } from '../../../src/core/spatial.ts';
import { boxXyxy, evaluateScene, minimigPrompt, renderScene } from '../../../src/toy/minimig/index.ts';
import { bytesToUnit } from '../../../src/toy/minimig/render.ts';
import { beyondRunOptions, zooMapSpec } from '../../../src/experiments/zoo/merge-options.ts';
import {
  ZOO_MAP_BEST_SETTING,
  ZOO_MAP_MIDDLE_SETTING,
  ZOO_PAPER_SETTING,
  ZOO_SEARCH_BEST_SETTING,
  zooSearchPlan,
  zooSearchSpace,
  zooSettingAtSteps,
  zooSettingBeyond,
  zooSettingLabel,
  zooSettingMethod,
  zooSettingRunOptions,
} from '../../../src/experiments/zoo/search-settings.ts';
import { roundScores, runZooSearch, zooSearchCandidates } from '../../../src/experiments/zoo/search.ts';
import { runZooConfirm } from '../../../src/experiments/zoo/confirm.ts';
import { projectRoot } from '../../helpers/data.ts';

const zoo = join(projectRoot, 'models', 'mini-zoo');
const haveZoo = ['base', 'migc-mini', 'interactdiffusion-mini'].every((m) =>
  existsSync(join(zoo, m, 'unet', 'model.onnx')),
);
if (!haveZoo) console.warn(`[skip] zoo search: the model folders under ${zoo} are missing`);

describe('zoo methods: settings beyond the paper after @', () => {
  it('reads start, sched, wend, map, feather and mapdev beside the paper’s settings', () => {
    const m = resolveMethod(
      'interact+migc@rule=slerp,w=0.9,s=40,eta=0,start=10,sched=cosine,wend=0.3,map=boxes-dots,feather=1,mapdev=1',
    );
    expect(m).toMatchObject({ rule: 'slerp', weights: [0.9], aggregateSteps: 40, eta: 0 });
    expect(m.beyond).toEqual({
      start: 10,
      schedule: 'cosine',
      wEnd: 0.3,
      map: 'boxes-dots',
      feather: 1,
      mapDeviation: true,
    });
    expect(m.label).toBe(
      'InteractDiffusion-mini(+MIGC-mini), rule=slerp, w=0.9, s=40, eta=0, start=10, sched=cosine, wend=0.3, map=boxes-dots, feather=1, mapdev=1',
    );
    expect(resolveMethod('interact+migc@w=0.9').beyond).toBeUndefined();
  });

  it('names the key and what it allows for a bad value, and the keys that go together', () => {
    const bad: [string, string][] = [
      ['start=-1', "start must be an integer in [0, 1000], got '-1'"],
      ['start=2.5', "start must be an integer in [0, 1000], got '2.5'"],
      ['sched=step,wend=0.3', "sched must be linear or cosine (a ramp from w to wend over the window), got 'step'"],
      ['sched=linear,wend=2', "wend must be a number in [0, 1], got '2'"],
      [
        'map=circle',
        "map must be one of boxes, boxes-dots (the other models inside the prompt's instance boxes), got 'circle'",
      ],
      ['map=boxes,feather=9', "feather must be a number in [0, 4], got '9'"],
      ['map=boxes,mapdev=yes', "mapdev must be 0 or 1, got 'yes'"],
      ['sched=linear', 'sched and wend go together (a ramp from w to wend over the window)'],
      ['wend=0.3', 'sched and wend go together'],
      ['feather=1', 'feather needs map=boxes or map=boxes-dots'],
      ['mapdev=1', 'mapdev needs map=boxes or map=boxes-dots'],
      ['s=20,start=30', 'start must be ≤ s (the window is [start, s)), got start=30 with s=20'],
      [
        'tau=1',
        "unknown setting 'tau'; allowed: rule, w, s, eta, deviation, scale, start, sched, wend, map, feather, mapdev",
      ],
    ];
    for (const [settings, message] of bad)
      expect(() => resolveMethod(`interact+migc@${settings}`), settings).toThrow(message);
    expect(() => resolveMethod('migc@map=boxes')).toThrow('settings after @ need an aggregated method');
  });

  it("turns into the pipeline's windows, ramps and maps from the prompt's instance boxes", () => {
    const p = minimigPrompt(3, 2); // "linked to" 2 → 0 and "looking at" 0 → 1
    const o = beyondRunOptions(
      resolveMethod('interact+migc@w=0.8,s=30,start=5,sched=linear,wend=0.2,map=boxes,feather=1,mapdev=1').beyond!,
      {
        scene: p.scene,
        s: 30,
        weights: [0.8],
      },
    );
    expect(o).toEqual({
      windows: [[5, 30]],
      weights: [{ kind: 'linear', from: 0.8, to: 0.2 }],
      spatial: [{ boxes: p.scene.instances.map((i) => boxXyxy(i.box)), feather: 1 }],
      spatialDeviation: true,
    });
    // a start past the run's s (e.g. s clamped to a short T) is named
    expect(() => beyondRunOptions({ start: 5 }, { scene: p.scene, s: 3, weights: [0.5] })).toThrow(
      'start must be ≤ s (the window is [start, s)), got start=5 with s=3',
    );
  });

  it('boxes-dots: the boxes map with the latent cells under each "looking at" dot left to the target', () => {
    for (const p of [minimigPrompt(3, 2), minimigPrompt(2, 0), minimigPrompt(2, 1)]) {
      const boxes = p.scene.instances.map((i) => boxXyxy(i.box));
      const plain = boxWeightMap({ height: 8, width: 8, boxes, feather: 1 });
      const { map } = zooMapSpec(p.scene, 'boxes-dots', 1) as { map: number[] };
      const zeroed = map.flatMap((v, i) => (v !== plain[i] ? [i] : []));
      const dots = p.scene.relations.filter((r) => r.action === 'looking at').length;
      // a dot covers 1–4 cells of 4×4 pixels, each inside its subject's box (weight 1 before)
      if (dots === 0) expect(zeroed).toEqual([]);
      else expect(zeroed.length).toBeGreaterThanOrEqual(dots);
      for (const i of zeroed) expect([map[i], plain[i]]).toEqual([0, 1]);
    }
  });
});

describe('zoo search settings', () => {
  it('each setting of the grid is its zoo method, and its generate-job options are the method’s', () => {
    const scene = minimigPrompt(4, 3).scene;
    const space = zooSearchSpace();
    expect(space.length).toBe(500);
    for (const steps of [50, 20]) {
      for (const s of [...space, ZOO_PAPER_SETTING, ZOO_MAP_BEST_SETTING, ZOO_SEARCH_BEST_SETTING]) {
        const m = resolveMethod(zooSettingMethod(s, steps));
        const at = zooSettingAtSteps(s, steps);
        const job = zooSettingRunOptions(s, scene, steps);
        expect(m.beyond ?? {}).toEqual(zooSettingBeyond(at));
        expect([m.rule, m.aggregateSteps, m.eta, m.deviation ?? 'eq9']).toEqual([
          job.rule,
          job.aggregateSteps,
          job.eta,
          job.deviation,
        ]);
        const fromMethod = {
          weights: [...m.weights!],
          ...(m.beyond && beyondRunOptions(m.beyond, { scene, s: m.aggregateSteps!, weights: m.weights! })),
        };
        expect(job).toMatchObject(fromMethod);
      }
    }
    expect(zooSettingMethod(ZOO_PAPER_SETTING)).toBe('interact+migc@rule=slerp,w=0.5,s=20,eta=0.3');
    expect(zooSettingMethod(ZOO_MAP_BEST_SETTING, 20)).toBe('interact+migc@rule=lerp,w=0.9,s=16,eta=0');
    expect(zooSettingLabel({ ...ZOO_MAP_MIDDLE_SETTING, map: { kind: 'boxes-dots', feather: 1 } })).toBe(
      'slerp w=0.5 [0,40) boxes-dots f1 η=0',
    );
  });

  it('the named best setting is the one the recorded search ranked first and the confirmation ran', () => {
    const read = (name: string) =>
      JSON.parse(readFileSync(join(projectRoot, 'experiments', 'out', name, 'results.json'), 'utf8'));
    const method = zooSettingMethod(ZOO_SEARCH_BEST_SETTING);
    expect(read('search-zoo').best[0].method).toBe(method);
    expect(read('confirm-zoo').rows.find((r: { label: string }) => r.label.startsWith('search #1:')).method).toBe(
      method,
    );
  });

  it('the race starts from the paper’s point and the map’s cells, then a seeded sample of the grid, each once', () => {
    const plan = zooSearchPlan(false);
    const c = zooSearchCandidates(plan, 0);
    expect(c.slice(0, 3).map((x) => x.setting)).toEqual([
      ZOO_PAPER_SETTING,
      ZOO_MAP_BEST_SETTING,
      ZOO_MAP_MIDDLE_SETTING,
    ]);
    expect(new Set(c.map((x) => x.name)).size).toBe(c.length);
    expect(c.length).toBeGreaterThan(plan.sampled);
    expect(zooSearchCandidates(plan, 0)).toEqual(c);
    expect(zooSearchCandidates(plan, 1).map((x) => x.name)).not.toEqual(c.map((x) => x.name));
    expect(plan.budgets.every((b) => b % 3 === 0)).toBe(true);
  });

  it('scores each relation 1/0 with the independence product as a tie-break below one relation right', () => {
    const p = minimigPrompt(4, 5); // three relations
    const exact = evaluateScene(p.scene, bytesToUnit(renderScene(p.scene)));
    const blank = evaluateScene(p.scene, new Float32Array(3 * 32 * 32));
    expect(roundScores([exact])).toEqual({ values: [1.001, 1.001, 1.001], guard: [1] });
    expect(roundScores([blank]).values).toEqual([0, 0, 0]);
    const mixed = roundScores([exact, blank]).values;
    // interaction success ½, instance success ½: the product ⅛
    expect(mixed).toEqual([1, 1, 1, 0, 0, 0].map((v) => v + 1e-3 / 8));
  });
});

describe.skipIf(!haveZoo)('amdm zoo search and confirm (quick)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zoo-search-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const runs = join(dir, 'runs');
  const log = () => {};

  it('halves the settings on one prompt set, confirms the best on fresh prompts beside the baselines, resumes', async () => {
    const o = { quick: true, zoo, runs, out: join(dir, 'search'), log };
    const s = await runZooSearch(o);
    expect(s.rounds.map((r) => [r.rows.length, r.budget])).toEqual([
      [5, 3],
      [3, 6],
    ]);
    expect(s.rounds.map((r) => r.set.promptSeed)).toEqual([3000, 3001]);
    expect(s.best.length).toBe(2);
    expect(s.best[0].method).toBe(s.rounds[1].rows[0].method);
    for (const f of ['results.json', 'rounds.csv', 'table.md']) expect(existsSync(join(dir, 'search', f))).toBe(true);
    const records = () => readdirSync(join(runs, 'search-seed0-round1', 'records'), { recursive: true }).length;
    const before = records();
    const again = await runZooSearch(o); // every image is on disk: nothing is generated again
    expect(records()).toBe(before);
    expect(again.rounds).toEqual(s.rounds);

    const c = await runZooConfirm({
      quick: true,
      zoo,
      runs,
      from: join(dir, 'search'),
      out: join(dir, 'confirm'),
      log,
    });
    expect(c.set).toEqual({ promptSeed: 4000, noiseSeed: 400, perLevel: 1, prompts: 3 });
    expect(c.rows.map((r) => r.kind)).toEqual([
      'expert',
      'expert',
      'amdm',
      'amdm',
      'amdm',
      'amdm+options',
      'amdm+options',
      'baseline',
      'baseline',
      'baseline',
      'baseline',
    ]);
    expect(c.rows.at(-1)!.label).toBe('FKC (N = 4)');
    expect(c.rows.find((r) => r.label === 'FKC (N = 4)')!.calls).toBe(4 * 2 * 4); // T = 4, two models, 4 particles
    // paired over the 3 prompts against every reference row but itself
    const paper = c.rows[2];
    expect(Object.keys(paper.paired).filter((k) => k.startsWith('relation vs '))).toHaveLength(8);
    expect(c.verdict.note).toMatch(/^(no setting wins: the closest, .* in (relation|image) success against |won by )/);
    const table = readFileSync(join(dir, 'confirm', 'table.md'), 'utf8');
    expect(table).toContain(
      '## Δ relation success, row − column (paired: same prompts and noise; SE over the 3 prompts)',
    );
    expect(readFileSync(join(dir, 'confirm', 'pareto.svg'), 'utf8')).toMatch(/^<svg/);
    await expect(
      runZooConfirm({ quick: true, zoo, runs, from: join(dir, 'nothing'), out: join(dir, 'x'), log }),
    ).rejects.toThrow('zoo confirm confirms the settings of a search run: run `npx amdm zoo search --quick` first');
  }, 600_000);
});
