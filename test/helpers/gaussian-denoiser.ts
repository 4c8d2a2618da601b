import type { Denoiser } from '../../src/core/types.ts';
import type { NoiseSchedule } from '../../src/core/schedule.ts';
import { alphaBar } from '../../src/core/schedule.ts';

/**
 * The exact ε-model of a single Gaussian N(m, σ²I): under x_t = √ᾱ x₀ + √(1−ᾱ) ε,
 * ε*(x, t) = √(1−ᾱ)·(x − √ᾱ m)/(ᾱσ² + 1 − ᾱ). Used by core tests that need a real model.
 */
export function gaussianDenoiser(
  schedule: NoiseSchedule,
  mean: Float32Array,
  sigma: number,
  name = 'gaussian',
): Denoiser & { calls: number } {
  const d = mean.length;
  const self = {
    name,
    calls: 0,
    eps(x: Float32Array, t: number, batch: number): Float32Array {
      self.calls++;
      const a = alphaBar(schedule, t);
      const k = Math.sqrt(1 - a) / (a * sigma * sigma + 1 - a);
      const out = new Float32Array(x.length);
      for (let b = 0; b < batch; b++)
        for (let i = 0; i < d; i++) out[b * d + i] = k * (x[b * d + i] - Math.sqrt(a) * mean[i]);
      return out;
    },
  };
  return self;
}
