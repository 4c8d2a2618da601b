/**
 * Observable Plot charts rendered outside a browser: Plot draws into a linkedom document and
 * the result is serialized to markup.
 */
import * as Plot from '@observablehq/plot';
import { parseHTML } from 'linkedom';
import { describe } from '../core/validate.ts';

const SVG_NS = 'http://www.w3.org/2000/svg';
const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

export interface PlotToSVGOptions {
  /**
   * What to return when Plot wraps the chart in a `<figure>` (it does so for a title, subtitle,
   * caption or legend):
   * - 'html' (default): the figure's HTML, `<figure …>…</figure>`, with xmlns set on every
   *   `<svg>` inside. Shows everything; for notebooks and HTML reports.
   * - 'svg': only the chart's own `<svg>` (the figure's last direct `<svg>` child), dropping
   *   title, legends and caption. Always a standalone SVG document, e.g. for a `.svg` file.
   */
  figure?: 'html' | 'svg';
}

/** Minimal structural view of the DOM nodes we touch (the project compiles without the DOM lib). */
interface Node_ {
  tagName: string;
  outerHTML: string;
  children: ArrayLike<Node_>;
  setAttributeNS(ns: string, name: string, value: string): void;
  querySelectorAll(sel: string): ArrayLike<Node_>;
}

function setSvgNamespace(svg: Node_): void {
  svg.setAttributeNS(XMLNS_NS, 'xmlns', SVG_NS);
}

/**
 * Renders `Plot.plot(options)` and returns its markup. When Plot returns an `<svg>` the result
 * is that SVG with `xmlns="http://www.w3.org/2000/svg"` set, so it is a standalone SVG file.
 * When Plot returns a `<figure>` see {@link PlotToSVGOptions.figure}. A `document` in
 * `options` is replaced by a fresh linkedom document.
 */
export function plotToSVG(options: Plot.PlotOptions, opts: PlotToSVGOptions = {}): string {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`options must be Observable Plot options (an object), got ${describe(options)}`);
  }
  const mode = opts.figure ?? 'html';
  if (mode !== 'html' && mode !== 'svg')
    throw new RangeError(`opts.figure must be 'html' or 'svg', got ${describe(mode)}`);
  // linkedom's types differ between Node's and Deno's DOM libs; Plot only needs the object
  const { document } = parseHTML('<!DOCTYPE html><html><head></head><body></body></html>') as unknown as {
    document: unknown;
  };
  const el = Plot.plot({ ...options, document } as Plot.PlotOptions) as unknown as Node_;
  const tag = el.tagName.toLowerCase();
  if (tag === 'svg') {
    setSvgNamespace(el);
    return el.outerHTML;
  }
  if (tag !== 'figure') throw new Error(`Plot returned an unexpected <${tag}> element`);
  if (mode === 'svg') {
    const svgs = Array.from(el.children).filter((c) => c.tagName.toLowerCase() === 'svg');
    const chart = svgs[svgs.length - 1];
    if (!chart) throw new Error('Plot returned a <figure> without an <svg> chart');
    setSvgNamespace(chart);
    return chart.outerHTML;
  }
  for (const svg of Array.from(el.querySelectorAll('svg'))) setSvgNamespace(svg);
  return el.outerHTML;
}
