import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runZooBench } from '../../../src/experiments/zoo/bench.ts';
import { MAX_NOISE_SEED, ZOO_METHODS, replicateSeed, resolveMethod } from '../../../src/experiments/zoo/methods.ts';
import { rescoreZooBench } from '../../../src/experiments/zoo/rescore.ts';
import { targetAlone } from '../../../src/experiments/zoo/paired.ts';
import { minimigPrompt } from '../../../src/toy/minimig/index.ts';
import { ZOO_EXPERIMENT_PLANS, runZooExperiment, zooExperimentFolder } from '../../../src/experiments/zoo/registry.ts';
import { splitMethods } from '../../../src/cli/zoo-command.ts';
import { projectRoot } from '../../helpers/data.ts';

const zoo = join(projectRoot, 'models', 'mini-zoo');
const haveZoo = ['base', 'migc-mini', 'interactdiffusion-mini', 'ipadapter-mini'].every((m) =>
  existsSync(join(zoo, m, 'unet', 'model.onnx')),
);
if (!haveZoo) console.warn(`[skip] zoo bench: the model folders under ${zoo} are missing`);

describe('MiniMIG benchmark: options', () => {
  it('image seeds: noise seed·10¹⁰ + k·10⁷ + the prompt stream; noise seed 0 is the recorded runs', () => {
    const p = minimigPrompt(3, 17);
    expect(p.seed).toBe(3_000_017);
    expect(replicateSeed(p, 0)).toBe(3_000_017);
    expect(replicateSeed(p, 2)).toBe(23_000_017);
    expect(replicateSeed(p, 2, 5)).toBe(50_023_000_017);
    expect(replicateSeed(minimigPrompt(4, 999_999), 999, MAX_NOISE_SEED)).toBeLessThan(Number.MAX_SAFE_INTEGER);
    expect(() => replicateSeed(p, 0, -1)).toThrow(`--noise-seed must be an integer in [0, ${MAX_NOISE_SEED}], got -1`);
    expect(() => replicateSeed(p, 1000)).toThrow('replicate must be an integer in [0, 999], got 1000');
  });

  it('each aggregated method is paired with its target model alone when the run has it', () => {
    const methods = ['interact', 'migc', 'interact+migc', 'migc+interact', 'interact+migc+ip'];
    expect(methods.map((m) => targetAlone(m, methods))).toEqual([null, null, 'interact', 'migc', 'interact']);
    expect(targetAlone('interact+migc', ['migc', 'interact+migc'])).toBeNull();
  });

  it('names unknown or repeated methods and a bad s', async () => {
    await expect(runZooBench({ methods: ['interact', 'dalle'] })).rejects.toThrow(
      "--methods: unknown method 'dalle'; allowed: base, interact, migc, ip, interact+migc",
    );
    await expect(runZooBench({ methods: ['migc', 'migc'] })).rejects.toThrow(
      '--methods names a method twice: migc,migc',
    );
    await expect(runZooBench({ methods: [] })).rejects.toThrow('--methods must name at least one of base,');
    await expect(runZooBench({ methods: ['migc'], steps: 3, aggregateSteps: 4 })).rejects.toThrow(
      '--s must be ≤ --steps (3), got 4',
    );
    await expect(runZooExperiment('table9')).rejects.toThrow(
      "experiment must be one of table1, table2, style, reference, eta, rules, compose, map, got 'table9'",
    );
  });

  it('an aggregated method takes settings after @ (the map experiment on the zoo), each checked by name', () => {
    const m = resolveMethod('interact+migc@rule=lerp,w=0.9,s=40,eta=0');
    expect(m).toMatchObject({
      models: ['interactdiffusion-mini', 'migc-mini'],
      rule: 'lerp',
      weights: [0.9],
      aggregateSteps: 40,
      eta: 0,
    });
    expect(m.label).toBe('InteractDiffusion-mini(+MIGC-mini), rule=lerp, w=0.9, s=40, eta=0');
    expect(resolveMethod('interact+migc+ip@w=0.7').weights).toEqual([0.7, 0.7]);
    expect(resolveMethod('migc')).toBe(ZOO_METHODS.migc);
    expect(() => resolveMethod('interact+migc@rule=cubic')).toThrow(
      "rule must be one of slerp, lerp, nlerp, vp, sphericalMean, got 'cubic'",
    );
    expect(() => resolveMethod('interact+migc@w=1.5')).toThrow("w must be a number in [0, 1], got '1.5'");
    expect(() => resolveMethod('interact+migc@s=2.5')).toThrow("s must be an integer in [0, 1000], got '2.5'");
    expect(() => resolveMethod('interact+migc@eta=')).toThrow("eta must be a number in [0, 1000000], got ''");
    expect(() => resolveMethod('interact+migc@tau=1')).toThrow(
      "unknown setting 'tau'; allowed: rule, w, s, eta, deviation, scale, start, sched, wend, map, feather, mapdev",
    );
    // Table 3's variants: the relative (non-overshooting) deviation step and η as an absolute length
    expect(resolveMethod('interact+migc@deviation=relative,eta=0.3')).toMatchObject({
      deviation: 'relative',
      eta: 0.3,
    });
    expect(resolveMethod('interact+migc@scale=absolute,eta=0.3')).toMatchObject({ etaScale: 'absolute', eta: 0.3 });
    expect(() => resolveMethod('interact+migc@deviation=relative,eta=2')).toThrow(
      'with deviation=relative, eta is a fraction λ in [0, 1], got 2',
    );
    expect(() => resolveMethod('interact+migc@deviation=relative,scale=absolute')).toThrow(
      'deviation=relative takes no scale',
    );
    expect(() => resolveMethod('interact+migc@deviation=clip')).toThrow(
      "deviation must be eq9 or relative, got 'clip'",
    );
    expect(() => resolveMethod('migc@w=0.5')).toThrow('settings after @ need an aggregated method');
    expect(() => resolveMethod('interact+migc:reference@w=0.5')).toThrow('settings after @ need an aggregated method');
    expect(() => resolveMethod('interact+migc@w=0.5@s=3')).toThrow("unknown method 'interact+migc@w=0.5@s=3'");
    expect(splitMethods('interact,migc')).toEqual(['interact', 'migc']);
    expect(splitMethods('interact;interact+migc@rule=lerp,w=0.9')).toEqual([
      'interact',
      'interact+migc@rule=lerp,w=0.9',
    ]);
    expect(ZOO_EXPERIMENT_PLANS.map.methods).toHaveLength(2 + 16);
    for (const name of ZOO_EXPERIMENT_PLANS.map.methods) expect(() => resolveMethod(name)).not.toThrow();
  });

  it('every aggregated method gives one weight per other model; the experiments default to their own folders', () => {
    for (const m of Object.values(ZOO_METHODS)) {
      if (m.preset !== 'reference' && !m.compose && m.models.length > 1)
        expect(m.weights?.length).toBe(m.models.length - 1);
    }
    expect(zooExperimentFolder('table1', false)).toBe(join('experiments', 'out', 'mini-table1'));
    expect(zooExperimentFolder('table1', true)).toBe(join('amdm-out', 'experiments', 'mini-table1'));
  });
});

