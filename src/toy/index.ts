/** amdm toy worlds: exact Gaussian-mixture denoisers and the Shapes world with its evaluator. */
export type { GaussianMixture } from './mixture.ts';
export * from './gmm.ts';
export * from './shapes/index.ts';
export * from './shapes/compare.ts';
export type { EtaScaleLabel, MapCell } from './shapes/map-cell.ts';
export type { MergeSetting } from './shapes/merge-setting.ts';
/** The MiniMIG world (the mini-zoo's training data, prompts and evaluator), as one namespace. */
export * as minimig from './minimig/index.ts';
