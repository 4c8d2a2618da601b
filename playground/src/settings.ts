/**
 * The playground's settings: one descriptor per control. The page builds its controls from
 * `CONTROLS`, the URL hash and the worker parse settings with `parseSettings`, and `run.ts`
 * maps them to `compareOnShapes` options. A new sampler option is one descriptor here and one
 * line in run.ts; a new model source is one entry in `MODEL_SOURCES` (and its factory in run.ts).
 */
import { RULE_NAMES, type RuleName } from '../../src/core/rules.ts';
import type { DeviationMode } from '../../src/core/deviation.ts';
import { checkInt, checkNumber, checkOneOf, describe } from '../../src/core/validate.ts';
import { EXPERTS, type ExpertName } from '../../src/toy/shapes/experts.ts';
import { makePromptSet, parsePromptLabel, promptLabel, type ShapesPrompt } from '../../src/toy/shapes/prompts.ts';
import { makeWorld, type ShapesWorld } from '../../src/toy/shapes/world.ts';

export const WORLD: ShapesWorld = makeWorld();

/** The demo's prompts (`amdm demo`: seed 0, levels 1–3, with a style), offered as presets. */
export const PRESET_PROMPTS: readonly ShapesPrompt[] = makePromptSet(WORLD, { seed: 0, count: 6, levels: [1, 2, 3], withStyle: true });

export const EXPERT_NAMES = Object.keys(EXPERTS) as ExpertName[];

/** Where the experts' ε come from. The learned mini-zoo models will be a second entry. */
export const MODEL_SOURCES = { exact: 'exact Gaussian-mixture experts (closed form)' } as const;
export type ModelSource = keyof typeof MODEL_SOURCES;

export type RuleChoice = RuleName | 'custom';

/** Slerp written out as a rule body: what the "write a rule" box starts with. */
export const DEFAULT_RULE_BODY = `// a, b: one sample of the target's and the other model's proposal; w: weight of b
// write out[i] for every i; dot(u, v) and norm(u) are available
const theta = Math.acos(Math.max(-1, Math.min(1, dot(a, b) / (norm(a) * norm(b)))));
const s = Math.sin(theta);
const ca = theta < 1e-4 ? 1 - w : Math.sin((1 - w) * theta) / s;
const cb = theta < 1e-4 ? w : Math.sin(w * theta) / s;
for (let i = 0; i < a.length; i++) out[i] = ca * a[i] + cb * b[i];`;

export interface Settings {
  /** The prompt in promptLabel's text form, e.g. "red@(2,3) blue@(9,9) | stripes". */
  prompt: string;
  target: ExpertName;
  /** The other experts, folded in this order (never the target). */
  others: ExpertName[];
  models: ModelSource;
  w: number;
  /** eq9: a step of length η (eq. 9); relative: x′ + λ(μₖ − x′) with λ = η (never passes μₖ). */
  deviation: DeviationMode;
  eta: number;
  /** eq9 only. */
  etaScale: 'sqrtDim' | 'absolute';
  s: number;
  T: number;
  rule: RuleChoice;
  /** Body of the custom rule (used when rule is 'custom'). */
  ruleBody: string;
  seed: number;
  /** Samples per method (the batch B). */
  samples: number;
}

interface Base<K extends keyof Settings> {
  key: K;
  label: string;
  /** One line under the control: what it means in the paper. */
  help: string;
}
export interface RangeControl extends Base<'w' | 'eta' | 's' | 'T' | 'samples'> {
  kind: 'range';
  min: number;
  max: number;
  step: number;
  default: number;
}
export interface NumberControl extends Base<'seed'> {
  kind: 'number';
  min: number;
  max: number;
  default: number;
}
export interface SelectControl extends Base<'deviation' | 'etaScale' | 'rule' | 'models'> {
  kind: 'select';
  options: readonly (readonly [value: string, text: string])[];
  default: string;
}
export type Control = RangeControl | NumberControl | SelectControl;

