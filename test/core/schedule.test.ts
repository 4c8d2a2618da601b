import { describe, expect, it } from 'vitest';
import { alphaBar, makeSchedule, prevTimestep, roundHalfEven, timesteps } from '../../src/core/schedule.ts';
import { ddimCoefficients } from '../../src/core/ddim.ts';

// Reference numbers: sources M§1.5 (float64 numpy transcription of
// diffusers' DDIMScheduler, v0.27.0).
const ALPHA_BAR_F64: [number, number][] = [
  [0, 0.99915],
  [1, 0.998296027838],
  [21, 0.980380748101],
  [501, 0.27499906685],
  [901, 0.0140048978939],
  [961, 0.00728172714094],
  [981, 0.0057755001395],
  [999, 0.00466009851308],
];

describe('scaled_linear schedule (SD 1.x)', () => {
  const s = makeSchedule();
  it.each(ALPHA_BAR_F64)('ᾱ[%i] matches the float64 reference to 1e-9 relative', (t, ref) => {
    // the table has 12 significant digits, so 1e-9 relative is well within its precision
    expect(Math.abs(s.alphasCumprod[t] - ref) / ref).toBeLessThan(1e-9);
  });
  it('β at both ends and α = 1 − β', () => {
    expect(s.betas[0]).toBeCloseTo(0.00085, 15);
    expect(s.betas[999]).toBeCloseTo(0.012, 15);
    expect(s.alphas[1]).toBeCloseTo(0.999145301, 9);
    expect(s.alphas[501]).toBeCloseTo(0.995173872, 9);
  });
  it('final ᾱ is ᾱ₀ when set_alpha_to_one is false, 1 when true', () => {
    expect(s.finalAlphaCumprod).toBe(s.alphasCumprod[0]);
    expect(alphaBar(s, -1)).toBe(0.99915);
    expect(makeSchedule({ setAlphaToOne: true }).finalAlphaCumprod).toBe(1);
  });
  it('ᾱ is strictly decreasing in (0, 1)', () => {
    for (let t = 1; t < 1000; t++) expect(s.alphasCumprod[t]).toBeLessThan(s.alphasCumprod[t - 1]);
    expect(s.alphasCumprod[999]).toBeGreaterThan(0);
  });
});

describe('other schedules', () => {
  it('linear: β linearly spaced, ᾱ = Π(1 − β)', () => {
    const s = makeSchedule({ betaSchedule: 'linear', betaStart: 0.0001, betaEnd: 0.02 });
    expect(s.betas[0]).toBe(0.0001);
    expect(s.betas[999]).toBe(0.02);
    expect(s.betas[500] - s.betas[499]).toBeCloseTo((0.02 - 0.0001) / 999, 15);
    let p = 1;
    for (let t = 0; t < 1000; t++) p *= 1 - s.betas[t];
    expect(s.alphasCumprod[999]).toBeCloseTo(p, 15);
  });
  it('squaredcos_cap_v2: ᾱ_t = f((t+1)/T)/f(0) with f the cosine, β capped at 0.999', () => {
    const s = makeSchedule({ betaSchedule: 'squaredcos_cap_v2' });
    const f = (u: number) => Math.cos((((u + 0.008) / 1.008) * Math.PI) / 2) ** 2;
    for (const t of [0, 10, 500, 900]) expect(s.alphasCumprod[t]).toBeCloseTo(f((t + 1) / 1000) / f(0), 12);
    expect(s.betas[999]).toBe(0.999);
  });
  it('rejects unknown names and bad numbers, naming the field', () => {
    expect(() => makeSchedule({ betaSchedule: 'cosine' as never })).toThrow(
      /betaSchedule must be one of 'linear', 'scaled_linear', 'squaredcos_cap_v2'/,
    );
    expect(() => makeSchedule({ timestepSpacing: 'even' as never })).toThrow(/timestepSpacing must be one of/);
    expect(() => makeSchedule({ betaStart: 0 })).toThrow(/betaStart must be in \(0, 1\]/);
    expect(() => makeSchedule({ numTrainTimesteps: 1.5 })).toThrow(/numTrainTimesteps must be an integer/);
  });
});

