/**
 * The grounded SD families of the AMDM paper. Importing this module registers the kinds
 * 'interactdiffusion', 'migc' and 'ipadapter' with the pipeline (src/sd/family.ts).
 */
export * from './boxes.ts';
export * from './context.ts';
export * from './clip-image.ts';
export * from './folder-check.ts';
export * from './interactdiffusion.ts';
export * from './migc.ts';
export * from './ipadapter.ts';
