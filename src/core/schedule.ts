/**
 * Noise schedules and DDIM timestep spacings, exactly as diffusers' `DDIMScheduler`
 * (`scheduling_ddim.py`, v0.27.0: `__init__` lines 204-232, `set_timesteps` 297-340), but in
 * float64 throughout. diffusers builds the betas in float32 (torch.linspace) and multiplies them
 * in float32 (torch.cumprod); the two differ by ~1e-6 relative (sources M§1.5). We keep the
 * float64 column as the reference; a float32 model run does not notice the difference.
 *
 * Forward process (paper eq. 1-2): x_t = √ᾱ_t x₀ + √(1−ᾱ_t) ε, ᾱ_t = Π_{s≤t} (1 − β_s).
 */
import { checkInt, checkNumber, checkOneOf } from './validate.ts';

export const BETA_SCHEDULES = ['linear', 'scaled_linear', 'squaredcos_cap_v2'] as const;
export type BetaSchedule = (typeof BETA_SCHEDULES)[number];
export const TIMESTEP_SPACINGS = ['leading', 'trailing', 'linspace'] as const;
export type TimestepSpacing = (typeof TIMESTEP_SPACINGS)[number];

/** The fields of a diffusers `scheduler_config.json` that DDIM sampling depends on. */
export interface ScheduleConfig {
  /** `beta_schedule`: how β_t grows. SD 1.x: `scaled_linear`. */
  betaSchedule: BetaSchedule;
  /** `beta_start`: β at t = 0 (ignored by `squaredcos_cap_v2`). SD 1.x: 0.00085. */
  betaStart: number;
  /** `beta_end`: β at t = T − 1 (ignored by `squaredcos_cap_v2`). SD 1.x: 0.012. */
  betaEnd: number;
  /** `num_train_timesteps`: T, the length of the training grid. SD 1.x: 1000. */
  numTrainTimesteps: number;
  /** `set_alpha_to_one`: ᾱ used after the last step — 1 when true, ᾱ₀ when false (SD 1.x: false). */
  setAlphaToOne: boolean;
  /** `steps_offset`: added to every `leading` timestep. SD 1.x: 1. */
  stepsOffset: number;
  /** `timestep_spacing`: how `steps` timesteps are picked from the training grid. SD 1.x: `leading`. */
  timestepSpacing: TimestepSpacing;
}

export const SD15_SCHEDULE: Readonly<ScheduleConfig> = Object.freeze({
  betaSchedule: 'scaled_linear',
  betaStart: 0.00085,
  betaEnd: 0.012,
  numTrainTimesteps: 1000,
  setAlphaToOne: false,
  stepsOffset: 1,
  timestepSpacing: 'leading',
});

export interface NoiseSchedule {
  readonly config: Readonly<ScheduleConfig>;
  readonly betas: Float64Array;
  /** αₜ = 1 − βₜ (one step of the training grid). */
  readonly alphas: Float64Array;
  /** ᾱₜ = Π αₛ. */
  readonly alphasCumprod: Float64Array;
  /** ᾱ used when the previous timestep is < 0: 1 or ᾱ₀ per `setAlphaToOne`. */
  readonly finalAlphaCumprod: number;
}

/** Build a schedule (defaults: SD 1.x). Validates every field. */
export function makeSchedule(config: Partial<ScheduleConfig> = {}): NoiseSchedule {
  const c: ScheduleConfig = { ...SD15_SCHEDULE, ...config };
  checkOneOf('betaSchedule', c.betaSchedule, BETA_SCHEDULES);
  checkOneOf('timestepSpacing', c.timestepSpacing, TIMESTEP_SPACINGS);
  const T = checkInt('numTrainTimesteps', c.numTrainTimesteps, 2, 100_000);
  checkInt('stepsOffset', c.stepsOffset, 0, T - 1);
  if (typeof c.setAlphaToOne !== 'boolean')
    throw new TypeError(`setAlphaToOne must be a boolean, got ${String(c.setAlphaToOne)}`);
  const betas = new Float64Array(T);
  if (c.betaSchedule === 'squaredcos_cap_v2') {
    // betas_for_alpha_bar(T, "cosine"), max_beta 0.999 (Nichol & Dhariwal 2021, eq. 17).
    const ab = (u: number) => Math.cos((((u + 0.008) / 1.008) * Math.PI) / 2) ** 2;
    for (let i = 0; i < T; i++) betas[i] = Math.min(1 - ab((i + 1) / T) / ab(i / T), 0.999);
  } else {
    checkNumber('betaStart', c.betaStart, 0, 1, { minExclusive: true });
    checkNumber('betaEnd', c.betaEnd, 0, 1, { minExclusive: true });
    if (c.betaSchedule === 'linear') {
      linspaceInto(betas, c.betaStart, c.betaEnd);
    } else {
      // scaled_linear: linspace(√β_start, √β_end, T)²
      linspaceInto(betas, Math.sqrt(c.betaStart), Math.sqrt(c.betaEnd));
      for (let i = 0; i < T; i++) betas[i] = betas[i] * betas[i];
    }
  }
  const alphas = new Float64Array(T);
  const alphasCumprod = new Float64Array(T);
  let prod = 1;
  for (let i = 0; i < T; i++) {
    alphas[i] = 1 - betas[i];
    prod *= alphas[i];
    alphasCumprod[i] = prod;
  }
  return Object.freeze({
    config: Object.freeze(c),
    betas,
    alphas,
    alphasCumprod,
    finalAlphaCumprod: c.setAlphaToOne ? 1 : alphasCumprod[0],
  });
}

