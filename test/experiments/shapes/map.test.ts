import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pairedDifference, replotMap, runMap } from '../../../src/experiments/shapes/map/run.ts';
import { bestRow, gridCells, mapPlan, neighbours, type MapGrid } from '../../../src/experiments/shapes/map/plan.ts';
import { cellName, cellSettings } from '../../../src/toy/shapes/map-cell.ts';
import { stackSVGs } from '../../../src/experiments/shapes/map/charts.ts';
import { compareInWorkers } from '../../../src/experiments/shapes/pool.ts';
import { MAP_BEST } from '../../../src/jobs/demo.ts';
import { makePromptSet } from '../../../src/toy/shapes/prompts.ts';
import { makeWorld } from '../../../src/toy/shapes/world.ts';

const grid: MapGrid = {
  steps: 50,
  rules: ['slerp', 'lerp'],
  w: [0.3, 0.5, 0.7],
  s: [10, 20, 30],
  eta: { absolute: [0.3, 1], sqrtDim: [0.1], relative: [0.2, 0.5] },
};

describe('map grid', () => {
  it("every (rule, w, s) gets η = 0 once and each scale's η values", () => {
    const cells = gridCells(grid);
    expect(cells).toHaveLength(2 * 3 * 3 * (1 + 2 + 1 + 2));
    expect(cells.slice(0, 6).map(cellName)).toEqual([
      'slerp w=0.3 s=10 η = 0',
      'slerp w=0.3 s=10 η = 0.3',
      'slerp w=0.3 s=10 η = 1',
      'slerp w=0.3 s=10 η = 0.1·√d',
      'slerp w=0.3 s=10 λ = 0.2',
      'slerp w=0.3 s=10 λ = 0.5',
    ]);
    expect(cells.filter((c) => c.scale === 'none')).toHaveLength(18);
  });
  it('a cell maps to sampler settings: relative takes λ and no etaScale; η = 0 is eq. 9 with no step', () => {
    expect(cellSettings({ rule: 'lerp', w: 0.9, s: 30, scale: 'relative', eta: 0.3 })).toEqual({
      rule: 'lerp',
      weights: 0.9,
      aggregateSteps: 30,
      deviation: 'relative',
      eta: 0.3,
    });
    expect(cellSettings({ rule: 'slerp', w: 0.5, s: 20, scale: 'sqrtDim', eta: 0.3 })).toEqual({
      rule: 'slerp',
      weights: 0.5,
      aggregateSteps: 20,
      deviation: 'eq9',
      eta: 0.3,
      etaScale: 'sqrtDim',
    });
    expect(cellSettings({ rule: 'slerp', w: 0.5, s: 20, scale: 'none', eta: 0 })).toEqual({
      rule: 'slerp',
      weights: 0.5,
      aggregateSteps: 20,
      deviation: 'eq9',
      eta: 0,
    });
  });
  it('neighbours: one step along w, s and η within its scale (η = 0 below the smallest), and the other rule', () => {
    const n = neighbours({ rule: 'slerp', w: 0.5, s: 30, scale: 'absolute', eta: 0.3 }, grid).map(cellName);
    expect(n).toEqual([
      'slerp w=0.3 s=30 η = 0.3',
      'slerp w=0.7 s=30 η = 0.3',
      'slerp w=0.5 s=20 η = 0.3',
      'slerp w=0.5 s=30 η = 0',
      'slerp w=0.5 s=30 η = 1',
      'lerp w=0.5 s=30 η = 0.3',
    ]);
    const z = neighbours({ rule: 'lerp', w: 0.3, s: 10, scale: 'none', eta: 0 }, grid).map(cellName);
    expect(z).toEqual([
      'lerp w=0.5 s=10 η = 0',
      'lerp w=0.3 s=20 η = 0',
      'lerp w=0.3 s=10 η = 0.3',
      'lerp w=0.3 s=10 η = 0.1·√d',
      'lerp w=0.3 s=10 λ = 0.2',
      'slerp w=0.3 s=10 η = 0',
    ]);
  });
  it('the best row has clean images; experts alone never count; ties go to fewer calls', () => {
    const rows = [
      { method: 'layout alone', rule: '', instanceSuccess: 0.9, cleanImages: 1, calls: 10 },
      { method: 'a', rule: 'slerp', instanceSuccess: 0.8, cleanImages: 0.5, calls: 10 },
      { method: 'b', rule: 'slerp', instanceSuccess: 0.6, cleanImages: 0.95, calls: 30 },
      { method: 'c', rule: 'lerp', instanceSuccess: 0.6, cleanImages: 1, calls: 20 },
      { method: 'd', rule: 'lerp', instanceSuccess: 0.4, cleanImages: 1, calls: 5 },
    ];
    expect(bestRow(rows)?.method).toBe('c');
    expect(bestRow(rows.slice(0, 2))).toBeNull();
  });
  it('paired difference of per-instance successes: mean and standard error', () => {
    const d = pairedDifference('1101', '0100'); // differences 1, 0, 0, 1
    expect(d.value).toBe(0.5);
    expect(d.se).toBeCloseTo(Math.sqrt(1 / 3) / 2, 12);
    expect(() => pairedDifference('10', '1')).toThrow(/paired rows must score the same instances \(2 vs 1\)/);
  });
  it('the paper point lies on the full grid', () => {
    const p = mapPlan(false);
    expect(gridCells(p.pair).some((c) => cellName(c) === cellName(p.paper))).toBe(true);
  });
});

