import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runDemo } from '../../src/cli/demo.ts';
import { DEMO_DEFAULTS, MAP_BEST } from '../../src/jobs/demo.ts';
import { etaLabel } from '../../src/toy/shapes/map-cell.ts';
import { SEARCH_BEST_SETTING, mergeSettingAtSteps, mergeSettingName } from '../../src/toy/shapes/merge-setting.ts';
import { buildProgram } from '../../src/cli/main.ts';
import { decodePNG } from '../../src/image/png.ts';

describe('amdm demo (smoke: few prompts and steps)', () => {
  it('prints the table, writes grid.png and results.json atomically', async () => {
    const out = mkdtempSync(path.join(tmpdir(), 'amdm-demo-'));
    const lines: string[] = [];
    const r = await runDemo({
      ...DEMO_DEFAULTS,
      prompts: 3,
      samples: 2,
      steps: 12,
      s: 5,
      gridPrompts: 2,
      out,
      log: (l) => lines.push(l),
    });
    const text = lines.join('\n');
    const names = [
      'layout',
      'attribute',
      'style',
      'AMDM layout←attribute (paper)',
      'AMDM layout←attribute (map best)',
      'AMDM layout←attribute (search best)',
      'AMDM layout←attribute (η = 0)',
      'AMDM layout←attribute+style (η = 0)',
    ];
    for (const name of names) expect(text).toContain(name);
    expect(text).toMatch(/instance success/);
    // the map's best settings are printed with the s they take at this T
    expect(text).toContain(`the row marked "map best" uses ${MAP_BEST.rule}, w = ${MAP_BEST.w}, ${etaLabel(MAP_BEST)}`);
    expect(readdirSync(out).sort()).toEqual(['.amdm-output.json', 'grid.png', 'results.json']);
    const json = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8'));
    expect(json.methods.map((m: { name: string }) => m.name)).toEqual(names);
    // model calls: T per prompt for one expert, T + (N − 1)·s for AMDM (paper row: s = 0.4·T;
    // map best: its s at T = 50 scaled to T = 12)
    const sBest = Math.round((MAP_BEST.s * 12) / 50);
    const [a, b] = mergeSettingAtSteps(SEARCH_BEST_SETTING, 12).window;
    expect(json.methods.map((m: { calls: number }) => m.calls)).toEqual([
      36,
      36,
      36,
      3 * (12 + 5),
      3 * (12 + sBest),
      3 * (12 + b - a),
      3 * (12 + 5),
      3 * (12 + 10),
    ]);
    expect(r.methods[2].summary.overall.styleSuccess!.value).toBeGreaterThan(0.5); // the style expert gets the style
    const grid = await decodePNG(readFileSync(path.join(out, 'grid.png')));
    expect(grid.width).toBeGreaterThan(2 * 128);
    expect(grid.height).toBeGreaterThan(8 * 128);
    expect(text).toContain(`the row marked "search best" uses ${mergeSettingName(SEARCH_BEST_SETTING)}`);
  });
  it('the options beyond the paper apply to the rows with the given settings: window, schedule, box maps', async () => {
    const base = { ...DEMO_DEFAULTS, prompts: 2, samples: 2, steps: 10, s: 4, gridPrompts: 0, log: () => {} };
    const plain = await runDemo({ ...base, out: mkdtempSync(path.join(tmpdir(), 'amdm-b-')) });
    const r = await runDemo({
      ...base,
      window: [2, 8],
      weightSchedule: { kind: 'linear', from: 1, to: 0.5 },
      spatialFeather: 1,
      spatialDeviation: true,
      out: mkdtempSync(path.join(tmpdir(), 'amdm-b-')),
    });
    const calls = (x: typeof r, name: string) => x.methods.find((m) => m.name.startsWith(name))!.calls;
    expect(calls(r, 'AMDM layout←attribute (η')).toBe(2 * (10 + 6));
    expect(calls(r, 'AMDM layout←attribute+style')).toBe(2 * (10 + 12));
    // the fixed rows do not change
    for (const n of ['AMDM layout←attribute (paper)', 'AMDM layout←attribute (search best)'])
      expect(r.methods.find((m) => m.name === n)!.evaluations).toEqual(
        plain.methods.find((m) => m.name === n)!.evaluations,
      );
  });
  it('--backend onnx (experts exported to ONNX, run by onnxruntime) gives the same rates as the JS experts', async () => {
    const { onnxExpertFactory } = await import('../../src/jobs/demo-onnx.ts');
    const base = { ...DEMO_DEFAULTS, prompts: 2, samples: 2, steps: 10, s: 4, gridPrompts: 0, log: () => {} };
    const js = await runDemo({ ...base, out: mkdtempSync(path.join(tmpdir(), 'amdm-js-')) });
    const onnx = await runDemo(
      { ...base, backend: 'onnx', out: mkdtempSync(path.join(tmpdir(), 'amdm-onnx-')) },
      onnxExpertFactory(),
    );
    expect(onnx.methods.map((m) => m.summary.overall)).toEqual(js.methods.map((m) => m.summary.overall));
    expect(onnx.methods.map((m) => m.calls)).toEqual(js.methods.map((m) => m.calls));
  });
  it('the server takes the same options through the demo schema, with the field named', async () => {
    const { demoSchema } = await import('../../src/jobs/demo.ts');
    const ok = demoSchema.parse({
      steps: 20,
      window: [2, 16],
      weightSchedule: { kind: 'cosine', from: 1, to: 0.5 },
      spatialFeather: 1,
    });
    expect([ok.window, ok.weightSchedule?.kind, ok.spatialFeather, ok.s]).toEqual([[2, 16], 'cosine', 1, 8]);
    const issues = (v: unknown) =>
      demoSchema.safeParse(v).error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(issues({ steps: 20, window: [2, 30] })).toEqual([
      'window: must be [start, end) with 0 ≤ start ≤ end ≤ steps',
    ]);
    expect(issues({ spatialDeviation: true })).toEqual([
      'spatialDeviation: restricts the deviation step to the box maps: give spatialFeather too',
    ]);
  });
  it('rejects bad flags with the allowed range', async () => {
    const run = (args: string[]) => {
      const p = buildProgram().exitOverride();
      p.commands.forEach((c) => c.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} }));
      p.configureOutput({ writeErr: () => {}, writeOut: () => {} });
      return p.parseAsync(['node', 'amdm', ...args]);
    };
    await expect(run(['demo', '--w', '1.5'])).rejects.toThrow(/must be a number in \[0, 1\], got '1.5'/);
    await expect(run(['demo', '--rule', 'cubic'])).rejects.toThrow(
      /must be one of slerp, lerp, nlerp, vp, sphericalMean/,
    );
    await expect(run(['demo', '--steps', '0'])).rejects.toThrow(/must be an integer in \[1, 1000\], got '0'/);
    await expect(
      run(['demo', '--steps', '10', '--s', '20', '--out', mkdtempSync(path.join(tmpdir(), 'x-'))]),
    ).rejects.toThrow(/--s must be ≤ --steps \(10\), got 20/);
    await expect(run(['demo', '--deviation', 'clip'])).rejects.toThrow(/Allowed choices are eq9, relative/);
    await expect(run(['demo', '--window', '5'])).rejects.toThrow(/must be start,end \(e.g. 0,40\), got '5'/);
    await expect(run(['demo', '--window', '9,4'])).rejects.toThrow(/must be an integer in \[0, 4\], got '9'/);
    await expect(run(['demo', '--weight-schedule', 'step:1:0'])).rejects.toThrow(
      /must be linear:from:to or cosine:from:to/,
    );
    await expect(run(['demo', '--steps', '10', '--window', '0,20'])).rejects.toThrow(
      /--window must end at ≤ --steps \(10\), got 0,20/,
    );
    await expect(run(['demo', '--spatial-deviation'])).rejects.toThrow(/--spatial-deviation needs --spatial <feather>/);
    await expect(run(['demo', '--deviation', 'relative', '--eta-scale', 'absolute'])).rejects.toThrow(
      /--eta-scale applies only to --deviation eq9/,
    );
    await expect(run(['demo', '--deviation', 'relative', '--eta', '1.5'])).rejects.toThrow(
      /--eta must be in \[0, 1\] with --deviation relative \(it is λ\), got 1.5/,
    );
  });
  it('--s defaults to the paper ratio scaled to --steps (s = 4 of 10), so --steps alone works', async () => {
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'amdm-demo-s-')), 'out');
    const p = buildProgram();
    const logs: string[] = [];
    const spy = (l: unknown) => logs.push(String(l));
    const orig = console.log;
    console.log = spy;
    try {
      await p.parseAsync([
        'node',
        'amdm',
        'demo',
        '--steps',
        '10',
        '--prompts',
        '1',
        '--samples',
        '1',
        '--grid-prompts',
        '0',
        '--no-progress',
        '--out',
        out,
      ]);
    } finally {
      console.log = orig;
    }
    expect(logs.join('\n')).toContain('T = 10, s = 4,');
    expect(JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8')).settings.s).toBe(4);
  });
  it('refuses more --w values than other models, and an output path under a file before sampling', async () => {
    const base = { ...DEMO_DEFAULTS, prompts: 1, samples: 1, steps: 4, s: 2, gridPrompts: 0, log: () => {} };
    await expect(runDemo({ ...base, w: [0.5, 0.5, 0.5], out: mkdtempSync(path.join(tmpdir(), 'x-')) })).rejects.toThrow(
      '--w takes 1 weight or one per other model (at most 2 here), got 3: 0.5,0.5,0.5',
    );
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'x-')), 'file');
    writeFileSync(file, 'x');
    const t0 = Date.now();
    await expect(
      runDemo({ ...base, steps: 50, samples: 50, prompts: 50, out: path.join(file, 'demo') }),
    ).rejects.toThrow(/^--out: cannot create the folder .*file\/demo: .*file is a file, not a folder$/);
    expect(Date.now() - t0).toBeLessThan(2000); // 50 × 50 samples would take minutes: it failed first
  });
  it('a bad flag prints the error and one hint line, not the whole help; --version prints the version', async () => {
    const err: string[] = [];
    const out: string[] = [];
    const p = buildProgram().exitOverride();
    p.commands.forEach((c) =>
      c.exitOverride().configureOutput({ writeErr: (t) => err.push(t), writeOut: (t) => out.push(t) }),
    );
    p.configureOutput({ writeErr: (t) => err.push(t), writeOut: (t) => out.push(t) });
    await expect(p.parseAsync(['node', 'amdm', 'demo', '--bogus'])).rejects.toThrow(/unknown option '--bogus'/);
    expect(err.join('').trim().split('\n')).toEqual([
      "error: unknown option '--bogus'",
      '(add --help to list the options)',
    ]);
    await expect(p.parseAsync(['node', 'amdm', '--version'])).rejects.toThrow();
    expect(out.join('')).toBe(`${JSON.parse(readFileSync('package.json', 'utf8')).version}\n`);
  });
});

