/**
 * The playground's settings: one descriptor per control. The page builds its controls from
 * `CONTROLS`, the URL hash and the worker parse settings with `parseSettings`, and `run.ts`
 * (Shapes) and `zoo-run.ts` (mini-zoo) map them to the library's calls. A new sampler option is
 * one descriptor here and one line in each runner; a new model source for the Shapes world is
 * one entry in `MODEL_SOURCES` (and its factory in run.ts).
 *
 * Two worlds share the sampler controls: 'shapes' (closed-form experts, `compareOnShapes`) and
 * 'zoo' (the learned mini-zoo through onnxruntime-web, `runJob`), each with its own prompt and
 * models and its own sampler defaults (`defaultsFor`).
 */
import { RULE_NAMES, type RuleName } from '../../src/core/rules.ts';
import type { DeviationMode } from '../../src/core/deviation.ts';
import { checkInt, checkNumber, checkOneOf, describe } from '../../src/core/validate.ts';
import { EXPERTS, type ExpertName } from '../../src/toy/shapes/experts.ts';
import { makePromptSet, parsePromptLabel, promptLabel, type ShapesPrompt } from '../../src/toy/shapes/prompts.ts';
import { makeWorld, type ShapesWorld } from '../../src/toy/shapes/world.ts';
import { MAP_BEST_SETTING, SEARCH_BEST_SETTING, mergeSettingName } from '../../src/toy/shapes/merge-setting.ts';
import { ZOO_SEARCH_BEST_SETTING, zooSettingLabel } from '../../src/experiments/zoo/search-settings.ts';
import { ZOO_MAX_SAMPLES, ZOO_MODEL_NAMES, ZOO_SAMPLER_DEFAULTS, zooPrompt, type ZooModel } from './zoo-settings.ts';

export const WORLD: ShapesWorld = makeWorld();

/** The demo's prompts (`amdm demo`: seed 0, levels 1–3, with a style), offered as presets. */
export const PRESET_PROMPTS: readonly ShapesPrompt[] = makePromptSet(WORLD, {
  seed: 0,
  count: 6,
  levels: [1, 2, 3],
  withStyle: true,
});

export const EXPERT_NAMES = Object.keys(EXPERTS) as ExpertName[];

/** Where the experts' ε come from. The learned mini-zoo models will be a second entry. */
export const MODEL_SOURCES = { exact: 'exact Gaussian-mixture experts (closed form)' } as const;
export type ModelSource = keyof typeof MODEL_SOURCES;

/** The worlds the page runs. */
export const WORLDS = Object.freeze({
  shapes: 'Shapes: closed-form experts',
  zoo: 'mini-zoo: learned ONNX models (onnxruntime-web)',
} as const);
export type World = keyof typeof WORLDS;
export const WORLD_NAMES = Object.keys(WORLDS) as World[];

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
  world: World;
  /** Shapes: the prompt in promptLabel's text form, e.g. "red@(2,3) blue@(9,9) | stripes". */
  prompt: string;
  target: ExpertName;
  /** The other experts, folded in this order (never the target). */
  others: ExpertName[];
  models: ModelSource;
  /** mini-zoo: the MiniMIG prompt's id, e.g. "L3-002". */
  zooPrompt: string;
  zooTarget: ZooModel;
  /** The other zoo models, folded in this order (never the target). */
  zooOthers: ZooModel[];
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
  /** Shapes, beyond the paper: a named setting of the merge search instead of the sliders. */
  merge: 'sliders' | 'search-best' | 'map-best';
  /** mini-zoo, beyond the paper: the zoo search's best setting (InteractDiffusion-mini ← MIGC-mini) instead of the sliders. */
  zooMerge: 'sliders' | 'search-best';
  /** Shapes, beyond the paper: the other experts are merged on steps [windowStart, s). */
  windowStart: number;
  /** Shapes, beyond the paper: merge the other experts only inside the prompt's boxes (style: outside), feathered. */
  spatial: 'none' | 'boxes-f0' | 'boxes-f1' | 'boxes-f2';
}

