import { describe, expect, it } from 'vitest';
import { plotToSVG } from '../../src/image/plot.ts';
import { CHARTS } from '../../playground/src/charts.ts';
import { compileRule } from '../../playground/src/custom-rule.ts';
import { runPlayground, type MethodView } from '../../playground/src/run.ts';
import {
  CONTROLS,
  DEFAULT_SETTINGS,
  DEFAULT_RULE_BODY,
  parseSettings,
  settingsFromHash,
  settingsToHash,
  WORLD,
} from '../../playground/src/settings.ts';
import { RULES } from '../../src/core/rules.ts';
import { libraryRates, type ExpectedSettings } from '../helpers/playground-expected.ts';

const quick = { ...DEFAULT_SETTINGS, T: 12, s: 5, samples: 2 };

describe('playground settings', () => {
  it('every control has a default inside its range or options', () => {
    for (const c of CONTROLS) {
      if (c.kind === 'select') expect(c.options.map((o) => o[0])).toContain(c.default);
      else expect(c.default >= c.min && c.default <= c.max).toBe(true);
      expect(DEFAULT_SETTINGS[c.key]).toBe(c.default);
    }
    expect(parseSettings({})).toEqual(DEFAULT_SETTINGS);
  });

  it('round-trips through the URL hash, writing only what differs', () => {
    const s = {
      ...DEFAULT_SETTINGS,
      w: 0.7,
      others: [],
      rule: 'nlerp' as const,
      prompt: 'red@(2,3) blue@(9,9) | stripes',
    };
    const hash = settingsToHash(s);
    expect(hash).toBe('#w=0.7&rule=nlerp&prompt=red%40%282%2C3%29+blue%40%289%2C9%29+%7C+stripes&others=');
    expect(settingsFromHash(hash)).toEqual(s);
    expect(settingsToHash(DEFAULT_SETTINGS)).toBe('');
  });

  it('rejects bad settings with the setting named', () => {
    expect(() => parseSettings({ w: 1.5 })).toThrow('w must be in [0, 1], got 1.5');
    expect(() => parseSettings({ T: '2.5' })).toThrow('T must be an integer in [1, 100], got 2.5');
    expect(() => parseSettings({ s: 30, T: 20 })).toThrow('s must be at most T (20), got 30');
    expect(() => parseSettings({ rule: 'cubic' })).toThrow(
      "rule must be one of 'slerp', 'lerp', 'nlerp', 'vp', 'sphericalMean', 'custom', got \"cubic\"",
    );
    expect(() => parseSettings({ others: 'layout' })).toThrow("others must not include the target ('layout')");
    expect(() => parseSettings({ others: 'style,style' })).toThrow("others must not repeat 'style'");
    expect(() => parseSettings({ prompt: 'red@(14,3)' })).toThrow(
      'text.instances[0].box must lie inside the 16×16 image',
    );
    expect(() => settingsFromHash('#eta=abc')).toThrow('eta must be a number in [0, 1], got NaN');
  });
});

describe('playground custom rule', () => {
  it('the default body is slerp: it passes the checks and matches the built-in rule', () => {
    const rule = compileRule(DEFAULT_RULE_BODY, WORLD.dim);
    const a = Float32Array.from({ length: 16 }, (_, i) => Math.sin(i + 1));
    const b = Float32Array.from({ length: 16 }, (_, i) => Math.cos(3 * i));
    const got = rule([a, b], [0.3], new Float32Array(16), 16);
    const want = RULES.slerp([a, b], [0.3], new Float32Array(16), 16);
    for (let i = 0; i < 16; i++) expect(got[i]).toBeCloseTo(want[i], 5);
  });

  it('reports a body that does not parse, breaks an endpoint or gives NaN', () => {
    expect(() => compileRule('for (', WORLD.dim)).toThrow(/^rule body does not parse: /);
    expect(() => compileRule('  ', WORLD.dim)).toThrow('rule body must not be empty: write out[i] for every i');
    expect(() => compileRule('for (let i = 0; i < a.length; i++) out[i] = 0.5 * (a[i] + b[i]);', WORLD.dim)).toThrow(
      /rule 'custom' must return a \(the target keeps its proposal\) at w = 0/,
    );
    expect(() =>
      compileRule(
        'for (let i = 0; i < a.length; i++) out[i] = (1 - w) * a[i] + w * b[i] + Math.log(w * (1 - w));',
        WORLD.dim,
      ),
    ).toThrow(/rule 'custom' must write a finite value to every element of out at w = 0/);
    expect(() => compileRule('undefinedName();', WORLD.dim)).toThrow(
      "rule 'custom' threw at w = 0: undefinedName is not defined",
    );
  });
});

