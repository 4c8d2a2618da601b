/**
 * MCMC kernels of Du et al. 2023 ("Reduce, Reuse, Recycle", sources C§2.2), per
 * particle, over any target with a gradient g = ∇ℓ and (for the adjusted kernels) ℓ = log p̃:
 *
 * - ULA:   x ← x + η g(x) + √(2η) ξ
 * - MALA:  x′ = x + η g(x) + √(2η) ξ,
 *          log α = ℓ(x′) − ℓ(x) + log N(x; x′ + η g(x′), 2ηI) − log N(x′; x + η g(x), 2ηI),
 *          accepted per particle (the 2-D notebook form: per-particle test, proposal variance 2η).
 * - U-HMC: v ← ρ v + √(1−ρ²) M ξ, then L leapfrog steps
 *          v ← v + (ε/2) g(x);  x ← x + ε v / M²;  v ← v + (ε/2) g(x).
 *          Momentum starts at N(0, M²I) and is carried across steps and levels.
 * - HMC:   U-HMC plus, per particle, log α = [ℓ(x*) − ‖v*‖²/(2M²)] − [ℓ(x) − ‖v′‖²/(2M²)];
 *          accept → (x*, v*), reject → (x, −v′). The momentum flip on rejection makes the partial
 *          refresh exact (generalized HMC, Horowitz 1991); RRR keeps +v′ (`flipOnReject: false`).
 *
 * Defaults are the 2-D notebook values (C§2.4): 10 steps per level, η = 1e-3 (ULA/MALA),
 * ε = 0.03, L = 3, ρ = 0.5, M = 1 (U-HMC/HMC). `betaScaled(c)` gives the image-code step size
 * c·βₜ (ULA/MALA 0.035·βₜ, HMC 0.1·βₜ with M = βₜ, C§2.4). Buffers are allocated once per kernel.
 */
import { gaussianRng, type GaussianRng } from '../core/rng.ts';
import { checkInt, checkNumber, checkOneOf, describe } from '../core/validate.ts';
import type { Level } from './noise-levels.ts';

export const MCMC_KINDS = ['ula', 'mala', 'uhmc', 'hmc'] as const;
export type MCMCKind = (typeof MCMC_KINDS)[number];

/** A per-level number: constant, or a function of the level (e.g. `betaScaled(0.035)`). */
export type PerLevel = number | ((level: Level) => number);

export interface MCMCOptions {
  kind: MCMCKind;
  /** K: kernel steps per noise level. Default 10. */
  stepsPerLevel?: number;
  /** η (ULA/MALA, default 1e-3) or leapfrog ε (U-HMC/HMC, default 0.03); > 0. */
  stepSize?: PerLevel;
  /** L: leapfrog steps per HMC step. Default 3. */
  leapfrog?: number;
  /** ρ: momentum damping in [0, 1). Default 0.5. */
  damping?: number;
  /** M: the momentum standard deviation (RRR `mass_diag_sqrt`), > 0. Default 1. */
  mass?: PerLevel;
  /** HMC: negate the momentum on rejection (exact); false is RRR's variant. Default true. */
  flipOnReject?: boolean;
}

/** A target for the kernels: `batch` particles of `dim` values, ℓ and ∇ℓ per particle. */
export interface MCMCTarget {
  /** out (batch·dim) = ∇ℓ(x). */
  grad(x: Float32Array, out: Float64Array): void | Promise<void>;
  /** out (batch) = ℓ(x) = log p̃(x) up to a constant. Needed by MALA and HMC. */
  logDensity?(x: Float32Array, out: Float64Array): void | Promise<void>;
}

export interface MCMCKernel {
  readonly options: Readonly<Required<MCMCOptions>>;
  /** Runs K steps on x (in place) against `target`; `level` resolves per-level options. */
  run(target: MCMCTarget, x: Float32Array, level?: Level): Promise<void>;
  /** Per-particle proposals made and accepted so far (unadjusted kernels accept all). */
  readonly stats: { proposed: number; accepted: number };
}