/** The sampler controls, in page order. */
export const CONTROLS: readonly Control[] = [
  { key: 'w', kind: 'range', label: 'w', min: 0, max: 1, step: 0.05, default: 0.5, help: 'weight of each other expert in the merge (eq. 8); 0 keeps the target' },
  { key: 'deviation', kind: 'select', label: 'deviation step', options: [['eq9', 'eq. 9 (a step of length η)'], ['relative', 'relative (a fraction λ = η of the way)']], default: 'eq9', help: 'eq. 9 as in the paper, or the relative step x′ + λ(μₖ − x′), which never passes μₖ' },
  { key: 'eta', kind: 'range', label: 'η', min: 0, max: 1, step: 0.05, default: 0, help: 'deviation step toward each model’s own mean (eq. 9); the paper uses 0.3' },
  { key: 'etaScale', kind: 'select', label: 'η scale', options: [['sqrtDim', '× √d (η·√d)'], ['absolute', 'absolute length']], default: 'sqrtDim', help: 'eq. 9 only: how η becomes a length, × √d (d = 768) or as is' },
  { key: 's', kind: 'range', label: 's', min: 0, max: 100, step: 1, default: 20, help: 'steps with aggregation (the first s of T)' },
  { key: 'T', kind: 'range', label: 'T', min: 1, max: 100, step: 1, default: 50, help: 'DDIM steps' },
  { key: 'rule', kind: 'select', label: 'rule', options: [...RULE_NAMES.map((r) => [r, r] as const), ['custom', 'custom (write a rule below)']], default: 'slerp', help: 'how the proposals are merged' },
  { key: 'seed', kind: 'number', label: 'seed', min: 0, max: 2 ** 31 - 1, default: 0, help: 'initial noise (same seed: same start for every method)' },
  { key: 'samples', kind: 'range', label: 'samples', min: 1, max: 16, step: 1, default: 4, help: 'images per method; rates are over these' },
  { key: 'models', kind: 'select', label: 'models', options: Object.entries(MODEL_SOURCES), default: 'exact', help: 'where the experts’ ε come from' },
];

/** The settings the page opens with: the demo's AMDM row (layout ← attribute, η = 0). */
export const DEFAULT_SETTINGS: Readonly<Settings> = Object.freeze({
  ...(Object.fromEntries(CONTROLS.map((c) => [c.key, c.default])) as Pick<Settings, Control['key']>),
  prompt: promptLabel(PRESET_PROMPTS[1]),
  target: 'layout' as ExpertName,
  others: ['attribute'] as ExpertName[],
  ruleBody: DEFAULT_RULE_BODY,
});

/**
 * Validates raw settings (numbers or the strings of a URL hash) and returns them typed.
 * Missing keys take their defaults. Errors name the setting and what is allowed.
 */
export function parseSettings(raw: Readonly<Record<string, unknown>>): Settings {
  if (raw === null || typeof raw !== 'object') throw new TypeError(`settings must be an object, got ${describe(raw)}`);
  const out: Record<string, unknown> = { ...DEFAULT_SETTINGS };
  for (const c of CONTROLS) {
    const v = raw[c.key];
    if (v === undefined) continue;
    if (c.kind === 'select') {
      out[c.key] = checkOneOf(c.key, v, c.options.map((o) => o[0]));
    } else {
      const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
      out[c.key] = c.kind === 'number' || c.step === 1 ? checkInt(c.key, n, c.min, c.max) : checkNumber(c.key, n, c.min, c.max);
    }
  }
  const s = out as unknown as Settings;
  if (s.s > s.T) throw new RangeError(`s must be at most T (${s.T}), got ${s.s}`);
  if (raw.prompt !== undefined) {
    if (typeof raw.prompt !== 'string') throw new TypeError(`prompt must be a string like "red@(2,3) | stripes", got ${describe(raw.prompt)}`);
    s.prompt = promptLabel(parsePromptLabel(WORLD, raw.prompt));
  }
  if (raw.target !== undefined) s.target = checkOneOf('target', raw.target, EXPERT_NAMES);
  if (raw.others !== undefined) s.others = parseOthers(raw.others, s.target);
  else s.others = s.others.filter((e) => e !== s.target);
  if (raw.ruleBody !== undefined) {
    if (typeof raw.ruleBody !== 'string') throw new TypeError(`ruleBody must be a string (a function body), got ${describe(raw.ruleBody)}`);
    s.ruleBody = raw.ruleBody;
  }
  return s;
}

function parseOthers(v: unknown, target: ExpertName): ExpertName[] {
  const list = typeof v === 'string' ? (v === '' ? [] : v.split(',')) : v;
  if (!Array.isArray(list)) throw new TypeError(`others must be an array of expert names, got ${describe(v)}`);
  const seen = new Set<string>();
  return list.map((e, i) => {
    const name = checkOneOf(`others[${i}]`, e, EXPERT_NAMES);
    if (name === target) throw new RangeError(`others must not include the target ('${target}')`);
    if (seen.has(name)) throw new RangeError(`others must not repeat '${name}'`);
    seen.add(name);
    return name;
  });
}

/** Settings → URL hash (only what differs from the defaults), so a view can be shared as a link. */
export function settingsToHash(s: Settings): string {
  const q = new URLSearchParams();
  const d = DEFAULT_SETTINGS as Settings;
  for (const key of Object.keys(d) as (keyof Settings)[]) {
    const v = s[key];
    const same = Array.isArray(v) ? v.join(',') === (d[key] as string[]).join(',') : v === d[key];
    if (!same) q.set(key, Array.isArray(v) ? v.join(',') : String(v));
  }
  const text = q.toString();
  return text === '' ? '' : `#${text}`;
}

/** URL hash → settings (the inverse of settingsToHash); throws like parseSettings. */
export function settingsFromHash(hash: string): Settings {
  const q = new URLSearchParams(hash.replace(/^#/, ''));
  return parseSettings(Object.fromEntries(q.entries()));
}
