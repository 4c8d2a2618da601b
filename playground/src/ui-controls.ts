/**
 * The sampler controls, built from CONTROLS: a labelled input per setting, with its value shown;
 * a control of one world only is hidden in the other.
 */
import { CONTROLS, type Control, type Settings } from './settings.ts';
import { ZOO_MAX_SAMPLES } from './zoo-settings.ts';

export type OnChange = (patch: Partial<Settings>) => void;

/** Appends one labelled control per descriptor to `root`; returns a function that shows settings. */
export function buildControls(root: HTMLElement, onChange: OnChange): (s: Settings) => void {
  const setters = CONTROLS.map((c) => addControl(root, c, onChange));
  return (s) => {
    setters.forEach((set) => set(s));
    CONTROLS.forEach((c, i) => {
      (root.children[i] as HTMLElement).hidden = c.worlds !== undefined && !c.worlds.includes(s.world);
    });
  };
}

function addControl(root: HTMLElement, c: Control, onChange: OnChange): (s: Settings) => void {
  const id = `control-${c.key}`;
  const row = el('div', { class: 'control' });
  const label = el('label', { for: id }, c.label);
  const help = el('small', { id: `${id}-help` }, c.help);
  row.append(label);
  if (c.kind === 'select') {
    const select = el('select', { id, 'aria-describedby': help.id }) as HTMLSelectElement;
    for (const [value, text] of c.options) select.append(el('option', { value }, text));
    select.addEventListener('change', () => onChange({ [c.key]: select.value } as Partial<Settings>));
    row.append(select, help);
    root.append(row);
    return (s) => {
      // the mini-zoo runs generate jobs, which take the built-in rules only
      for (const o of select.options) o.disabled = c.key === 'rule' && o.value === 'custom' && s.world === 'zoo';
      select.value = String(s[c.key]);
    };
  }
  const input = el('input', {
    id,
    type: c.kind,
    min: String(c.min),
    max: String(c.max),
    step: c.kind === 'range' ? String(c.step) : '1',
    'aria-describedby': help.id,
  }) as HTMLInputElement;
  // a range shows its value beside it; a number field shows its own
  const output = el('output', { for: id, id: `${id}-value`, class: c.kind === 'number' ? 'visually-hidden' : '' });
  const read = () => {
    output.textContent = input.value;
    // a number field passes its text on, so that parseSettings can refuse it with a message
    onChange({ [c.key]: c.kind === 'number' ? input.value : Number(input.value) } as unknown as Partial<Settings>);
  };
  input.addEventListener(c.kind === 'range' ? 'input' : 'change', read);
  row.append(input, output, help);
  root.append(row);
  return (s) => {
    const v = s[c.key] as number;
    if (c.key === 's') input.max = String(s.T); // s counts steps of T
    if (c.key === 'samples') input.max = String(s.world === 'zoo' ? ZOO_MAX_SAMPLES : c.max);
    input.value = String(v);
    output.textContent = String(v);
  };
}

/** document.createElement with attributes and text. */
export function el(tag: string, attrs: Record<string, string> = {}, text?: string): HTMLElement {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}
