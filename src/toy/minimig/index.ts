/** The MiniMIG world: scenes, exact renders, captions, prompt sets and the evaluator. */
export * from './world.ts';
export * from './sample.ts';
export * from './render.ts';
export * from './captions.ts';
export * from './evaluate.ts';
export * from './prompts.ts';
export * from './paired.ts';