describe('amdm demo --help: one help per world', () => {
  /** The help text `amdm <args>` prints. */
  async function help(args: string[]): Promise<string> {
    let text = '';
    const p = buildProgram().exitOverride();
    const demo = p.commands.find((c) => c.name() === 'demo')!;
    for (const c of [p, demo]) c.exitOverride().configureOutput({ writeOut: (s) => (text += s), writeErr: () => {} });
    await expect(p.parseAsync(['node', 'amdm', ...args])).rejects.toThrow('(outputHelp)');
    return text;
  }
  it("shows the Shapes world's flags and defaults, and the mini-zoo's with --world mini", async () => {
    const shapes = await help(['demo', '--help']);
    expect(shapes).toMatch(/^Shapes world: each expert alone vs AMDM/m);
    expect(shapes).toMatch(/--steps <T> +DDIM steps \(default: 50\)/);
    expect(shapes).toMatch(/--samples <n>/);
    expect(shapes.replace(/\s+/g, ' ')).toMatch(/amdm demo --world mini --help/); // the help wraps its lines
    for (const args of [
      ['demo', '--world', 'mini', '--help'],
      ['demo', '--help', '--world', 'mini'],
    ]) {
      const mini = await help(args);
      expect(mini).toMatch(/^mini-zoo world: InteractDiffusion-mini, MIGC-mini and IP-Adapter-mini alone vs/m);
      expect(mini).toMatch(/--steps <T> +DDIM steps \(default: 20\)/);
      expect(mini).toMatch(/--prompts <n> +MiniMIG prompts, cycling through levels L2, L3, L4 \(default:\s+3\)/);
      expect(mini).toMatch(
        /--s <s> +aggregation steps of the given-settings rows \(default: the\s+paper's ratio, 8 of 20\)/,
      );
      expect(mini).toMatch(/--out <dir> +output folder \(default: "amdm-out\/demo-mini"\)/);
      for (const shapesOnly of ['--samples', '--w ', '--rule', '--grid-prompts', '--backend', '--levels'])
        expect(mini).not.toContain(shapesOnly);
    }
  });
});