describe.skipIf(!haveZoo)('MiniMIG benchmark on the committed zoo folders', () => {
  const out = mkdtempSync(join(tmpdir(), 'minimig-bench-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));
  const base = { zoo, levels: [1, 2], perLevel: 1, seeds: 2, steps: 2, aggregateSteps: 1, log: () => {} };

  it('two shards write every record once; the last one writes the summary; a rerun generates nothing', async () => {
    const dir = join(out, 'run');
    const methods = ['migc', 'interact+migc', 'interact+migc:reference'];
    const s0 = await runZooBench({ ...base, methods, out: dir, shard: '0/2' });
    expect(s0.methods).toBeNull();
    // pairs (L1-000 r0, L1-000 r1, L2-000 r0, L2-000 r1); shard 0 takes the 1st and 3rd:
    // migc both, interact+migc only L2 (L1 has no interaction) → 2 + 1 + 1
    expect(s0.written).toBe(4);
    const s1 = await runZooBench({ ...base, methods, out: dir, shard: '1/2' });
    expect(s1.written).toBe(4);
    expect(s1.methods?.map((m) => [m.name, m.overall.images, m.skipped])).toEqual([
      ['migc', 4, 0],
      ['interact+migc', 2, 1],
      ['interact+migc:reference', 2, 1],
    ]);
    const [single, amdm] = s1.methods!;
    expect(single.calls).toBe(2); // T UNet calls (CFG's two halves in one batched call)
    expect(amdm.calls).toBe(2 + 1); // T for the target, s for MIGC
    for (const m of s1.methods!) expect(m.seconds).toBeGreaterThan(0);
    const again = await runZooBench({ ...base, methods, out: dir });
    expect([again.written, again.skipped]).toEqual([0, 4 + 2 + 2]);
    expect(again.methods).toEqual(s1.methods!.map((m) => ({ ...m })));
    const csv = readFileSync(join(dir, 'results.csv'), 'utf8').trim().split('\n');
    expect(csv[0].startsWith('method,level,images,instance_success,instance_success_se,miou')).toBe(true);
    expect(csv).toHaveLength(1 + 3 + 2 + 2);
    expect(readFileSync(join(dir, 'table.md'), 'utf8')).toContain(
      '| InteractDiffusion-mini(+MIGC-mini), reference preset | L2 | 2 |',
    );
    expect(readFileSync(join(dir, 'chart.svg'), 'utf8')).toContain('<svg');
    expect(readdirSync(join(dir, 'records', 'interact+migc')).sort()).toEqual(['L2-000-r0.json', 'L2-000-r1.json']);
    expect(s1.paired).toEqual([]);
    expect(readFileSync(join(dir, 'table.md'), 'utf8')).toContain('(no paired differences');
  }, 240_000);

  it('pairs a method with its target alone (prompts as units); a run with --images rescores to the same summary', async () => {
    const dir = join(out, 'paired');
    const opts = { ...base, methods: ['interact', 'interact+migc'], levels: [2], perLevel: 2, seeds: 1, images: true };
    const r = await runZooBench({ ...opts, out: dir });
    expect(r.paired!.map((p) => [p.method, p.target, p.prompts, p.images])).toEqual([
      ['interact+migc', 'interact', 2, 2],
    ]);
    const [alone, amdm] = r.methods!;
    const d = r.paired![0].differences;
    expect(d.instanceSuccess!.value).toBeCloseTo(
      amdm.overall.instanceSuccess.value - alone.overall.instanceSuccess.value,
      12,
    );
    expect(d.relationSuccess!.value).toBeCloseTo(
      amdm.overall.relationSuccess!.value - alone.overall.relationSuccess!.value,
      12,
    );
    expect(readFileSync(join(dir, 'paired.csv'), 'utf8').split('\n')[0]).toContain(
      'd_relation_success,d_relation_success_se',
    );
    const again = await rescoreZooBench(dir, { zoo, log: () => {} });
    expect([again.rescored, again.missing]).toEqual([4, 0]);
    expect(again.summary!.methods).toEqual(r.methods);
    expect(again.summary!.paired).toEqual(r.paired);
  }, 240_000);

  it('refuses a method that can take none of the prompts before anything is written', async () => {
    const dir = join(out, 'none');
    await expect(runZooBench({ ...base, methods: ['migc', 'interact'], levels: [1], out: dir })).rejects.toThrow(
      "--methods: 'interact' can take none of the prompts of levels 1 (InteractDiffusion needs an interaction: level ≥ 2)",
    );
    expect(existsSync(dir)).toBe(false);
  });

  it('an unreadable record is generated again; other settings are refused, naming them', async () => {
    const dir = join(out, 'resume');
    await runZooBench({ ...base, methods: ['migc'], levels: [1], seeds: 1, out: dir });
    writeFileSync(join(dir, 'records', 'migc', 'L1-000-r0.json'), '{"half');
    const r = await runZooBench({ ...base, methods: ['migc'], levels: [1], seeds: 1, out: dir });
    expect([r.written, r.skipped]).toEqual([1, 0]);
    await expect(
      runZooBench({ ...base, methods: ['migc'], levels: [1], seeds: 1, steps: 3, out: dir }),
    ).rejects.toThrow('holds a run with other settings (steps 3 here, 2 there)');
  }, 120_000);

  it('the compose experiment (Table 5 analog) runs every baseline through the pipeline (quick)', async () => {
    const r = await runZooExperiment('compose', { zoo, quick: true, out: join(out, 'compose'), log: () => {} });
    const byName = new Map(r.methods!.map((m) => [m.name, m]));
    expect([...byName.keys()]).toEqual(ZOO_EXPERIMENT_PLANS.compose.methods);
    for (const m of r.methods!) expect(m.overall.images).toBe(3);
    // UNet calls per image at T = 3: the sum 2·3; projective 3·3 (the background too); FKC 4 particles
    // evaluated one at a time, 4·2·3; U-HMC adds 1 + K·L gradient calls per model (the first, then L per leapfrog
    // trajectory) on each of the T − 1 levels before the last
    expect(byName.get('interact+migc:sum')!.calls).toBe(6);
    expect(byName.get('interact+migc:projective')!.calls).toBe(9);
    expect(byName.get('interact+migc:fkc')!.calls).toBe(24);
    expect(byName.get('interact+migc:sum-uhmc')!.calls).toBe(6 + 2 * 2 * (1 + 4 * 3));
    expect(() => resolveMethod('interact+migc:sum@w=0.5')).toThrow(
      "settings after @ need an aggregated method of the paper's algorithm, got 'interact+migc:sum'",
    );
  }, 300_000);

  it('the style experiment runs all three models (quick)', async () => {
    const r = await runZooExperiment('style', { zoo, quick: true, out: join(out, 'style'), log: () => {} });
    expect(r.methods?.map((m) => [m.name, m.overall.images])).toEqual([
      ['interact', 3],
      ['ip', 3],
      ['interact+ip', 3],
      ['interact+migc+ip', 3],
    ]);
    for (const m of r.methods!)
      for (const row of [...m.levels, m.overall])
        expect(row.styleSuccess.value >= 0 && row.styleSuccess.value <= 1).toBe(true);
  }, 180_000);
});