describe('amdm experiment map --quick', () => {
  it('runs the three stages and writes the report, CSVs and heat maps', async () => {
    const out = mkdtempSync(path.join(tmpdir(), 'amdm-map-'));
    const r = await runMap(mapPlan, { quick: true, seed: 0, out, log: () => {} });
    expect(readdirSync(out).sort()).toEqual([
      '.amdm-output.json',
      'coarse.csv',
      'fine.csv',
      'heatmap-3.svg',
      'heatmap.svg',
      'results.json',
      'table.md',
      'three.csv',
      'trace.csv',
      'trace.svg',
    ]);
    const plan = mapPlan(true);
    expect(r.coarse).toHaveLength(2 + gridCells(plan.pair).length);
    expect(r.three).toHaveLength(3 + gridCells(plan.three).length);
    // the best comes from the fine run and keeps its images clean
    expect(r.fine.map((f) => f.method)).toContain(r.best.method);
    expect(Number(r.best.cleanImages)).toBeGreaterThanOrEqual(0.9);
    const layout = r.fine.find((f) => f.method === 'layout alone')!;
    expect(layout.effectVsLayout).toBe(0);
    for (const f of r.fine)
      expect(Number(f.effectVsLayout)).toBeCloseTo(Number(f.instanceSuccess) - Number(layout.instanceSuccess), 12);
    const svg = readFileSync(path.join(out, 'heatmap.svg'), 'utf8');
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg).toContain('lerp, relative step, λ — instance success');
    expect(readFileSync(path.join(out, 'heatmap-3.svg'), 'utf8')).toContain('style success');
    const json = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8'));
    expect(json.command).toBe('npx amdm experiment map --quick');
    expect(json.best.name).toBe(r.best.method);
    // the paper's trace: eq. 9's step is 0.3·√d at every aggregated step, whatever the distance
    const trace = readFileSync(path.join(out, 'trace.csv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(','));
    const paper = trace.filter((t) => t[0].startsWith('"paper:'));
    expect(paper.map((t) => Number(t[1]))).toEqual([0, 1, 2, 3]);
    for (const t of paper) expect(Number(t[3])).toBeCloseTo(0.3 * Math.sqrt(768), 10);
    // --replot redraws the same report from results.json
    const table = readFileSync(path.join(out, 'table.md'), 'utf8');
    expect(await replotMap(out)).toBe(path.resolve(out));
    expect(readFileSync(path.join(out, 'table.md'), 'utf8')).toBe(table);
    expect(readFileSync(path.join(out, 'heatmap.svg'), 'utf8')).toBe(svg);
  });
  it('worker processes give the same numbers as one process', async () => {
    const world = makeWorld();
    const job = {
      prompts: makePromptSet(world, { seed: 5, count: 2, withStyle: true }),
      methods: [
        { name: 'layout', experts: ['layout' as const] },
        ...gridCells(mapPlan(true).pair)
          .slice(0, 3)
          .map((c) => ({ name: cellName(c), experts: ['layout' as const, 'attribute' as const], ...cellSettings(c) })),
      ],
      samplesPerPrompt: 2,
      steps: 6,
      seed: 1,
    };
    const here = await compareInWorkers(job, 1);
    const two = await compareInWorkers(job, 2);
    expect(two).toEqual(here);
    await expect(compareInWorkers(job, 0)).rejects.toThrow(/workers must be an integer ≥ 1, got 0/);
  });
  it('stackSVGs needs sized charts', () => {
    expect(() => stackSVGs([{ title: 't', svg: '<svg></svg>' }])).toThrow(/numeric width and height/);
    const s = stackSVGs([{ title: 'a & b', svg: '<svg width="100" height="50"></svg>' }], '');
    expect(s).toContain('a &amp; b');
    expect(s).toContain('<svg x="0" y="20" width="100" height="50">');
  });
});

describe("the demo runs the map's recorded best cell", () => {
  it('MAP_BEST equals the best cell in experiments/out/map/results.json', () => {
    const file = path.resolve('experiments/out/map/results.json');
    expect(existsSync(file)).toBe(true);
    const { best } = JSON.parse(readFileSync(file, 'utf8'));
    expect({ rule: best.rule, w: best.w, s: best.s, scale: best.scale, eta: best.eta }).toEqual(MAP_BEST);
  });
});
