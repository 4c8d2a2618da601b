/**
 * The results panel: one card per method (its images, upscaled, and its rates on the prompt,
 * each with its standard error) and the three trace charts, for either world. Every rate is also
 * written to a data attribute at full precision, which the browser tests compare with the
 * library's.
 */
import * as Plot from '@observablehq/plot';
import type { Estimate } from '../../src/toy/shapes/evaluate.ts';
import type { ShapesPrompt } from '../../src/toy/shapes/prompts.ts';
import { renderPrompt } from '../../src/toy/shapes/render.ts';
import { IMAGE_SIZE, renderScene, renderStyle, type MiniMigPrompt } from '../../src/toy/minimig/index.ts';
import { CHARTS } from './charts.ts';
import type { MethodView, PlaygroundResult } from './run.ts';
import { WORLD } from './settings.ts';
import { el } from './ui-controls.ts';
import { boxRect, paintImage, paintRGBA, renderBytesToRGBA } from './ui-image.ts';
import type { ZooMethodView, ZooResult } from './zoo-run.ts';

const SCALE = 6;
const ZOO_SCALE = 4;

const pct = (e: Estimate | null) => (e === null ? '—' : `${(100 * e.value).toFixed(0)}% ± ${(100 * e.se).toFixed(0)}`);
const mean = (e: Estimate | null) => (e === null ? '—' : `${e.value.toFixed(2)} ± ${e.se.toFixed(2)}`);

/** The rates a Shapes card shows, in order: [data attribute, label, summary field]. */
export const RATES = [
  ['instance-success', 'instances', 'instanceSuccess'],
  ['image-success', 'images all right', 'imageSuccess'],
  ['style-success', 'style', 'styleSuccess'],
  ['clean-images', 'clean', 'cleanImages'],
] as const;

/** The scores a mini-zoo card shows (the MiniMIG evaluator's): [data attribute, label, summary field, format]. */
export const ZOO_RATES = [
  ['instance-success', 'instances', 'instanceSuccess', pct],
  ['miou', 'mIoU', 'mIoU', mean],
  ['interaction-success', 'interactions', 'interactionSuccess', pct],
  ['relation-success', 'relations (marks with both instances right)', 'relationSuccess', pct],
  ['image-success', 'images all right', 'imageSuccess', pct],
  ['style-success', 'style', 'styleSuccess', pct],
  ['clean-rate', 'clean', 'cleanRate', pct],
] as const;

/** One image of a card: its canvas (painted) and whether all its instances are right. */
interface CardImage {
  canvas: HTMLCanvasElement;
  ok: boolean;
}

function imageCanvas(label: string): HTMLCanvasElement {
  return el('canvas', { role: 'img', 'aria-label': label, title: label }) as HTMLCanvasElement;
}

/** A card: name, rates with standard errors (also as data attributes), images, and the run's cost. */
function card(
  key: string,
  name: string,
  calls: number,
  ms: number,
  rates: readonly (readonly [string, string, Estimate | null, (e: Estimate | null) => string])[],
  images: readonly CardImage[],
): HTMLElement {
  const c = el('article', {
    class: `method ${key === 'amdm' ? 'amdm' : ''}`,
    'data-key': key,
    'data-calls': String(calls),
  });
  c.append(el('h3', {}, name));
  const dl = el('dl', { class: 'rates' });
  for (const [attr, label, e, format] of rates) {
    c.setAttribute(`data-${attr}`, e === null ? '' : String(e.value));
    dl.append(el('dt', {}, label), el('dd', { 'data-rate': attr }, format(e)));
  }
  const box = el('div', { class: 'images' });
  for (const img of images) {
    img.canvas.classList.add(img.ok ? 'ok' : 'miss');
    box.append(img.canvas);
  }
  c.append(
    dl,
    box,
    el('p', { class: 'meta' }, `${calls} model calls${ms > 0 ? ` · ${ms.toFixed(0)} ms` : ' · cached'}`),
  );
  return c;
}

