/**
 * amdm/compose — compositional baselines over the core `Denoiser`: product of experts by the
 * sum of scores ± MCMC (Du et al. 2023), projective composition (Bradley et al. 2025),
 * Feynman–Kac correctors (Skreta et al. 2025), a discrete SMC with exact energies, the 2-D
 * composition worlds with exact targets, and their metrics.
 */
export type { ComposeResult, EvalCounts, ExactModel } from './types.ts';
export * from './full-mixture.ts';
export * from './full-mixture-denoiser.ts';
export * from './mixture-algebra.ts';
export * from './composite.ts';
export * from './noise-levels.ts';
export * from './mcmc.ts';
export * from './resample.ts';
export * from './reverse.ts';
/** throwIfAborted lives in the core; this entry point keeps exporting it. */
export { throwIfAborted } from '../core/abort.ts';
export * from './fkc.ts';
export * from './smc.ts';
export * from './worlds2d.ts';
export * from './metrics.ts';