describe('timesteps (diffusers set_timesteps)', () => {
  const s = makeSchedule();
  it('leading, offset 1: the 50/20/10-step lists', () => {
    const ref50 = [
      981, 961, 941, 921, 901, 881, 861, 841, 821, 801, 781, 761, 741, 721, 701, 681, 661, 641, 621, 601, 581, 561, 541,
      521, 501, 481, 461, 441, 421, 401, 381, 361, 341, 321, 301, 281, 261, 241, 221, 201, 181, 161, 141, 121, 101, 81,
      61, 41, 21, 1,
    ];
    expect(timesteps(s, 50)).toEqual(ref50);
    expect(timesteps(s, 20)).toEqual([
      951, 901, 851, 801, 751, 701, 651, 601, 551, 501, 451, 401, 351, 301, 251, 201, 151, 101, 51, 1,
    ]);
    expect(timesteps(s, 10)).toEqual([901, 801, 701, 601, 501, 401, 301, 201, 101, 1]);
  });
  it('trailing and linspace (numpy round half to even)', () => {
    expect(timesteps(s, 10, { spacing: 'trailing' })).toEqual([999, 899, 799, 699, 599, 499, 399, 299, 199, 99]);
    // np.round(np.arange(1000, 0, -1000/3)) - 1 = [999, 666, 332]  (666.67→667, 333.33→333)
    expect(timesteps(s, 3, { spacing: 'trailing' })).toEqual([999, 666, 332]);
    expect(timesteps(s, 10, { spacing: 'linspace' })).toEqual([999, 888, 777, 666, 555, 444, 333, 222, 111, 0]);
    // np.linspace(0, 999, 4).round() = [0, 333, 666, 999]; (0, 999, 3) → [0, 500 (499.5 → even 500), 999]
    expect(timesteps(s, 3, { spacing: 'linspace' })).toEqual([999, 500, 0]);
    expect(roundHalfEven(2.5)).toBe(2);
    expect(roundHalfEven(3.5)).toBe(4);
    expect(roundHalfEven(-0.5) === 0).toBe(true);
    expect(roundHalfEven(-1.5)).toBe(-2);
  });
  it('prev timestep: diffusers t − T//N, or the next listed', () => {
    const l = timesteps(s, 10, { spacing: 'linspace' });
    expect(prevTimestep(s, l, 0)).toBe(999 - 100);
    expect(prevTimestep(s, l, 0, 'next')).toBe(888);
    expect(prevTimestep(s, l, 9, 'next')).toBe(-1);
  });
  it('bad step counts fail with the allowed range', () => {
    expect(() => timesteps(s, 0)).toThrow(/steps must be an integer in \[1, 1000\]/);
    expect(() => timesteps(s, 1001)).toThrow(/steps must be an integer in \[1, 1000\], got 1001/);
    expect(() => timesteps(s, 1000)).toThrow(
      /^steps must be ≤ 999 with 'leading' spacing and steps_offset 1 \(the schedule's scheduler config; 1000 steps would reach timestep 1000 > 999\), got 1000$/,
    );
    expect(timesteps(s, 999)[0]).toBe(999); // the bound the message gives is reachable
    expect(timesteps(s, 1000, { offset: 0 })[0]).toBe(999);
  });
});

describe('DDIM coefficients (η = 0: x_prev = A x + B ε; σ for η = 1)', () => {
  const s = makeSchedule();
  const rows: [number, number, number, number, number, number, number][] = [
    // N, t, t_prev, A, B, sigma(eta=1), ᾱ_prev
    [10, 901, 801, 1.615411122, -0.622502744, 0.776332164, 0.036546525],
    [10, 801, 701, 1.497142773, -0.511363831, 0.726481736, 0.081916714],
    [10, 101, 1, 1.057325423, -0.304612437, 0.040984187, 0.998296028],
    [10, 1, -99, 1.000427623, -0.01214209, 0.02064832, 0.99915],
    [50, 981, 961, 1.122851701, -0.123252006, 0.454463272, 0.007281727],
    [50, 961, 941, 1.118964106, -0.11945176, 0.448282443, 0.00911731],
    [50, 21, 1, 1.009095535, -0.100063542, 0.039479546, 0.998296028],
    [50, 1, -19, 1.000427623, -0.01214209, 0.02064832, 0.99915],
  ];
  it.each(rows)('N=%i t=%i → %i', (N, t, tp, A, B, sig, ap) => {
    const l = timesteps(s, N);
    const i = l.indexOf(t);
    expect(prevTimestep(s, l, i)).toBe(tp);
    const c0 = ddimCoefficients(s, t, tp, 0);
    // the table is rounded to 9 decimals
    expect(Math.abs(c0.A - A)).toBeLessThan(6e-10);
    expect(Math.abs(c0.B - B)).toBeLessThan(6e-10);
    expect(Math.abs(c0.alphaBarPrev - ap)).toBeLessThan(6e-10);
    expect(c0.sigma).toBe(0);
    expect(Math.abs(ddimCoefficients(s, t, tp, 1).sigma - sig)).toBeLessThan(6e-10);
  });
});
