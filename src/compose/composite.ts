/**
 * The composite model of a linear score combination (sources C§1):
 *   ε_comp(x, t) = Σᵢ γᵢ εᵢ(x, t),   log π̃_t(x) = Σᵢ γᵢ log qᵢᵗ(x),
 * so ∇log π̃_t = −ε_comp/σ_t. Buffers are allocated once per batch size; the model calls are
 * counted (one call = one batched evaluation of one model).
 */
import type { Denoiser } from '../core/types.ts';
import { checkInt, checkNumber, describe } from '../core/validate.ts';
import type { EvalCounts, ExactModel } from './types.ts';
import { logSumExp } from './linalg.ts';

export interface Composite {
  readonly models: readonly Denoiser[];
  readonly gamma: readonly number[];
  /** Γ = Σ γᵢ. */
  readonly gammaSum: number;
  readonly dim: number;
  readonly batch: number;
  readonly counts: EvalCounts;
  /** Per-model ε at the last `eps` call (copies, batch·dim each). */
  readonly parts: Float32Array[];
  /** ε_comp at the last `eps` call. */
  readonly eps: Float32Array;
  /** Evaluates every model at (x, t) into `parts` and ε_comp into `eps`. */
  evalEps(x: Float32Array, t: number): Promise<void>;
  /** log π̃_t(x) = Σ γᵢ log qᵢᵗ(x) into `out` (batch entries). Needs ExactModels. */
  evalLogDensity(x: Float32Array, t: number, out: Float64Array): Promise<void>;
  /** Whether every model has `logDensity`. */
  readonly exact: boolean;
}

/** Validates a list of models and their exponents (default all 1) and returns the exponents. */
export function checkModels(models: unknown, gamma: unknown, what = 'models'): number[] {
  if (!Array.isArray(models) || models.length < 1)
    throw new RangeError(`${what} must be a non-empty array of Denoisers, got ${describe(models)}`);
  models.forEach((m, i) => {
    if (!m || typeof (m as Denoiser).eps !== 'function')
      throw new TypeError(`${what}[${i}] must be a Denoiser with an eps(x, t, batch) method, got ${describe(m)}`);
  });
  if (gamma === undefined) return models.map(() => 1);
  if (!Array.isArray(gamma))
    throw new TypeError(`gamma must be an array of ${models.length} numbers, got ${describe(gamma)}`);
  if (gamma.length !== models.length) {
    throw new RangeError(`gamma must hold one exponent per model (${models.length}), got ${gamma.length}`);
  }
  return gamma.map((g, i) => checkNumber(`gamma[${i}]`, g));
}

export function hasLogDensity(m: Denoiser): m is ExactModel {
  return typeof (m as Partial<ExactModel>).logDensity === 'function';
}

/** Requires `logDensity` on every model, naming the method that needs it. */
export function requireExact(models: readonly Denoiser[], method: string): void {
  models.forEach((m, i) => {
    if (!hasLogDensity(m)) {
      throw new TypeError(
        `${method} needs exact log-densities: models[${i}] (${m.name ?? 'unnamed'}) must have a logDensity(x, t, batch) method`,
      );
    }
  });
}

// Over 60 lines: a closure over the composite's buffers, whose two methods (ε and log density) each check what every model returns.
export function makeComposite(
  models: readonly Denoiser[],
  gamma: readonly number[],
  dim: number,
  batch: number,
): Composite {
  const n = batch * dim;
  const parts = models.map(() => new Float32Array(n));
  const eps = new Float32Array(n);
  const counts: EvalCounts = { eps: 0, logDensity: 0 };
  const lq = new Float64Array(batch);
  const exact = models.every(hasLogDensity);
  return {
    models,
    gamma,
    gammaSum: gamma.reduce((a, b) => a + b, 0),
    dim,
    batch,
    counts,
    parts,
    eps,
    exact,
    async evalEps(x, t) {
      for (let i = 0; i < models.length; i++) {
        const e = await models[i].eps(x, t, batch);
        counts.eps++;
        if (!(e instanceof Float32Array) || e.length !== n) {
          throw new RangeError(
            `models[${i}] (${models[i].name ?? 'unnamed'}) returned ${describe(e)} at t = ${t}; expected a Float32Array of length particles·dim = ${n} (are the models of the same dimension?)`,
          );
        }
        for (let j = 0; j < n; j++) {
          if (!Number.isFinite(e[j]))
            throw new RangeError(
              `models[${i}] (${models[i].name ?? 'unnamed'}) returned a non-finite ε (${e[j]}) at index ${j}, t = ${t}`,
            );
        }
        parts[i].set(e);
      }
      eps.fill(0);
      for (let i = 0; i < models.length; i++) {
        const g = gamma[i];
        const p = parts[i];
        for (let j = 0; j < n; j++) eps[j] += g * p[j];
      }
    },
    async evalLogDensity(x, t, out) {
      out.fill(0, 0, batch);
      for (let i = 0; i < models.length; i++) {
        const m = models[i];
        if (!hasLogDensity(m))
          throw new TypeError(`models[${i}] (${m.name ?? 'unnamed'}) must have a logDensity(x, t, batch) method`);
        const l = await m.logDensity(x, t, batch, lq);
        counts.logDensity++;
        if (!(l instanceof Float64Array) || l.length !== batch) {
          throw new RangeError(
            `models[${i}].logDensity returned ${describe(l)}; expected a Float64Array of length particles = ${batch}`,
          );
        }
        const g = gamma[i];
        for (let b = 0; b < batch; b++) {
          if (!Number.isFinite(l[b]))
            throw new RangeError(`models[${i}].logDensity returned ${l[b]} for particle ${b} at t = ${t}`);
          out[b] += g * l[b];
        }
      }
    },
  };
}

