/**
 * 2-D composition worlds with exact targets (EXPERIMENTS.md, "Composition in 2-D";
 * sources C§2.5, C§3, C§4.2, C§8.1):
 *
 * - `ring-bar` (product): RRR's 8-Gaussian ring (radius 0.5, std 0.03) × the bar, made a
 *   Gaussian N(0, diag(0.1², 0.6²)) so that the product is a mixture (C§2.5).
 * - `up-down` (product): FKC's notebook experts, "up" = (±1.5, +1.5) and "down" = (±1.5, −1.5),
 *   std 0.4; the product sits at (±1.5, 0) with std 0.4/√2 (C§4.2).
 * - `factorized` (projective): background N(0, I), p₁ = GMM₁(x₁)N(x₂; 0, 1),
 *   p₂ = N(x₁; 0, 1)GMM₂(x₂); the composition p₁p₂/p_b = GMM₁(x₁)GMM₂(x₂) (C§3).
 * - `rotated` (projective): the same with p₂ rotated by an angle (default 45°), so the
 *   conditionals no longer act on disjoint coordinate blocks (C§3, "failure mode").
 * - `bars-mixture` (mixture): ½ left bar + ½ right bar (RRR's disjunction, x ∈ ±[0.1, 0.3],
 *   y ∈ [−1, 1], as Gaussians with the uniform's variances).
 *
 * Every world gives its experts' denoisers (what AMDM aggregates) and the models and exponents
 * whose tilted product Πᵢ pᵢ^{γᵢ} is the exact target at the data level (what the baselines use;
 * the mixture world uses one exact mixture model, `mixtureOfModels`).
 */
import type { NoiseSchedule } from '../core/schedule.ts';
import { checkNumber, checkOneOf } from '../core/validate.ts';
import type { GaussianMixture } from '../toy/mixture.ts';
import { diagonalMixture, isotropicMixture, mixtureDenoiser } from '../toy/gmm.ts';
import type { FullMixture } from './full-mixture.ts';
import { fullMixtureDenoiser } from './full-mixture-denoiser.ts';
import { mixtureOfMixtures, productOfMixtures, rotation2d, transformMixture } from './mixture-algebra.ts';
import { mixtureOfModels } from './composite.ts';
import type { ExactModel } from './types.ts';

export type WorldKind = 'product' | 'projective' | 'mixture';

export interface Expert {
  readonly name: string;
  readonly mixture: GaussianMixture | FullMixture;
}

export interface CompositionWorld {
  readonly name: string;
  readonly description: string;
  readonly kind: WorldKind;
  readonly dim: number;
  /** The experts, in model order (AMDM's first one is its target). */
  readonly experts: readonly Expert[];
  /** The background p_b of a projective world. */
  readonly background?: Expert;
  /** Weights of a mixture world's experts. */
  readonly mixtureWeights?: readonly number[];
  /** The exact normalized composition at the data level. */
  readonly target: FullMixture;
  /** The experts' exact denoisers under `schedule`. */
  expertModels(schedule: NoiseSchedule): ExactModel[];
  /** Models and exponents of the composition (product: γ = 1; projective: (1, 1, −1)). */
  composition(schedule: NoiseSchedule): { models: ExactModel[]; gamma: number[] };
}

function denoiser(e: Expert, schedule: NoiseSchedule): ExactModel {
  return e.mixture.kind === 'full'
    ? fullMixtureDenoiser(e.mixture, schedule, { name: e.name })
    : mixtureDenoiser(e.mixture, schedule, { name: e.name });
}

/** A product world Πᵢ pᵢ (exact target by C§8.1). */
export function productWorld(name: string, description: string, experts: readonly Expert[]): CompositionWorld {
  const target = productOfMixtures(experts.map((e) => e.mixture)).mixture;
  const dim = target.dim;
  return {
    name,
    description,
    kind: 'product',
    dim,
    experts,
    target,
    expertModels: (schedule) => experts.map((e) => denoiser(e, schedule)),
    composition: (schedule) => ({ models: experts.map((e) => denoiser(e, schedule)), gamma: experts.map(() => 1) }),
  };
}

/** A projective world p_b Πᵢ (pᵢ/p_b) (Bradley et al. 2025); the background must be one Gaussian. */
export function projectiveWorld(
  name: string,
  description: string,
  experts: readonly Expert[],
  background: Expert,
): CompositionWorld {
  const gamma = [...experts.map(() => 1), -(experts.length - 1)];
  const target = productOfMixtures([...experts.map((e) => e.mixture), background.mixture], gamma).mixture;
  return {
    name,
    description,
    kind: 'projective',
    dim: target.dim,
    experts,
    background,
    target,
    expertModels: (schedule) => experts.map((e) => denoiser(e, schedule)),
    composition: (schedule) => ({ models: [...experts, background].map((e) => denoiser(e, schedule)), gamma }),
  };
}

