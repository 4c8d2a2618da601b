/**
 * The results panel: one card per method (its images, upscaled, and its rates on the prompt,
 * each with its standard error) and the three trace charts. Every rate is also written to a
 * data attribute at full precision, which the browser test compares with the library's.
 */
import * as Plot from '@observablehq/plot';
import type { Estimate } from '../../src/toy/shapes/evaluate.ts';
import type { ShapesPrompt } from '../../src/toy/shapes/prompts.ts';
import { renderPrompt } from '../../src/toy/shapes/render.ts';
import { CHARTS } from './charts.ts';
import type { MethodView, PlaygroundResult } from './run.ts';
import { WORLD } from './settings.ts';
import { el } from './ui-controls.ts';
import { paintImage } from './ui-image.ts';

const SCALE = 6;

/** The rates a card shows, in order: [data attribute, label, summary field]. */
export const RATES = [
  ['instance-success', 'instances', 'instanceSuccess'],
  ['image-success', 'images all right', 'imageSuccess'],
  ['style-success', 'style', 'styleSuccess'],
  ['clean-images', 'clean', 'cleanImages'],
] as const;

const pct = (e: Estimate | null) => (e === null ? '—' : `${(100 * e.value).toFixed(0)}% ± ${(100 * e.se).toFixed(0)}`);

/** A new canvas with the image upscaled and the prompt's boxes dashed. */
function imageCanvas(image: Float32Array, prompt: ShapesPrompt, label: string): HTMLCanvasElement {
  const canvas = el('canvas', { role: 'img', 'aria-label': label, title: label }) as HTMLCanvasElement;
  paintImage(canvas, image, SCALE, prompt);
  return canvas;
}

/** The card of the prompt's own clean render. */
export function promptCard(prompt: ShapesPrompt): HTMLElement {
  const card = el('article', { class: 'method prompt', 'data-key': 'prompt' });
  card.append(el('h3', {}, 'prompt (clean render)'), imageCanvas(renderPrompt(WORLD, prompt), prompt, 'the prompt rendered without noise'));
  return card;
}

/** The card of one method: name, rates with standard errors, and its B images. */
export function methodCard(view: MethodView, prompt: ShapesPrompt): HTMLElement {
  const card = el('article', { class: `method ${view.key === 'amdm' ? 'amdm' : ''}`, 'data-key': view.key, 'data-calls': String(view.calls) });
  card.append(el('h3', {}, view.name));
  const rates = el('dl', { class: 'rates' });
  for (const [attr, label, field] of RATES) {
    const e = view.summary[field];
    card.setAttribute(`data-${attr}`, e === null ? '' : String(e.value));
    rates.append(el('dt', {}, label), el('dd', { 'data-rate': attr }, pct(e)));
  }
  const images = el('div', { class: 'images' });
  view.verdicts.forEach((v, b) => {
    const label = `${view.name}, sample ${b + 1}: ${v.instancesOk} of ${v.instances} instances right${v.styleOk === null ? '' : v.styleOk ? ', right style' : ', wrong style'}${v.clean ? ', clean' : ', not clean'}`;
    const canvas = imageCanvas(view.images.subarray(b * WORLD.dim, (b + 1) * WORLD.dim), prompt, label);
    canvas.classList.add(v.instancesOk === v.instances ? 'ok' : 'miss');
    images.append(canvas);
  });
  card.append(rates, images, el('p', { class: 'meta' }, `${view.calls} model calls${view.ms > 0 ? ` · ${view.ms.toFixed(0)} ms` : ' · cached'}`));
  return card;
}

/** Replaces the card of `view.key` in `root`, or appends it. */
export function putCard(root: HTMLElement, card: HTMLElement): void {
  const old = root.querySelector(`[data-key="${card.dataset.key}"]`);
  if (old) old.replaceWith(card);
  else root.append(card);
}

/** Draws the trace charts, or says why there are none. */
export function renderCharts(root: HTMLElement, result: PlaygroundResult, steps: number): void {
  for (const c of CHARTS) {
    const box = root.querySelector<HTMLElement>(`#chart-${c.id}`)!;
    box.replaceChildren(el('h3', {}, c.title));
    if (result.trace === null) {
      box.append(el('p', { class: 'none' }, `no AMDM run: ${result.amdmError ?? 'choose at least one other expert'}`));
      continue;
    }
    const figure = Plot.plot(c.make(result.trace, steps)) as Element;
    figure.setAttribute('aria-label', c.title);
    box.append(figure);
  }
}