/**
 * The exact mixture composition Σᵢ wᵢ qᵢᵗ (sources C§2.1: noising commutes with
 * mixing, so this is exact at every t): log q = LSEᵢ(log wᵢ + log qᵢᵗ), and with responsibilities
 * ρᵢ ∝ wᵢ qᵢᵗ(x), ε = Σᵢ ρᵢ εᵢ (because ∇log q = Σᵢ ρᵢ ∇log qᵢᵗ and all share σ_t).
 * The models' log-densities must be normalized.
 */
// Over 60 lines: a closure over its buffers, whose two methods (ε and log density) share the responsibilities.
export function mixtureOfModels(
  models: readonly ExactModel[],
  weights: readonly number[],
  opts: { name?: string; dim: number },
): ExactModel {
  checkModels(models, undefined);
  requireExact(models, 'mixtureOfModels');
  if (!Array.isArray(weights) || weights.length !== models.length) {
    throw new RangeError(`weights must hold one number per model (${models.length}), got ${describe(weights)}`);
  }
  let sum = 0;
  weights.forEach((w, i) => {
    sum += checkNumber(`weights[${i}]`, w, 0);
  });
  if (!(sum > 0)) throw new RangeError('weights must have a positive sum');
  const logW = weights.map((w) => Math.log(w / sum));
  const dim = checkInt('opts.dim', opts?.dim, 1);
  const M = models.length;
  let cap = 0;
  let L = new Float64Array(0);
  let out = new Float32Array(0);
  let lq = new Float64Array(0);
  const ensure = (batch: number) => {
    if (batch > cap) {
      cap = batch;
      L = new Float64Array(batch * M);
      out = new Float32Array(batch * dim);
      lq = new Float64Array(batch);
    }
  };
  async function logParts(x: Float32Array, t: number, batch: number): Promise<void> {
    ensure(batch);
    for (let i = 0; i < M; i++) {
      const l = await models[i].logDensity(x, t, batch, lq.length === batch ? lq : lq.subarray(0, batch));
      for (let b = 0; b < batch; b++) L[b * M + i] = logW[i] + l[b];
    }
  }
  return {
    name: opts.name ?? `mixture(${models.map((m) => m.name ?? '?').join(', ')})`,
    async eps(x, t, batch) {
      checkInt('batch', batch, 1);
      await logParts(x, t, batch);
      const n = batch * dim;
      const res = out.length === n ? out : out.subarray(0, n);
      res.fill(0);
      for (let b = 0; b < batch; b++) {
        const z = logSumExp(L, b * M, (b + 1) * M);
        for (let i = 0; i < M; i++) L[b * M + i] = Math.exp(L[b * M + i] - z);
      }
      for (let i = 0; i < M; i++) {
        const e = await models[i].eps(x, t, batch);
        if (e.length !== n) throw new RangeError(`models[${i}] returned ${e.length} values; expected batch·dim = ${n}`);
        for (let b = 0; b < batch; b++) {
          const r = L[b * M + i];
          for (let j = 0; j < dim; j++) res[b * dim + j] += r * e[b * dim + j];
        }
      }
      return res;
    },
    async logDensity(x, t, batch, o) {
      checkInt('batch', batch, 1);
      await logParts(x, t, batch);
      const res = o ?? new Float64Array(batch);
      for (let b = 0; b < batch; b++) res[b] = logSumExp(L, b * M, (b + 1) * M);
      return res;
    },
  };
}