interface Base<K extends keyof Settings> {
  key: K;
  label: string;
  /** One line under the control: what it means in the paper. */
  help: string;
  /** The worlds that show the control (default: every world). */
  worlds?: readonly World[];
}
export interface RangeControl extends Base<'w' | 'eta' | 's' | 'T' | 'samples' | 'windowStart'> {
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
export interface SelectControl extends Base<
  'deviation' | 'etaScale' | 'rule' | 'models' | 'merge' | 'zooMerge' | 'spatial'
> {
  kind: 'select';
  options: readonly (readonly [value: string, text: string])[];
  default: string;
}
export type Control = RangeControl | NumberControl | SelectControl;

/** The sampler controls, in page order. */
export const CONTROLS: readonly Control[] = [
  {
    key: 'w',
    kind: 'range',
    label: 'w',
    min: 0,
    max: 1,
    step: 0.05,
    default: 0.5,
    help: 'weight of each other expert in the merge (eq. 8); 0 keeps the target',
  },
  {
    key: 'deviation',
    kind: 'select',
    label: 'deviation step',
    options: [
      ['eq9', 'eq. 9 (a step of length η)'],
      ['relative', 'relative (a fraction λ = η of the way)'],
    ],
    default: 'eq9',
    help: 'eq. 9 as in the paper, or the relative step x′ + λ(μₖ − x′), which never passes μₖ',
  },
  {
    key: 'eta',
    kind: 'range',
    label: 'η',
    min: 0,
    max: 1,
    step: 0.05,
    default: 0,
    help: 'deviation step toward each model’s own mean (eq. 9); the paper uses 0.3',
  },
  {
    key: 'etaScale',
    kind: 'select',
    label: 'η scale',
    options: [
      ['sqrtDim', '× √d (η·√d)'],
      ['absolute', 'absolute length'],
    ],
    default: 'sqrtDim',
    help: 'eq. 9 only: how η becomes a length, × √d (d: the latent’s size, 768 in Shapes, 256 in the mini-zoo) or as is',
  },
  {
    key: 's',
    kind: 'range',
    label: 's',
    min: 0,
    max: 100,
    step: 1,
    default: 20,
    help: 'steps with aggregation (the first s of T)',
  },
  { key: 'T', kind: 'range', label: 'T', min: 1, max: 100, step: 1, default: 50, help: 'DDIM steps' },
  {
    key: 'rule',
    kind: 'select',
    label: 'rule',
    options: [...RULE_NAMES.map((r) => [r, r] as const), ['custom', 'custom (write a rule below)']],
    default: 'slerp',
    help: 'how the proposals are merged',
  },
  {
    key: 'seed',
    kind: 'number',
    label: 'seed',
    min: 0,
    max: 2 ** 31 - 1,
    default: 0,
    help: 'initial noise (same seed: same start for every method)',
  },
  {
    key: 'samples',
    kind: 'range',
    label: 'samples',
    min: 1,
    max: 16,
    step: 1,
    default: 4,
    help: `images per method; rates are over these (at most ${ZOO_MAX_SAMPLES} in the mini-zoo)`,
  },
  {
    key: 'windowStart',
    kind: 'range',
    label: 'window start',
    min: 0,
    max: 100,
    step: 1,
    default: 0,
    help: 'beyond the paper: merge only on steps [start, s); a late start joins the target’s sample',
    worlds: ['shapes'],
  },
  {
    key: 'spatial',
    kind: 'select',
    label: 'where',
    options: [
      ['none', 'everywhere (the paper)'],
      ['boxes-f0', 'inside the boxes (style outside), hard edge'],
      ['boxes-f1', 'inside the boxes, 1 px feather'],
      ['boxes-f2', 'inside the boxes, 2 px feather'],
    ],
    default: 'none',
    help: 'beyond the paper: a spatial weight map per other expert (slerp, lerp or vp)',
    worlds: ['shapes'],
  },
  {
    key: 'merge',
    kind: 'select',
    label: 'named setting',
    options: [
      ['sliders', 'the controls above'],
      ['search-best', `search best: ${mergeSettingName(SEARCH_BEST_SETTING)}`],
      ['map-best', `map best: ${mergeSettingName(MAP_BEST_SETTING)}`],
    ],
    default: 'sliders',
    help: 'a setting found by the merge search or the map (EXPERIMENTS.md), windows scaled to T; replaces w, η, s and the rule',
    worlds: ['shapes'],
  },
  {
    key: 'zooMerge',
    kind: 'select',
    label: 'named setting',
    options: [
      ['sliders', 'the controls above'],
      ['search-best', `search best: ${zooSettingLabel(ZOO_SEARCH_BEST_SETTING)}`],
    ],
    default: 'sliders',
    help: 'InteractDiffusion-mini ← MIGC-mini: the best setting of `amdm zoo search` (EXPERIMENTS.md, experiment 14), window scaled to T, map from the prompt’s boxes; replaces w, η, s and the rule',
    worlds: ['zoo'],
  },
  {
    key: 'models',
    kind: 'select',
    label: 'models',
    options: Object.entries(MODEL_SOURCES),
    default: 'exact',
    help: 'where the experts’ ε come from',
    worlds: ['shapes'],
  },
];

/** The sampler controls' keys. */
export type ControlKey = Control['key'];

/**
 * The settings the page opens with: the Shapes world, the demo's AMDM row (layout ← attribute,
 * η = 0). In the mini-zoo the defaults are InteractDiffusion-mini ← MIGC-mini + IP-Adapter-mini,
 * as the paper's three-model row, on a level-3 prompt with both interactions.
 */
export const DEFAULT_SETTINGS: Readonly<Settings> = Object.freeze({
  world: 'shapes' as World, // first: a link names its world before the rest
  ...(Object.fromEntries(CONTROLS.map((c) => [c.key, c.default])) as Pick<Settings, ControlKey>),
  prompt: promptLabel(PRESET_PROMPTS[1]),
  target: 'layout' as ExpertName,
  others: ['attribute'] as ExpertName[],
  zooPrompt: 'L3-002',
  zooTarget: 'interactdiffusion-mini' as ZooModel,
  zooOthers: ['migc-mini', 'ipadapter-mini'] as ZooModel[],
  ruleBody: DEFAULT_RULE_BODY,
});

const ZOO_DEFAULTS: Readonly<Settings> = Object.freeze({
  ...DEFAULT_SETTINGS,
  ...ZOO_SAMPLER_DEFAULTS,
  world: 'zoo' as World,
});

/** The defaults of a world: the sampler controls differ, the rest is shared. */
export function defaultsFor(world: World): Readonly<Settings> {
  return world === 'zoo' ? ZOO_DEFAULTS : DEFAULT_SETTINGS;
}

/** The sampler controls' defaults of a world (what the page takes when the world is switched). */
export function samplerDefaults(world: World): Pick<Settings, ControlKey> {
  const d = defaultsFor(world);
  return Object.fromEntries(CONTROLS.map((c) => [c.key, d[c.key]])) as Pick<Settings, ControlKey>;
}

/**
 * Validates raw settings (numbers or the strings of a URL hash) and returns them typed.
 * Missing keys take their defaults. Errors name the setting and what is allowed.
 */
export function parseSettings(raw: Readonly<Record<string, unknown>>): Settings {
  if (raw === null || typeof raw !== 'object') throw new TypeError(`settings must be an object, got ${describe(raw)}`);
  const world = raw.world === undefined ? 'shapes' : checkOneOf('world', raw.world, WORLD_NAMES);
  const out: Record<string, unknown> = { ...defaultsFor(world) };
  for (const c of CONTROLS) {
    const v = raw[c.key];
    if (v === undefined) continue;
    if (c.kind === 'select') {
      out[c.key] = checkOneOf(
        c.key,
        v,
        c.options.map((o) => o[0]),
      );
    } else {
      const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
      out[c.key] =
        c.kind === 'number' || c.step === 1 ? checkInt(c.key, n, c.min, c.max) : checkNumber(c.key, n, c.min, c.max);
    }
  }
  const s = out as unknown as Settings;
  if (s.s > s.T) throw new RangeError(`s must be at most T (${s.T}), got ${s.s}`);
  if (s.windowStart > s.s) throw new RangeError(`windowStart must be at most s (${s.s}), got ${s.windowStart}`);
  if (world === 'zoo' && s.samples > ZOO_MAX_SAMPLES)
    throw new RangeError(
      `samples must be at most ${ZOO_MAX_SAMPLES} in the mini-zoo world (each is a full ONNX run), got ${s.samples}`,
    );
  if (raw.prompt !== undefined) {
    if (typeof raw.prompt !== 'string')
      throw new TypeError(`prompt must be a string like "red@(2,3) | stripes", got ${describe(raw.prompt)}`);
    s.prompt = promptLabel(parsePromptLabel(WORLD, raw.prompt));
  }
  if (raw.target !== undefined) s.target = checkOneOf('target', raw.target, EXPERT_NAMES);
  if (raw.others !== undefined) s.others = parseOthers('others', raw.others, s.target, EXPERT_NAMES);
  else s.others = s.others.filter((e) => e !== s.target);
  if (raw.zooPrompt !== undefined) s.zooPrompt = zooPrompt(raw.zooPrompt).id;
  if (raw.zooTarget !== undefined) s.zooTarget = checkOneOf('zooTarget', raw.zooTarget, ZOO_MODEL_NAMES);
  if (raw.zooOthers !== undefined) s.zooOthers = parseOthers('zooOthers', raw.zooOthers, s.zooTarget, ZOO_MODEL_NAMES);
  else s.zooOthers = s.zooOthers.filter((e) => e !== s.zooTarget);
  if (raw.ruleBody !== undefined) {
    if (typeof raw.ruleBody !== 'string')
      throw new TypeError(`ruleBody must be a string (a function body), got ${describe(raw.ruleBody)}`);
    s.ruleBody = raw.ruleBody;
  }
  return s;
}

/** The other models of `key` (an array or the hash's comma list): known names, not the target, none twice. */
function parseOthers<T extends string>(key: string, v: unknown, target: T, names: readonly T[]): T[] {
  const list = typeof v === 'string' ? (v === '' ? [] : v.split(',')) : v;
  if (!Array.isArray(list)) throw new TypeError(`${key} must be an array of model names, got ${describe(v)}`);
  const seen = new Set<string>();
  return list.map((e, i) => {
    const name = checkOneOf(`${key}[${i}]`, e, names);
    if (name === target) throw new RangeError(`${key} must not include the target ('${target}')`);
    if (seen.has(name)) throw new RangeError(`${key} must not repeat '${name}'`);
    seen.add(name);
    return name;
  });
}

/** Settings → URL hash (only what differs from the world's defaults), so a view can be shared as a link. */
export function settingsToHash(s: Settings): string {
  const q = new URLSearchParams();
  const d = { ...defaultsFor(s.world), world: DEFAULT_SETTINGS.world } as Settings;
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