/** The card of the Shapes prompt's own clean render. */
export function promptCard(prompt: ShapesPrompt): HTMLElement {
  const c = el('article', { class: 'method prompt', 'data-key': 'prompt' });
  const canvas = imageCanvas('the prompt rendered without noise');
  paintImage(canvas, renderPrompt(WORLD, prompt), SCALE, prompt);
  c.append(el('h3', {}, 'prompt (clean render)'), canvas);
  return c;
}

/** The card of a Shapes method: name, rates with standard errors, and its B images. */
export function methodCard(view: MethodView, prompt: ShapesPrompt): HTMLElement {
  const images = view.verdicts.map((v, b) => {
    const label = `${view.name}, sample ${b + 1}: ${v.instancesOk} of ${v.instances} instances right${v.styleOk === null ? '' : v.styleOk ? ', right style' : ', wrong style'}${v.clean ? ', clean' : ', not clean'}`;
    const canvas = imageCanvas(label);
    paintImage(canvas, view.images.subarray(b * WORLD.dim, (b + 1) * WORLD.dim), SCALE, prompt);
    return { canvas, ok: v.instancesOk === v.instances };
  });
  return card(
    view.key,
    view.name,
    view.calls,
    view.ms,
    RATES.map(([attr, label, field]) => [attr, label, view.summary[field], pct] as const),
    images,
  );
}

/** The card of a MiniMIG prompt: its exact render (what the evaluator scores against) and the style reference IP-Adapter-mini sees. */
export function zooPromptCard(prompt: MiniMigPrompt, text: string): HTMLElement {
  const c = el('article', { class: 'method prompt', 'data-key': 'prompt' });
  const boxes = prompt.scene.instances.map((i) => boxRect(i.box));
  const render = imageCanvas(`the prompt ${prompt.id} rendered exactly`);
  paintRGBA(render, renderBytesToRGBA(renderScene(prompt.scene), IMAGE_SIZE), ZOO_SCALE, boxes);
  const ref = imageCanvas('the style reference (IP-Adapter-mini’s image input)');
  paintRGBA(ref, renderBytesToRGBA(renderStyle(prompt.reference), IMAGE_SIZE), ZOO_SCALE);
  const images = el('div', { class: 'images' });
  images.append(render, ref);
  c.append(el('h3', {}, 'prompt: exact render · style reference'), el('p', { class: 'caption' }, text), images);
  return c;
}

/** The card of a mini-zoo method: the evaluator's scores with standard errors, and its images. */
export function zooMethodCard(view: ZooMethodView, prompt: MiniMigPrompt): HTMLElement {
  const boxes = prompt.scene.instances.map((i) => boxRect(i.box));
  const images = view.verdicts.map((v, b) => {
    const label = `${view.name}, sample ${b + 1}: ${v.instancesOk} of ${v.instances} instances right, ${v.relationsOk} of ${v.relations} interactions drawn, ${v.styleOk ? 'right style' : 'wrong style'}, ${v.clean ? 'clean' : 'not clean'}`;
    const canvas = imageCanvas(label);
    paintRGBA(canvas, view.images[b], ZOO_SCALE, boxes);
    return { canvas, ok: v.instancesOk === v.instances && v.relationsOk === v.relations };
  });
  return card(
    view.key,
    view.name,
    view.calls,
    view.ms,
    ZOO_RATES.map(([attr, label, field, format]) => [attr, label, view.summary[field], format] as const),
    images,
  );
}

/** Replaces the card of `view.key` in `root`, or appends it. */
export function putCard(root: HTMLElement, c: HTMLElement): void {
  const old = root.querySelector(`[data-key="${c.dataset.key}"]`);
  if (old) old.replaceWith(c);
  else root.append(c);
}

/** Draws the trace charts, or says why there are none. */
export function renderCharts(root: HTMLElement, result: PlaygroundResult | ZooResult, steps: number): void {
  for (const c of CHARTS) {
    const box = root.querySelector<HTMLElement>(`#chart-${c.id}`)!;
    box.replaceChildren(el('h3', {}, c.title));
    if (result.trace === null) {
      box.append(el('p', { class: 'none' }, `no AMDM run: ${result.amdmError ?? 'choose at least one other model'}`));
      continue;
    }
    const figure = Plot.plot(c.make(result.trace, steps)) as Element;
    figure.setAttribute('aria-label', c.title);
    box.append(figure);
  }
}