/** Image-style step size c·βₜ (βₜ of the training grid at the level's timestep). */
export function betaScaled(c: number): (level: Level) => number {
  checkNumber('c', c, 0, Infinity, { minExclusive: true });
  return (level) => c * level.trainBeta;
}

/** Fills defaults and validates; throws naming the option. */
export function resolveMCMCOptions(opts: MCMCOptions): Required<MCMCOptions> {
  if (typeof opts !== 'object' || opts === null)
    throw new TypeError(`mcmc options must be an object, got ${describe(opts)}`);
  const kind = checkOneOf('mcmc.kind', opts.kind, MCMC_KINDS);
  const hmcLike = kind === 'uhmc' || kind === 'hmc';
  const stepSize = opts.stepSize ?? (hmcLike ? 0.03 : 1e-3);
  if (typeof stepSize === 'number') checkNumber('mcmc.stepSize', stepSize, 0, Infinity, { minExclusive: true });
  else if (typeof stepSize !== 'function')
    throw new TypeError(`mcmc.stepSize must be a number > 0 or a function of the level, got ${describe(stepSize)}`);
  const mass = opts.mass ?? 1;
  if (typeof mass === 'number') checkNumber('mcmc.mass', mass, 0, Infinity, { minExclusive: true });
  else if (typeof mass !== 'function')
    throw new TypeError(`mcmc.mass must be a number > 0 or a function of the level, got ${describe(mass)}`);
  const damping = checkNumber('mcmc.damping', opts.damping ?? 0.5, 0, 1);
  if (damping === 1)
    throw new RangeError('mcmc.damping must be in [0, 1), got 1 (the momentum would never be refreshed)');
  const flip = opts.flipOnReject ?? true;
  if (typeof flip !== 'boolean') throw new TypeError(`mcmc.flipOnReject must be a boolean, got ${describe(flip)}`);
  return {
    kind,
    stepsPerLevel: checkInt('mcmc.stepsPerLevel', opts.stepsPerLevel ?? 10, 0, 1e6),
    stepSize,
    leapfrog: checkInt('mcmc.leapfrog', opts.leapfrog ?? 3, 1, 1e4),
    damping,
    mass,
    flipOnReject: flip,
  };
}

function resolve(name: string, v: PerLevel, level: Level | undefined): number {
  if (typeof v === 'number') return v;
  if (!level) throw new TypeError(`mcmc.${name} is a function of the level, so run() needs a level`);
  return checkNumber(`mcmc.${name} (at t = ${level.t})`, v(level), 0, Infinity, { minExclusive: true });
}

/**
 * A kernel for `batch` particles of `dim` values. `rng` defaults to gaussianRng(seed = 0,
 * stream = 0); pass a stream of your own to keep runs reproducible and independent.
 */
export function makeMCMCKernel(opts: MCMCOptions, dim: number, batch: number, rng?: GaussianRng): MCMCKernel {
  const o = resolveMCMCOptions(opts);
  checkInt('dim', dim, 1);
  checkInt('particles', batch, 1);
  return new MCMCChain(o, dim, batch, rng ?? gaussianRng(0, 0));
}

/** The kernel's state: its buffers (allocated once), the momentum it carries, and the counts. */
class MCMCChain implements MCMCKernel {
  readonly options: Required<MCMCOptions>;
  readonly stats = { proposed: 0, accepted: 0 };
  readonly #dim: number;
  readonly #batch: number;
  readonly #n: number;
  readonly #rng: GaussianRng;
  /** MALA and HMC: ℓ is evaluated and a proposal accepted per particle. */
  readonly #adjusted: boolean;
  #g: Float64Array;
  #gNew: Float64Array;
  readonly #xNew: Float32Array;
  readonly #noise: Float32Array;
  readonly #lp: Float64Array | null;
  readonly #lpNew: Float64Array | null;
  #v: Float64Array | null;
  #vNew: Float64Array | null;
  #momentumReady = false;