describe('runPlayground', () => {
  it('shows the library’s rates for the same seed, and the AMDM trace', async () => {
    const settings = { ...quick, others: ['attribute', 'style'] as const, w: 0.7, eta: 0.1 } as unknown as typeof quick;
    const seen: string[] = [];
    const res = await runPlayground(settings, { onMethod: (v) => seen.push(v.key) });
    expect(seen).toEqual(['alone:layout', 'alone:attribute', 'alone:style', 'amdm']);
    const want = await libraryRates(settings as ExpectedSettings);
    for (const m of res.methods) expect(m.summary).toEqual(want[m.key]);
    expect(res.methods.map((m) => m.calls)).toEqual([12, 12, 12, 12 + 2 * 5]); // one call per step for the whole batch
    expect(res.amdmError).toBeNull();
    const t = res.trace!;
    // s steps × B samples × 2 fold stages; ‖x′ − μₖ‖ for 3 models; the step length is η·√d
    expect(t.angles).toHaveLength(5 * 2 * 2);
    expect(new Set(t.angles.map((r) => r.pair))).toEqual(new Set(['layout ↔ attribute', 'merge ↔ style']));
    expect(t.deviations).toHaveLength(5 * 3 * 2);
    expect(t.etas.map((r) => r.eta)).toEqual(new Array(15).fill(0.1 * Math.sqrt(WORLD.dim)));
    expect(t.sphere).toHaveLength(12);
    // the last sphere radius is at ᾱ → 1: the data's RMS per element
    expect(t.sphere[11].value).toBeGreaterThan(0.8);
    expect(t.norms.filter((r) => r.series === 'merge x′')).toHaveLength(5 * 2);
  });

  it('the relative deviation step: the library’s rates, λ = η in the trace, the η scale not passed on', async () => {
    const settings = { ...quick, deviation: 'relative' as const, eta: 0.5, etaScale: 'absolute' as const };
    const res = await runPlayground(settings);
    expect(res.amdmError).toBeNull();
    const want = await libraryRates(settings as ExpectedSettings);
    expect(res.methods[2].summary).toEqual(want.amdm);
    expect(res.trace!.etas.map((r) => r.eta)).toEqual(new Array(5 * 2).fill(0.5));
    expect(parseSettings({ deviation: 'relative' }).deviation).toBe('relative');
    expect(() => parseSettings({ deviation: 'clip' })).toThrow(/deviation/);
  });

  it('reruns only AMDM when a sampler setting of AMDM changes (alone runs are cached)', async () => {
    const cache = new Map<string, MethodView>();
    const first = await runPlayground(quick, { cache });
    const second = await runPlayground({ ...quick, w: 0.9 }, { cache });
    expect(second.methods.slice(0, 2).map((m) => m.ms)).toEqual([0, 0]);
    expect(second.methods[0].summary).toEqual(first.methods[0].summary);
    expect(second.methods[2].ms).toBeGreaterThan(0);
    const want = await libraryRates({ ...quick, w: 0.9 } as ExpectedSettings);
    expect(second.methods[2].summary).toEqual(want.amdm);
  });

  it('reports a custom rule that fails its checks instead of running AMDM', async () => {
    const res = await runPlayground({ ...quick, rule: 'custom', ruleBody: 'out.fill(0);' });
    expect(res.methods.map((m) => m.key)).toEqual(['alone:layout', 'alone:attribute']);
    expect(res.trace).toBeNull();
    expect(res.amdmError).toMatch(/^rule 'custom' must return a \(the target keeps its proposal\) at w = 0/);
  });

  it('runs a custom rule that passes: the default body gives slerp’s rates', async () => {
    const custom = await runPlayground({ ...quick, rule: 'custom' });
    const builtin = await runPlayground(quick);
    expect(custom.methods[2].summary).toEqual(builtin.methods[2].summary);
  });

  it('draws the three charts from the trace', async () => {
    const res = await runPlayground(quick);
    for (const c of CHARTS) {
      const svg = plotToSVG(c.make(res.trace!, quick.T));
      expect(svg).toContain('<svg');
    }
    expect(plotToSVG(CHARTS[2].make(res.trace!, quick.T))).toContain('merge x′');
  });
});
