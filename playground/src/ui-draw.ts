/**
 * The prompt editor: a preset list, the prompt's text form, and a canvas to draw squares on.
 * Mouse: click an empty place to add a square of the chosen colour there, click a square to
 * remove it. Keyboard (canvas focused): arrows move the cursor square, Enter or Space adds or
 * removes at the cursor, Delete removes the last square.
 */
import { boxesOverlap, parsePromptLabel, promptLabel, squareBox, validatePrompt, type ShapesInstance, type ShapesPrompt } from '../../src/toy/shapes/prompts.ts';
import { renderPrompt } from '../../src/toy/shapes/render.ts';
import { PRESET_PROMPTS, WORLD } from './settings.ts';
import { el } from './ui-controls.ts';
import { paintImage } from './ui-image.ts';

const SCALE = 16;

export interface PromptEditor {
  show(prompt: string): void;
}

/** Wires the prompt panel's elements; `onPrompt` receives a valid prompt's text form. */
export function buildPromptEditor(root: HTMLElement, onPrompt: (text: string) => void): PromptEditor {
  const preset = root.querySelector<HTMLSelectElement>('#preset')!;
  const text = root.querySelector<HTMLInputElement>('#prompt')!;
  const canvas = root.querySelector<HTMLCanvasElement>('#draw')!;
  const color = root.querySelector<HTMLSelectElement>('#color')!;
  const style = root.querySelector<HTMLSelectElement>('#style')!;
  const error = root.querySelector<HTMLElement>('#prompt-error')!;
  const announce = root.querySelector<HTMLElement>('#draw-status')!;
  preset.append(el('option', { value: '' }, '(drawn or typed)'));
  PRESET_PROMPTS.forEach((p, i) => preset.append(el('option', { value: promptLabel(p) }, `#${i + 1}: ${promptLabel(p)}`)));
  WORLD.colors.forEach((c) => color.append(el('option', { value: c }, c)));
  style.append(el('option', { value: '' }, `(none: ${WORLD.defaultStyle}, not scored)`));
  WORLD.styles.forEach((s) => style.append(el('option', { value: s }, s)));

  let current: ShapesPrompt = PRESET_PROMPTS[0];
  const cursor = { x: 0, y: 0 };
  const max = WORLD.width - WORLD.square;

  const commit = (instances: readonly ShapesInstance[], st: string | undefined, said?: string) => {
    try {
      const p = validatePrompt(WORLD, st === undefined ? { instances } : { instances, style: st });
      error.textContent = '';
      if (said) announce.textContent = said;
      onPrompt(promptLabel(p));
    } catch (e) {
      error.textContent = e instanceof Error ? e.message : String(e);
    }
  };
  const remove = (k: number) => {
    const gone = current.instances[k];
    commit(current.instances.filter((_, i) => i !== k), current.style, `removed ${gone.color} at (${gone.box[0]}, ${gone.box[1]})`);
  };
  const add = (x: number, y: number) => {
    const box = squareBox(WORLD, Math.min(max, x), Math.min(WORLD.height - WORLD.square, y));
    const clash = current.instances.find((i) => boxesOverlap(i.box, box));
    if (clash) {
      error.textContent = `a square at (${box[0]}, ${box[1]}) would overlap ${clash.color} at (${clash.box[0]}, ${clash.box[1]}); remove that square first`;
      return;
    }
    commit([...current.instances, { box, color: color.value }], current.style, `added ${color.value} at (${box[0]}, ${box[1]})`);
  };

  // mouse: a click on a square removes it; elsewhere it adds one centred on the click
  canvas.addEventListener('click', (e) => {
    const r = canvas.getBoundingClientRect();
    const x = Math.floor(((e.clientX - r.left) / r.width) * WORLD.width);
    const y = Math.floor(((e.clientY - r.top) / r.height) * WORLD.height);
    const hit = current.instances.findIndex((i) => x >= i.box[0] && x < i.box[2] && y >= i.box[1] && y < i.box[3]);
    if (hit >= 0) remove(hit);
    else add(Math.max(0, x - (WORLD.square >> 1)), Math.max(0, y - (WORLD.square >> 1)));
  });
  canvas.addEventListener('keydown', (e) => {
    const moves: Record<string, [number, number]> = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    if (moves[e.key]) {
      cursor.x = Math.max(0, Math.min(max, cursor.x + moves[e.key][0]));
      cursor.y = Math.max(0, Math.min(WORLD.height - WORLD.square, cursor.y + moves[e.key][1]));
      announce.textContent = `cursor at (${cursor.x}, ${cursor.y})`;
      draw();
    } else if (e.key === 'Enter' || e.key === ' ') {
      // Enter on a square (cursor exactly on it) removes it; elsewhere adds one at the cursor
      const same = current.instances.findIndex((i) => i.box[0] === cursor.x && i.box[1] === cursor.y);
      if (same >= 0) remove(same);
      else add(cursor.x, cursor.y);
    }
    else if (e.key === 'Delete' || e.key === 'Backspace') {
      if (current.instances.length > 1) commit(current.instances.slice(0, -1), current.style, 'removed the last square');
    } else return;
    e.preventDefault();
  });
  preset.addEventListener('change', () => { if (preset.value) onPrompt(preset.value); });
  style.addEventListener('change', () => commit(current.instances, style.value || undefined));
  text.addEventListener('change', () => {
    try {
      const p = parsePromptLabel(WORLD, text.value);
      error.textContent = '';
      onPrompt(promptLabel(p));
    } catch (e) {
      error.textContent = e instanceof Error ? e.message : String(e);
    }
  });

  const draw = () => {
    const ctx = paintImage(canvas, renderPrompt(WORLD, current), SCALE);
    ctx.strokeStyle = 'rgba(255,255,255,0.9)';
    ctx.setLineDash([4, 3]);
    if (document.activeElement === canvas) ctx.strokeRect(cursor.x * SCALE + 0.5, cursor.y * SCALE + 0.5, WORLD.square * SCALE - 1, WORLD.square * SCALE - 1);
    ctx.setLineDash([]);
  };
  canvas.addEventListener('focus', draw);
  canvas.addEventListener('blur', draw);

  return {
    show(prompt: string) {
      current = parsePromptLabel(WORLD, prompt);
      text.value = prompt;
      preset.value = PRESET_PROMPTS.some((p) => promptLabel(p) === prompt) ? prompt : '';
      style.value = current.style ?? '';
      canvas.setAttribute('aria-label', `prompt drawing, ${current.instances.map((i) => `${i.color} square at (${i.box[0]}, ${i.box[1]})`).join(', ')}; arrows move the cursor, Enter adds or removes a square of the chosen colour`);
      draw();
    },
  };
}