/** ᾱ at a training timestep; t < 0 means "after the last step" (`finalAlphaCumprod`). */
export function alphaBar(schedule: NoiseSchedule, t: number): number {
  const T = schedule.alphasCumprod.length;
  if (!Number.isInteger(t) || t >= T) {
    throw new RangeError(`timestep must be an integer in [-${T}, ${T - 1}] (negative = final), got ${t}`);
  }
  return t < 0 ? schedule.finalAlphaCumprod : schedule.alphasCumprod[t];
}

export interface TimestepOptions {
  spacing?: TimestepSpacing;
  /** `steps_offset` for `leading` spacing (diffusers ignores it for the others). */
  offset?: number;
}

/**
 * diffusers `DDIMScheduler.set_timesteps(steps)`: the `steps` training timesteps visited, in
 * sampling order (descending). numpy's `round` is half-to-even; so is ours.
 */
export function timesteps(schedule: NoiseSchedule, steps: number, opts: TimestepOptions = {}): number[] {
  const T = schedule.alphasCumprod.length;
  checkInt('steps', steps, 1, T);
  const spacing = checkOneOf('spacing', opts.spacing ?? schedule.config.timestepSpacing, TIMESTEP_SPACINGS);
  const offset = checkInt('offset', opts.offset ?? schedule.config.stepsOffset, 0, T - 1);
  const out: number[] = [];
  if (spacing === 'linspace') {
    // np.linspace(0, T-1, steps).round()[::-1]
    const step = steps > 1 ? (T - 1) / (steps - 1) : 0;
    for (let i = 0; i < steps; i++) out.push(i === steps - 1 && steps > 1 ? T - 1 : roundHalfEven(i * step));
    out.reverse();
  } else if (spacing === 'leading') {
    // (np.arange(0, steps) * (T // steps)).round()[::-1] + steps_offset
    const ratio = Math.floor(T / steps);
    for (let i = steps - 1; i >= 0; i--) out.push(i * ratio + offset);
  } else {
    // np.round(np.arange(T, 0, -T / steps)) - 1
    const ratio = T / steps;
    for (let i = 0; i < steps; i++) out.push(roundHalfEven(T - i * ratio) - 1);
  }
  if (out[0] > T - 1) {
    // only 'leading' can overshoot: its largest timestep is (steps − 1)·⌊T/steps⌋ + offset
    let most = steps - 1;
    while (most > 1 && (most - 1) * Math.floor(T / most) + offset > T - 1) most--;
    throw new RangeError(
      `steps must be ≤ ${most} with '${spacing}' spacing and steps_offset ${offset} (the schedule's scheduler config; ` +
        `${steps} steps would reach timestep ${out[0]} > ${T - 1}), got ${steps}`,
    );
  }
  return out;
}

/**
 * The previous timestep DDIM steps to from `t`: diffusers uses `t − T // steps` for every
 * spacing (`scheduling_ddim.py:402`), which for `leading` is the next listed timestep and for
 * `trailing`/`linspace` can differ from it. `mode: 'next'` uses the next listed timestep (and
 * −1, i.e. the final ᾱ, after the last).
 */
export function prevTimestep(
  schedule: NoiseSchedule,
  list: readonly number[],
  index: number,
  mode: 'diffusers' | 'next' = 'diffusers',
): number {
  checkInt('index', index, 0, list.length - 1);
  if (mode === 'next') return index + 1 < list.length ? list[index + 1] : -1;
  return list[index] - Math.floor(schedule.alphasCumprod.length / list.length);
}

function linspaceInto(out: Float64Array, a: number, b: number): void {
  const n = out.length;
  const step = (b - a) / (n - 1);
  for (let i = 0; i < n; i++) out[i] = a + i * step;
  out[n - 1] = b;
}

/** numpy's round(): nearest integer, ties to even. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}
