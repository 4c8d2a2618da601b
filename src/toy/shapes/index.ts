/** The Shapes world: prompts, renders, experts as Gaussian mixtures, and the exact evaluator. */
export * from './world.ts';
export * from './prompts.ts';
export * from './render.ts';
export * from './experts.ts';
export * from './evaluate.ts';
