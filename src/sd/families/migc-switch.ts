/** The per-step switch between MIGC's graph and the plain SD graph (migc.ts, sources M§4.3). */
import type { Denoiser } from '../../core/types.ts';
import { checkInt } from '../../core/validate.ts';

/** Whether step i (0-based) runs the MIGC graph: `ith ≤ MIGCsteps` (sources M§4.3). */
export function migcActiveAt(step: number, migcSteps: number): boolean {
  return step <= migcSteps;
}

/**
 * A denoiser that runs `migc` at steps i ≤ migcSteps and `plain` afterwards. The step index is
 * the position of t in `timesteps` when given; otherwise it is counted: the first call and any
 * call with a larger t than the last start at step 0, each smaller t is the next step, and calls
 * with the same t stay on the same step.
 */
export function createMigcSwitchDenoiser(opts: {
  migc: Denoiser;
  plain: Denoiser;
  migcSteps: number;
  timesteps?: readonly number[];
  name?: string;
  onSwitch?: (step: number, graph: 'migc' | 'plain') => void;
}): Denoiser & { readonly step: number } {
  const { migc, plain, timesteps } = opts;
  if (!migc || typeof migc.eps !== 'function') throw new TypeError('migc must be a Denoiser');
  if (!plain || typeof plain.eps !== 'function') throw new TypeError('plain must be a Denoiser');
  const migcSteps = checkInt('migcSteps', opts.migcSteps, -1);
  if (timesteps !== undefined && (!Array.isArray(timesteps) || timesteps.some((t) => typeof t !== 'number'))) {
    throw new TypeError('timesteps must be an array of numbers');
  }
  let lastT: number | null = null;
  let step = 0;
  return {
    name: opts.name ?? 'migc',
    get step() {
      return step;
    },
    eps(x: Float32Array, t: number, batch: number) {
      if (timesteps !== undefined) {
        const i = timesteps.indexOf(t);
        if (i < 0) throw new RangeError(`t = ${t} is not one of the run's timesteps [${timesteps.join(', ')}]`);
        step = i;
      } else {
        if (lastT === null || t > lastT) step = 0;
        else if (t < lastT) step++;
        lastT = t;
      }
      const useMigc = migcActiveAt(step, migcSteps);
      opts.onSwitch?.(step, useMigc ? 'migc' : 'plain');
      return (useMigc ? migc : plain).eps(x, t, batch);
    },
  };
}
