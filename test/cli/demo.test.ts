import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runDemo, DEMO_DEFAULTS } from '../../src/cli/demo.ts';
import { buildProgram } from '../../src/cli/main.ts';
import { decodePNG } from '../../src/image/png.ts';

describe('amdm demo (smoke: few prompts and steps)', () => {
  it('prints the table, writes grid.png and results.json atomically', async () => {
    const out = mkdtempSync(path.join(tmpdir(), 'amdm-demo-'));
    const lines: string[] = [];
    const r = await runDemo({ ...DEMO_DEFAULTS, prompts: 3, samples: 2, steps: 12, s: 5, gridPrompts: 2, out, log: (l) => lines.push(l) });
    const text = lines.join('\n');
    for (const name of ['layout', 'attribute', 'style', 'AMDM layout←attribute (paper)', 'AMDM layout←attribute', 'AMDM layout←attribute+style']) expect(text).toContain(name);
    expect(text).toMatch(/instance success/);
    expect(readdirSync(out).sort()).toEqual(['grid.png', 'results.json']);
    const json = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8'));
    expect(json.methods).toHaveLength(6);
    // model calls: T per prompt for one expert, T + (N − 1)·s for AMDM (paper row: s = 0.4·T)
    expect(json.methods.map((m: { calls: number }) => m.calls)).toEqual([36, 36, 36, 3 * (12 + 5), 3 * (12 + 5), 3 * (12 + 10)]);
    expect(r.methods[2].summary.overall.styleSuccess!.value).toBeGreaterThan(0.5); // the style expert gets the style
    const grid = await decodePNG(readFileSync(path.join(out, 'grid.png')));
    expect(grid.width).toBeGreaterThan(2 * 128);
    expect(grid.height).toBeGreaterThan(7 * 128);
  });
  it('--backend onnx (experts exported to ONNX, run by onnxruntime) gives the same rates as the JS experts', async () => {
    const { onnxExpertFactory } = await import('../../src/jobs/demo-onnx.ts');
    const base = { ...DEMO_DEFAULTS, prompts: 2, samples: 2, steps: 10, s: 4, gridPrompts: 0, log: () => {} };
    const js = await runDemo({ ...base, out: mkdtempSync(path.join(tmpdir(), 'amdm-js-')) });
    const onnx = await runDemo({ ...base, backend: 'onnx', out: mkdtempSync(path.join(tmpdir(), 'amdm-onnx-')) }, onnxExpertFactory());
    expect(onnx.methods.map((m) => m.summary.overall)).toEqual(js.methods.map((m) => m.summary.overall));
    expect(onnx.methods.map((m) => m.calls)).toEqual(js.methods.map((m) => m.calls));
  });
  it('rejects bad flags with the allowed range', async () => {
    const run = (args: string[]) => {
      const p = buildProgram().exitOverride();
      p.commands.forEach((c) => c.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} }));
      p.configureOutput({ writeErr: () => {}, writeOut: () => {} });
      return p.parseAsync(['node', 'amdm', ...args]);
    };
    await expect(run(['demo', '--w', '1.5'])).rejects.toThrow(/must be a number in \[0, 1\], got '1.5'/);
    await expect(run(['demo', '--rule', 'cubic'])).rejects.toThrow(/must be one of slerp, lerp, nlerp, vp, sphericalMean/);
    await expect(run(['demo', '--steps', '0'])).rejects.toThrow(/must be an integer in \[1, 1000\], got '0'/);
    await expect(run(['demo', '--steps', '10', '--s', '20', '--out', mkdtempSync(path.join(tmpdir(), 'x-'))])).rejects.toThrow(/--s must be ≤ --steps \(10\), got 20/);
  });
});
