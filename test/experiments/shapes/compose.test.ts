/**
 * The Table 5 analog (compositional baselines vs AMDM on the Shapes world), smoke version:
 * it runs, writes its files, reports rates in [0, 1], and every method spends exactly the model
 * calls its definition implies.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runComposeShapes } from '../../../src/experiments/shapes/compose/run.ts';
import {
  composeMethods,
  composeSettings,
  looseBackground,
  mcmcOptions,
  resolveSettings,
} from '../../../src/experiments/shapes/compose/methods.ts';
import type { ComposeRow } from '../../../src/experiments/shapes/compose/report.ts';
import { compareOnShapes } from '../../../src/toy/shapes/compare.ts';
import { makePromptSet } from '../../../src/toy/shapes/prompts.ts';
import { makeWorld } from '../../../src/toy/shapes/world.ts';
import type { Level } from '../../../src/compose/noise-levels.ts';

const PROMPTS = 3;
const B = 2;
let out: string;
let rows: ComposeRow[];
const byName = (prefix: string) => {
  const r = rows.find((x) => String(x.method).startsWith(prefix));
  if (!r) throw new Error(`no row ${prefix}`);
  return r;
};

beforeAll(async () => {
  out = mkdtempSync(path.join(tmpdir(), 'amdm-compose-'));
  rows = await runComposeShapes(composeSettings, { quick: true, seed: 0, out, log: () => {} });
}, 60_000);

describe('compose-shapes --quick', () => {
  it('writes results.json, results.csv, table.md and chart.svg', () => {
    expect(readdirSync(out)).toEqual(expect.arrayContaining(['results.json', 'results.csv', 'table.md', 'chart.svg']));
    expect(readFileSync(path.join(out, 'chart.svg'), 'utf8')).toMatch(/^<svg/);
    const json = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8'));
    expect(json.command).toBe('npx amdm experiment compose-shapes --quick');
    expect(json.prompts).toBe(PROMPTS);
    expect(json.samplesPerPrompt).toBe(B);
    expect(json.rows).toHaveLength(rows.length);
    const table = readFileSync(path.join(out, 'table.md'), 'utf8').trim().split('\n');
    expect(table).toHaveLength(rows.length + 2);
    const csv = readFileSync(path.join(out, 'results.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(rows.length + 1);
    expect(rows.map((r) => r.method)).toEqual(composeMethods(composeSettings(true)).map((m) => m.name));
  });

  it('reports rates in [0, 1] over prompts × B kept samples for every method', () => {
    for (const r of rows) {
      expect(r.images).toBe(PROMPTS * B);
      for (const k of [
        'instanceSuccess',
        'mIoU',
        'imageSuccess',
        'styleSuccess',
        'colorAccuracy',
        'positionAccuracy',
      ]) {
        expect(Number(r[k])).toBeGreaterThanOrEqual(0);
        expect(Number(r[k])).toBeLessThanOrEqual(1);
        expect(Number(r[`${k}SE`])).toBeGreaterThanOrEqual(0);
      }
      expect(Number(r.seconds)).toBeGreaterThanOrEqual(0);
    }
    // the exact joint is always right; HMC's acceptance is a rate
    expect(byName('oracle').instanceSuccess).toBe(1);
    const acc = Number(byName('Du + HMC (').acceptance);
    expect(acc).toBeGreaterThan(0);
    expect(acc).toBeLessThanOrEqual(1);
    expect(byName('Du + U-HMC').acceptance).toBe(1);
  });

  it('spends the model calls each method is defined by (per prompt batch)', () => {
    const { steps: T, aggregateSteps: s, mcmcSteps: K, leapfrog: L, particleFactor: f } = composeSettings(true);
    const calls = (prefix: string) => [byName(prefix).epsCallsPerPrompt, byName(prefix).logDensityCallsPerPrompt];
    expect(calls('layout alone')).toEqual([T, 0]);
    expect(calls('AMDM layout←attribute (η = 0.3')).toEqual([2 * s + (T - s), 0]);
    expect(calls('AMDM layout←attribute (η = 0)')).toEqual([2 * s + (T - s), 0]);
    // sum of scores: 2 experts × T steps
    expect(calls('sum of scores (DDPM)')).toEqual([2 * T, 0]);
    expect(calls('sum of scores (DDIM')).toEqual([2 * T, 0]);
    // MCMC after every step onto a level t′ ≥ 0 (T − 1 of them): one gradient, then K·L leapfrog gradients;
    // HMC adds one log-density at the start and one per proposal
    expect(calls('Du + U-HMC')).toEqual([2 * T + 2 * (T - 1) * (1 + K * L), 0]);
    expect(calls('Du + HMC (')).toEqual([2 * T + 2 * (T - 1) * (1 + K * L), 2 * (T - 1) * (1 + K)]);
    expect(calls('projective')).toEqual([3 * T, 0]);
    expect(calls('FKC (N = B)')).toEqual([2 * T, 0]);
    expect(calls(`FKC (N = ${f}B)`)).toEqual([2 * T, 0]);
    // SMC: log π̃ at the start and after every step
    expect(calls('SMC')).toEqual([2 * T, 2 * (T + 1)]);
    expect(calls('AMDM layout←attribute+style')).toEqual([3 * s + (T - s), 0]);
    expect(calls('sum of scores +style')).toEqual([3 * T, 0]);
    expect(calls('Du + HMC +style')).toEqual([3 * T + 3 * (T - 1) * (1 + K * L), 3 * (T - 1) * (1 + K)]);
    // per kept sample, particle methods pay for all N = f·B particles
    expect(byName(`FKC (N = ${f}B)`).epsPerSample).toBe(2 * T * f);
    expect(byName('FKC (N = B)').epsPerSample).toBe(2 * T);
    expect(byName('SMC').logDensityPerSample).toBe(2 * (T + 1) * f);
    expect(byName('sum of scores (DDPM)').epsPerSample).toBe(2 * T);
  });

  it('pairs with compareOnShapes: layout alone and AMDM give the same evaluations', async () => {
    const world = makeWorld();
    const prompts = makePromptSet(world, { seed: 1000, count: PROMPTS, withStyle: true });
    const { steps, aggregateSteps } = composeSettings(true);
    const ref = await compareOnShapes({
      world,
      prompts,
      samplesPerPrompt: B,
      steps,
      aggregateSteps,
      seed: 0,
      methods: [
        { name: 'layout', experts: ['layout'] },
        { name: 'amdm', experts: ['layout', 'attribute'] },
      ],
    });
    for (const [i, name] of [
      [0, 'layout alone'],
      [1, 'AMDM layout←attribute (η = 0.3'],
    ] as const) {
      const o = ref.methods[i].summary.overall;
      expect(byName(name).instanceSuccess).toBe(o.instanceSuccess.value);
      expect(byName(name).mIoU).toBe(o.mIoU.value);
      expect(byName(name).epsCallsPerPrompt).toBe(ref.methods[i].calls / PROMPTS);
    }
  });
});

describe('compose-shapes pieces', () => {
  it('the projective background: loose positions, any colour, any style', () => {
    const world = makeWorld();
    const [prompt] = makePromptSet(world, { seed: 1000, count: 1, withStyle: true });
    const bg = looseBackground(world, prompt, 0);
    expect(bg.dim).toBe(world.dim);
    expect(bg.weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(new Set(bg.components.map((c) => c.style))).toEqual(new Set(world.styles));
    const [box] = prompt.instances.map((i) => i.box);
    for (const c of bg.components) {
      expect(Math.abs(c.instances[0].x - box[0])).toBeLessThanOrEqual(2);
      expect(Math.abs(c.instances[0].y - box[1])).toBeLessThanOrEqual(2);
    }
    // a 1-instance prompt is enumerated: 7 colours at every one of the (≤ 25) corners
    if (prompt.instances.length === 1)
      expect(new Set(bg.components.map((c) => c.instances[0].color)).size).toBe(world.colors.length);
  });

  it('the HMC step is stepScale·√((ᾱσ₀² + 1 − ᾱ)/k)', () => {
    const s = composeSettings(false);
    const o = mcmcOptions('hmc', s, 0.15, 2);
    const step = o.stepSize as (l: Level) => number;
    expect(step({ abar: 1 } as Level)).toBeCloseTo((s.stepScale * 0.15) / Math.SQRT2, 15);
    expect(step({ abar: 0 } as Level)).toBeCloseTo(s.stepScale / Math.SQRT2, 15);
    expect(o).toMatchObject({ kind: 'hmc', stepsPerLevel: 4, leapfrog: 3, damping: 0.5, mass: 1 });
  });

  it('full settings follow the paper: T = 50, s = 20, w = 0.5', () => {
    expect(composeSettings(false)).toMatchObject({ steps: 50, aggregateSteps: 20, weight: 0.5 });
    expect(resolveSettings(composeSettings(true), { steps: 6, aggregateSteps: 6 })).toMatchObject({
      steps: 6,
      aggregateSteps: 6,
    });
  });

  it('rejects bad options with the parameter named', async () => {
    const FULL = { quick: false, seed: 0, out: path.join(tmpdir(), 'amdm-compose-never-written'), log: () => {} };
    await expect(runComposeShapes(composeSettings, { ...FULL, samples: 0 })).rejects.toThrow(/samples must be/);
    await expect(runComposeShapes(composeSettings, { ...FULL, prompts: 1.5 })).rejects.toThrow(/prompts must be/);
    await expect(runComposeShapes(composeSettings, { ...FULL, quick: true, select: () => false })).rejects.toThrow(
      /select must accept at least one method/,
    );
    expect(() => resolveSettings(composeSettings(true), { damping: 1 })).toThrow(
      /settings\.damping must be in \[0, 1\)/,
    );
    expect(() => resolveSettings(composeSettings(true), { steps: 5, aggregateSteps: 6 })).toThrow(
      /settings\.aggregateSteps must be an integer in \[0, 5\]/,
    );
    expect(() => resolveSettings(composeSettings(true), { stepScale: 0 })).toThrow(
      /settings\.stepScale must be in \(0, 10\]/,
    );
  });
});
