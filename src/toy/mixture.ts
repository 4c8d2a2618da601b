/**
 * A Gaussian mixture p₀(x) = Σₖ πₖ N(μₖ, Σₖ) over vectors of `dim` elements, the data
 * distribution of a closed-form toy model. Covariances are isotropic (σₖ² I) or diagonal.
 * Under x_t = √ᾱ x₀ + √(1−ᾱ) ε the marginal is q_t = Σₖ πₖ N(√ᾱ μₖ, ᾱΣₖ + (1−ᾱ) I).
 */
export type GaussianMixture =
  | {
      readonly kind: 'isotropic';
      readonly dim: number;
      /** πₖ, K entries, non-negative, summing to 1. */
      readonly weights: Float64Array;
      /** μₖ laid out back to back: K·dim values. */
      readonly means: Float32Array;
      /** σₖ², K entries, ≥ 0. */
      readonly variances: Float64Array;
    }
  | {
      readonly kind: 'diagonal';
      readonly dim: number;
      readonly weights: Float64Array;
      readonly means: Float32Array;
      /** diag(Σₖ) laid out back to back: K·dim values, ≥ 0. */
      readonly variances: Float32Array;
    };
