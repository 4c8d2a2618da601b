/**
 * The prompt editor: a preset list, the prompt's text form, and a canvas to draw squares on.
 * Mouse: a click on a square removes it; elsewhere it adds a square of the chosen colour centred
 * on the click. Keyboard (canvas focused): arrows move the cursor square, Enter or Space removes
 * the square exactly under the cursor or adds one there, Delete removes the last square.
 */
import {
  boxesOverlap,
  parsePromptLabel,
  promptLabel,
  squareBox,
  validatePrompt,
  type ShapesInstance,
  type ShapesPrompt,
} from '../../src/toy/shapes/prompts.ts';
import { renderPrompt } from '../../src/toy/shapes/render.ts';
import { PRESET_PROMPTS, WORLD } from './settings.ts';
import { el } from './ui-controls.ts';
import { paintImage } from './ui-image.ts';

const SCALE = 16;
const MAX_X = WORLD.width - WORLD.square;
const MAX_Y = WORLD.height - WORLD.square;
const MOVES: Record<string, [number, number]> = {
  ArrowLeft: [-1, 0],
  ArrowRight: [1, 0],
  ArrowUp: [0, -1],
  ArrowDown: [0, 1],
};

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export class PromptEditor {
  private readonly preset: HTMLSelectElement;
  private readonly text: HTMLInputElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly color: HTMLSelectElement;
  private readonly style: HTMLSelectElement;
  private readonly error: HTMLElement;
  private readonly announce: HTMLElement;
  private current: ShapesPrompt = PRESET_PROMPTS[0];
  private readonly cursor = { x: 0, y: 0 };
  private readonly onPrompt: (text: string) => void;

  /** Wires the prompt panel's elements; `onPrompt` receives a valid prompt's text form. */
  constructor(root: HTMLElement, onPrompt: (text: string) => void) {
    this.onPrompt = onPrompt;
    const $ = <T extends HTMLElement>(sel: string) => root.querySelector<T>(sel)!;
    this.preset = $('#preset');
    this.text = $('#prompt');
    this.canvas = $('#draw');
    this.color = $('#color');
    this.style = $('#style');
    this.error = $('#prompt-error');
    this.announce = $('#draw-status');
    this.preset.append(el('option', { value: '' }, '(drawn or typed)'));
    PRESET_PROMPTS.forEach((p, i) =>
      this.preset.append(el('option', { value: promptLabel(p) }, `#${i + 1}: ${promptLabel(p)}`)),
    );
    WORLD.colors.forEach((c) => this.color.append(el('option', { value: c }, c)));
    this.style.append(el('option', { value: '' }, `(none: ${WORLD.defaultStyle}, not scored)`));
    WORLD.styles.forEach((s) => this.style.append(el('option', { value: s }, s)));

    this.canvas.addEventListener('click', (e) => this.onClick(e));
    this.canvas.addEventListener('keydown', (e) => this.onKey(e));
    this.canvas.addEventListener('focus', () => this.draw());
    this.canvas.addEventListener('blur', () => this.draw());
    this.preset.addEventListener('change', () => {
      if (this.preset.value) onPrompt(this.preset.value);
    });
    this.style.addEventListener('change', () => this.commit(this.current.instances, this.style.value || undefined));
    this.text.addEventListener('change', () => {
      try {
        const p = parsePromptLabel(WORLD, this.text.value);
        this.error.textContent = '';
        onPrompt(promptLabel(p));
      } catch (e) {
        this.error.textContent = message(e);
      }
    });
  }

  /** Shows `prompt` (a valid text form) in every part of the editor. */
  show(prompt: string): void {
    this.current = parsePromptLabel(WORLD, prompt);
    this.text.value = prompt;
    this.preset.value = PRESET_PROMPTS.some((p) => promptLabel(p) === prompt) ? prompt : '';
    this.style.value = this.current.style ?? '';
    const squares = this.current.instances.map((i) => `${i.color} square at (${i.box[0]}, ${i.box[1]})`).join(', ');
    this.canvas.setAttribute('aria-label', `prompt drawing: ${squares}`);
    this.draw();
  }

  private commit(instances: readonly ShapesInstance[], style: string | undefined, said?: string): void {
    try {
      const p = validatePrompt(WORLD, style === undefined ? { instances } : { instances, style });
      this.error.textContent = '';
      if (said) this.announce.textContent = said;
      this.onPrompt(promptLabel(p));
    } catch (e) {
      this.error.textContent = message(e);
    }
  }

  private remove(k: number): void {
    const gone = this.current.instances[k];
    this.commit(
      this.current.instances.filter((_, i) => i !== k),
      this.current.style,
      `removed ${gone.color} at (${gone.box[0]}, ${gone.box[1]})`,
    );
  }

  private add(x: number, y: number): void {
    const box = squareBox(WORLD, Math.min(MAX_X, x), Math.min(MAX_Y, y));
    const clash = this.current.instances.find((i) => boxesOverlap(i.box, box));
    if (clash) {
      this.error.textContent = `a square at (${box[0]}, ${box[1]}) would overlap ${clash.color} at (${clash.box[0]}, ${clash.box[1]}); remove that square first`;
      return;
    }
    const color = this.color.value;
    this.commit(
      [...this.current.instances, { box, color }],
      this.current.style,
      `added ${color} at (${box[0]}, ${box[1]})`,
    );
  }

  private onClick(e: MouseEvent): void {
    const r = this.canvas.getBoundingClientRect();
    const x = Math.floor(((e.clientX - r.left) / r.width) * WORLD.width);
    const y = Math.floor(((e.clientY - r.top) / r.height) * WORLD.height);
    const hit = this.current.instances.findIndex((i) => x >= i.box[0] && x < i.box[2] && y >= i.box[1] && y < i.box[3]);
    if (hit >= 0) this.remove(hit);
    else this.add(Math.max(0, x - (WORLD.square >> 1)), Math.max(0, y - (WORLD.square >> 1)));
  }

  private onKey(e: KeyboardEvent): void {
    const move = MOVES[e.key];
    if (move) {
      this.cursor.x = Math.max(0, Math.min(MAX_X, this.cursor.x + move[0]));
      this.cursor.y = Math.max(0, Math.min(MAX_Y, this.cursor.y + move[1]));
      this.announce.textContent = `cursor at (${this.cursor.x}, ${this.cursor.y})`;
      this.draw();
    } else if (e.key === 'Enter' || e.key === ' ') {
      const same = this.current.instances.findIndex((i) => i.box[0] === this.cursor.x && i.box[1] === this.cursor.y);
      if (same >= 0) this.remove(same);
      else this.add(this.cursor.x, this.cursor.y);
    } else if (e.key === 'Delete' || e.key === 'Backspace') {
      if (this.current.instances.length > 1)
        this.commit(this.current.instances.slice(0, -1), this.current.style, 'removed the last square');
      else this.error.textContent = 'a prompt needs at least one square';
    } else return;
    e.preventDefault();
  }

  private draw(): void {
    const ctx = paintImage(this.canvas, renderPrompt(WORLD, this.current), SCALE);
    if (document.activeElement !== this.canvas) return;
    ctx.strokeStyle = 'rgba(255,255,255,0.9)';
    ctx.setLineDash([4, 3]);
    ctx.strokeRect(
      this.cursor.x * SCALE + 0.5,
      this.cursor.y * SCALE + 0.5,
      WORLD.square * SCALE - 1,
      WORLD.square * SCALE - 1,
    );
    ctx.setLineDash([]);
  }
}