/** A mixture world Σᵢ wᵢ pᵢ (exact at every noise level). */
export function mixtureWorld(
  name: string,
  description: string,
  experts: readonly Expert[],
  weights: readonly number[],
): CompositionWorld {
  const target = mixtureOfMixtures(
    experts.map((e) => e.mixture),
    weights,
  );
  return {
    name,
    description,
    kind: 'mixture',
    dim: target.dim,
    experts,
    mixtureWeights: weights,
    target,
    expertModels: (schedule) => experts.map((e) => denoiser(e, schedule)),
    composition: (schedule) => ({
      models: [
        mixtureOfModels(
          experts.map((e) => denoiser(e, schedule)),
          weights,
          { dim: target.dim, name: 'mixture' },
        ),
      ],
      gamma: [1],
    }),
  };
}

/** RRR's ring: 8 equal Gaussians at radius·(cos 2πk/8, sin 2πk/8). */
export function ringMixture(radius = 0.5, std = 0.03, count = 8): GaussianMixture {
  checkNumber('radius', radius, 0);
  checkNumber('std', std, 0, Infinity, { minExclusive: true });
  const means: number[] = [];
  for (let k = 0; k < count; k++)
    means.push(radius * Math.cos((2 * Math.PI * k) / count), radius * Math.sin((2 * Math.PI * k) / count));
  return isotropicMixture(means, 2, std * std);
}

export function ringBarWorld(): CompositionWorld {
  return productWorld('ring-bar', 'RRR ring (8 Gaussians, r = 0.5, std 0.03) × bar N(0, diag(0.1², 0.6²))', [
    { name: 'ring', mixture: ringMixture() },
    { name: 'bar', mixture: diagonalMixture([0, 0], 2, [0.01, 0.36]) },
  ]);
}

export function upDownWorld(): CompositionWorld {
  return productWorld('up-down', 'FKC up (±1.5, +1.5) × down (±1.5, −1.5), std 0.4', [
    { name: 'up', mixture: isotropicMixture([-1.5, 1.5, 1.5, 1.5], 2, 0.16) },
    { name: 'down', mixture: isotropicMixture([-1.5, -1.5, 1.5, -1.5], 2, 0.16) },
  ]);
}

/** GMM₁ on x₁ (modes −1.5, 1.5, std 0.2) and GMM₂ on x₂ (weights 0.3/0.7 at −1, 1.2, std 0.15). */
const GMM1 = { means: [-1.5, 1.5], vars: [0.04, 0.04], weights: [0.5, 0.5] };
const GMM2 = { means: [-1, 1.2], vars: [0.0225, 0.0225], weights: [0.3, 0.7] };

function factorizedExperts(): [Expert, Expert, Expert] {
  const p1 = diagonalMixture(
    GMM1.means.flatMap((m) => [m, 0]),
    2,
    GMM1.vars.flatMap((v) => [v, 1]),
    GMM1.weights,
  );
  const p2 = diagonalMixture(
    GMM2.means.flatMap((m) => [0, m]),
    2,
    GMM2.vars.flatMap((v) => [1, v]),
    GMM2.weights,
  );
  const pb = isotropicMixture([0, 0], 2, 1);
  return [
    { name: 'x1-expert', mixture: p1 },
    { name: 'x2-expert', mixture: p2 },
    { name: 'background', mixture: pb },
  ];
}

export function factorizedWorld(): CompositionWorld {
  const [p1, p2, pb] = factorizedExperts();
  return projectiveWorld(
    'factorized',
    'background N(0, I); p1 = GMM1(x1)N(x2), p2 = N(x1)GMM2(x2): composition GMM1(x1)GMM2(x2)',
    [p1, p2],
    pb,
  );
}

/** The factorized world with the second expert rotated by `angle` radians (default π/4). */
export function rotatedWorld(angle = Math.PI / 4): CompositionWorld {
  checkNumber('angle', angle);
  const [p1, p2, pb] = factorizedExperts();
  const rotated: Expert = { name: 'x2-expert-rotated', mixture: transformMixture(p2.mixture, rotation2d(angle)) };
  const deg = Math.round((angle * 180) / Math.PI);
  return projectiveWorld(
    'rotated',
    `the factorized world with p2 rotated by ${deg}°: not factorized`,
    [p1, rotated],
    pb,
  );
}

export function barsMixtureWorld(): CompositionWorld {
  // Uniform on a width-0.2 × height-2 bar: variances 0.2²/12 and 2²/12.
  const v = [0.04 / 12, 4 / 12];
  return mixtureWorld(
    'bars-mixture',
    '½ left bar + ½ right bar (x centred at ∓0.2, var (0.2²/12, 2²/12))',
    [
      { name: 'left-bar', mixture: diagonalMixture([-0.2, 0], 2, v) },
      { name: 'right-bar', mixture: diagonalMixture([0.2, 0], 2, v) },
    ],
    [0.5, 0.5],
  );
}

export const WORLD_NAMES = ['ring-bar', 'up-down', 'factorized', 'rotated', 'bars-mixture'] as const;
export type WorldName = (typeof WORLD_NAMES)[number];

/** A world by name. */
export function world2d(name: WorldName): CompositionWorld {
  switch (checkOneOf('name', name, WORLD_NAMES)) {
    case 'ring-bar':
      return ringBarWorld();
    case 'up-down':
      return upDownWorld();
    case 'factorized':
      return factorizedWorld();
    case 'rotated':
      return rotatedWorld();
    case 'bars-mixture':
      return barsMixtureWorld();
  }
}
