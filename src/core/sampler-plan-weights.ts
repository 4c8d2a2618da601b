/**
 * The per-step w of eq. 8 and η of eq. 9 of an AMDM plan (sampler-plan.ts): each option's forms
 * (a number, one per model, a schedule, a function of the step) checked and turned into a
 * function of the step that the plan reads once per step.
 */
import type { AMDMOptions, WeightSchedule } from './sampler-types.ts';
import { AMDM_DEFAULTS } from './defaults.ts';
import { checkNumber, checkOneOf, describe } from './validate.ts';

/** What the weights depend on: the models, the target, the steps, and each model's window. */
export interface WeightContext {
  N: number;
  target: number;
  T: number;
  /** Per model [start, end): the target's is [0, T]. */
  windows: readonly (readonly [number, number])[];
}

/**
 * w per non-target model at a step: a number, an array (numbers or schedules, one per model), a
 * schedule for all, or a function of the step; each checked against [0, 1].
 */
export function makeWeights(spec: AMDMOptions['weights'], c: WeightContext): (step: number) => number[] {
  const others: number[] = [];
  for (let k = 0; k < c.N; k++) if (k !== c.target) others.push(k);
  const count = others.length;
  if (typeof spec === 'function') {
    return (step) => fixedWeights(spec(step), count, ` (step ${step} of ${c.T})`);
  }
  if (isSchedule(spec) || (Array.isArray(spec) && spec.some(isSchedule))) {
    if (Array.isArray(spec) && spec.length !== count)
      throw new RangeError(
        `weights must hold ${count} entr${count === 1 ? 'y' : 'ies'} (one per non-target model), got ${spec.length}`,
      );
    const each = others.map((k, j) => {
      const item = (Array.isArray(spec) ? spec[j] : spec) as number | WeightSchedule;
      const where = Array.isArray(spec) ? `weights[${j}]` : 'weights';
      return typeof item === 'number' ? () => checkNumber(where, item, 0, 1) : scheduleAt(item, c.windows[k], where);
    });
    return (step) => each.map((f) => f(step));
  }
  const w = fixedWeights(spec ?? AMDM_DEFAULTS.weight, count, '');
  return () => w;
}

function fixedWeights(v: unknown, count: number, where: string): number[] {
  if (typeof v === 'number') return new Array<number>(count).fill(checkNumber(`weights${where}`, v, 0, 1));
  if (!Array.isArray(v))
    throw new TypeError(
      `weights${where} must be a number or an array of ${count} numbers in [0, 1], got ${describe(v)}`,
    );
  if (v.length !== count)
    throw new RangeError(`weights${where} must hold ${count} number(s) (one per non-target model), got ${v.length}`);
  return v.map((x, j) => checkNumber(`weights${where}[${j}]`, x, 0, 1));
}

const SCHEDULE_KINDS = ['constant', 'linear', 'cosine', 'list'] as const;

function isSchedule(v: unknown): v is WeightSchedule {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A schedule's weight at step i of the window [start, end), checked once here (sampler-types.ts). */
function scheduleAt(sch: WeightSchedule, window: readonly [number, number], name: string): (step: number) => number {
  const kind = checkOneOf(`${name}.kind`, (sch as { kind?: unknown }).kind, SCHEDULE_KINDS);
  const [start, end] = window;
  const keys: Record<(typeof SCHEDULE_KINDS)[number], string[]> = {
    constant: ['kind', 'value'],
    linear: ['kind', 'from', 'to'],
    cosine: ['kind', 'from', 'to'],
    list: ['kind', 'values'],
  };
  const unknown = Object.keys(sch).find((key) => !keys[kind].includes(key));
  if (unknown !== undefined)
    throw new RangeError(`${name}: unknown field '${unknown}'; a '${kind}' schedule has ${keys[kind].join(', ')}`);
  if (sch.kind === 'list') {
    const values = sch.values;
    if (!Array.isArray(values) || values.length !== end - start)
      throw new RangeError(
        `${name}.values must hold one weight per step of the model's window [${start}, ${end}) (${end - start}), got ${describe(values)}`,
      );
    const v = values.map((x, n) => checkNumber(`${name}.values[${n}]`, x, 0, 1));
    return (i) => v[i - start];
  }
  if (sch.kind === 'constant') {
    const v = checkNumber(`${name}.value`, sch.value, 0, 1);
    return () => v;
  }
  const from = checkNumber(`${name}.from`, sch.from, 0, 1),
    to = checkNumber(`${name}.to`, sch.to, 0, 1);
  const span = Math.max(end - start - 1, 1);
  return sch.kind === 'linear'
    ? (i) => (1 - (i - start) / span) * from + ((i - start) / span) * to
    : (i) => to + (from - to) * 0.5 * (1 + Math.cos(Math.PI * ((i - start) / span)));
}

/**
 * η per (step, model), each checked against [0, ∞), or against [0, 1] when it is the relative
 * step's λ (the error then says so).
 */
export function makeEta(
  spec: AMDMOptions['eta'],
  N: number,
  T: number,
  relative: boolean,
): (step: number, model: number) => number {
  const max = relative ? 1 : Infinity;
  const what = relative ? " (λ of deviation 'relative')" : '';
  if (spec === undefined) return () => AMDM_DEFAULTS.eta;
  if (typeof spec === 'number') {
    const v = checkNumber(`eta${what}`, spec, 0, max);
    return () => v;
  }
  if (typeof spec === 'function') {
    return (step, k) => checkNumber(`eta${what} (step ${step} of ${T}, model ${k})`, spec(step, k), 0, max);
  }
  if (!Array.isArray(spec))
    throw new TypeError(`eta must be a number, an array of ${N} numbers or a function, got ${describe(spec)}`);
  if (spec.length !== N) throw new RangeError(`eta must hold ${N} number(s) (one per model), got ${spec.length}`);
  const v = spec.map((x, k) => checkNumber(`eta[${k}]${what}`, x, 0, max));
  return (_, k) => v[k];
}
