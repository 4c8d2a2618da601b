import * as Plot from '@observablehq/plot';
import { describe, expect, it } from 'vitest';
import { plotToSVG } from '../../src/image/plot.ts';

const count = (s: string, re: RegExp) => (s.match(re) ?? []).length;
const data = [
  { step: 0, value: 1.0, rule: 'slerp' },
  { step: 1, value: 0.7, rule: 'slerp' },
  { step: 2, value: 0.4, rule: 'vp' },
  { step: 3, value: 0.2, rule: 'vp' },
  { step: 4, value: 0.1, rule: 'vp' },
];

describe('plotToSVG', () => {
  it('returns a standalone <svg> with one <circle> per datum', () => {
    const svg = plotToSVG({ marks: [Plot.dot(data, { x: 'step', y: 'value' })] });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(count(svg, /<circle/g)).toBe(data.length);
    expect(plotToSVG({ marks: [Plot.dot(data.slice(0, 2), { x: 'step', y: 'value' })] })).toMatch(/^<svg/);
    expect(count(plotToSVG({ marks: [Plot.dot(data.slice(0, 2), { x: 'step', y: 'value' })] }), /<circle/g)).toBe(2);
  });

  it('draws a line as a <path> in the line mark group, with the given size', () => {
    const svg = plotToSVG({ width: 320, height: 200, marks: [Plot.lineY(data, { x: 'step', y: 'value' })] });
    expect(svg).toMatch(/width="320"/);
    expect(svg).toMatch(/height="200"/);
    const d = /<g [^>]*aria-label="line"[^>]*><path d="(M[^"]*)"/.exec(svg)?.[1] ?? '';
    expect(count(d, /L/g)).toBe(data.length - 1); // M + one L per further point
  });

  it('returns the <figure> HTML for a title and legend, with xmlns on every inner <svg>', () => {
    const options = {
      title: 'Deviation',
      color: { legend: true },
      marks: [Plot.dot(data, { x: 'step', y: 'value', fill: 'rule' })],
    };
    const fig = plotToSVG(options);
    expect(fig.startsWith('<figure')).toBe(true);
    expect(fig).toContain('<h2>Deviation</h2>');
    expect(count(fig, /<svg/g)).toBeGreaterThan(1); // swatches + chart
    expect(count(fig, /<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/g)).toBe(count(fig, /<svg/g));
    expect(count(fig, /<circle/g)).toBe(data.length);
    const chart = plotToSVG(options, { figure: 'svg' });
    expect(chart.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(chart).not.toContain('<h2');
    expect(count(chart, /<svg/g)).toBe(1);
    expect(count(chart, /<circle/g)).toBe(data.length);
  });

  it('rejects bad arguments naming the parameter', () => {
    expect(() => plotToSVG(null as unknown as Plot.PlotOptions)).toThrow(/options must be Observable Plot options/);
    expect(() => plotToSVG({}, { figure: 'png' as 'svg' })).toThrow(/opts\.figure must be 'html' or 'svg', got "png"/);
  });
});