  constructor(o: Required<MCMCOptions>, dim: number, batch: number, rng: GaussianRng) {
    this.options = o;
    this.#dim = dim;
    this.#batch = batch;
    this.#rng = rng;
    const n = dim * batch;
    this.#n = n;
    this.#adjusted = o.kind === 'mala' || o.kind === 'hmc';
    const hmcLike = o.kind === 'uhmc' || o.kind === 'hmc';
    this.#g = new Float64Array(n);
    this.#gNew = new Float64Array(n);
    this.#xNew = new Float32Array(n);
    this.#noise = new Float32Array(n);
    this.#lp = this.#adjusted ? new Float64Array(batch) : null;
    this.#lpNew = this.#adjusted ? new Float64Array(batch) : null;
    this.#v = hmcLike ? new Float64Array(n) : null;
    this.#vNew = hmcLike ? new Float64Array(n) : null;
  }

  async #logp(target: MCMCTarget, x: Float32Array, out: Float64Array): Promise<void> {
    if (typeof target.logDensity !== 'function')
      throw new TypeError(`mcmc kind '${this.options.kind}' needs target.logDensity`);
    await target.logDensity(x, out);
  }

  /** The accept test of particle b; counts the proposal. */
  #decide(b: number, logAlpha: number): boolean {
    if (Number.isNaN(logAlpha))
      throw new RangeError(`MCMC acceptance log-ratio is NaN for particle ${b} (non-finite log-density or gradient)`);
    this.stats.proposed++;
    if (logAlpha >= 0 || Math.log(this.#rng.uniform()) < logAlpha) {
      this.stats.accepted++;
      return true;
    }
    return false;
  }

  async run(target: MCMCTarget, x: Float32Array, level?: Level): Promise<void> {
    const n = this.#n;
    if (!(x instanceof Float32Array) || x.length !== n)
      throw new RangeError(`x must be a Float32Array of length particles·dim = ${n}, got ${describe(x)}`);
    if (typeof target?.grad !== 'function') throw new TypeError('target must have a grad(x, out) method');
    const o = this.options;
    if (o.stepsPerLevel === 0) return;
    const h = resolve('stepSize', o.stepSize, level);
    await target.grad(x, this.#g);
    if (this.#adjusted) await this.#logp(target, x, this.#lp!);
    if (o.kind === 'ula' || o.kind === 'mala') await this.#langevin(target, x, h);
    else await this.#hmc(target, x, h, resolve('mass', o.mass, level));
  }

  /** ULA or MALA: K steps of x′ = x + η g(x) + √(2η) ξ, accepted per particle for MALA. */
  async #langevin(target: MCMCTarget, x: Float32Array, h: number): Promise<void> {
    const n = this.#n,
      batch = this.#batch,
      g = this.#g,
      gNew = this.#gNew,
      xNew = this.#xNew,
      noise = this.#noise;
    const sd = Math.sqrt(2 * h);
    for (let step = 0; step < this.options.stepsPerLevel; step++) {
      this.#rng.fillNormal(noise);
      if (this.options.kind === 'ula') {
        if (step > 0) await target.grad(x, g);
        for (let i = 0; i < n; i++) x[i] = x[i] + h * g[i] + sd * noise[i];
        this.stats.proposed += batch;
        this.stats.accepted += batch;
        continue;
      }
      for (let i = 0; i < n; i++) xNew[i] = x[i] + h * g[i] + sd * noise[i];
      await target.grad(xNew, gNew);
      await this.#logp(target, xNew, this.#lpNew!);
      for (let b = 0; b < batch; b++) this.#malaAccept(x, b, h);
    }
  }

  /** MALA's test of particle b: log α = ℓ(x′) − ℓ(x) + (‖x′ − x − ηg‖² − ‖x − x′ − ηg′‖²)/(4η). */
  #malaAccept(x: Float32Array, b: number, h: number): void {
    const dim = this.#dim,
      g = this.#g,
      gNew = this.#gNew,
      xNew = this.#xNew,
      lp = this.#lp!,
      lpNew = this.#lpNew!;
    const off = b * dim;
    let fwd = 0;
    let bwd = 0;
    for (let j = off; j < off + dim; j++) {
      const df = xNew[j] - x[j] - h * g[j];
      const db = x[j] - xNew[j] - h * gNew[j];
      fwd += df * df;
      bwd += db * db;
    }
    // log N(x; x′ + ηg′, 2η) − log N(x′; x + ηg, 2η) = (fwd − bwd)/(4η)
    const logAlpha = lpNew[b] - lp[b] + (fwd - bwd) / (4 * h);
    if (this.#decide(b, logAlpha)) {
      for (let j = off; j < off + dim; j++) {
        x[j] = xNew[j];
        g[j] = gNew[j];
      }
      lp[b] = lpNew[b];
    }
  }

  /** U-HMC or HMC: K steps of a partial momentum refresh and L leapfrog steps, accepted per particle for HMC. */
  async #hmc(target: MCMCTarget, x: Float32Array, h: number, M: number): Promise<void> {
    const n = this.#n,
      batch = this.#batch,
      xNew = this.#xNew,
      noise = this.#noise;
    const invM2 = 1 / (M * M);
    const rho = this.options.damping;
    const refresh = Math.sqrt(1 - rho * rho) * M;
    if (!this.#momentumReady) {
      this.#rng.fillNormal(noise);
      for (let i = 0; i < n; i++) this.#v![i] = M * noise[i];
      this.#momentumReady = true;
    }
    for (let step = 0; step < this.options.stepsPerLevel; step++) {
      const v = this.#v!,
        vNew = this.#vNew!;
      this.#rng.fillNormal(noise);
      for (let i = 0; i < n; i++) v[i] = rho * v[i] + refresh * noise[i];
      xNew.set(x);
      vNew.set(v);
      this.#gNew.set(this.#g);
      await this.#leapfrog(target, h, invM2);
      if (this.options.kind === 'uhmc') {
        x.set(xNew);
        const tg = this.#g;
        this.#g = this.#gNew;
        this.#gNew = tg;
        this.#v = vNew;
        this.#vNew = v;
        this.stats.proposed += batch;
        this.stats.accepted += batch;
        continue;
      }
      await this.#logp(target, xNew, this.#lpNew!);
      for (let b = 0; b < batch; b++) this.#hmcAccept(x, b, invM2);
    }
  }

  /** L leapfrog steps from (xNew, vNew, gNew) in place: v += (ε/2) g; x += ε v / M²; v += (ε/2) g. */
  async #leapfrog(target: MCMCTarget, h: number, invM2: number): Promise<void> {
    const n = this.#n,
      xNew = this.#xNew,
      vNew = this.#vNew!,
      gNew = this.#gNew;
    for (let l = 0; l < this.options.leapfrog; l++) {
      for (let i = 0; i < n; i++) {
        vNew[i] += 0.5 * h * gNew[i];
        xNew[i] = xNew[i] + h * vNew[i] * invM2;
      }
      await target.grad(xNew, gNew);
      for (let i = 0; i < n; i++) vNew[i] += 0.5 * h * gNew[i];
    }
  }

  /** HMC's test of particle b (see the header): accept → (x*, v*), reject → −v′ with flipOnReject. */
  #hmcAccept(x: Float32Array, b: number, invM2: number): void {
    const dim = this.#dim,
      g = this.#g,
      gNew = this.#gNew,
      xNew = this.#xNew,
      v = this.#v!,
      vNew = this.#vNew!,
      lp = this.#lp!,
      lpNew = this.#lpNew!;
    const off = b * dim;
    let k0 = 0;
    let k1 = 0;
    for (let j = off; j < off + dim; j++) {
      k0 += v[j] * v[j];
      k1 += vNew[j] * vNew[j];
    }
    const logAlpha = lpNew[b] - 0.5 * k1 * invM2 - (lp[b] - 0.5 * k0 * invM2);
    if (this.#decide(b, logAlpha)) {
      for (let j = off; j < off + dim; j++) {
        x[j] = xNew[j];
        g[j] = gNew[j];
        v[j] = vNew[j];
      }
      lp[b] = lpNew[b];
    } else if (this.options.flipOnReject) {
      for (let j = off; j < off + dim; j++) v[j] = -v[j];
    }
  }
}
