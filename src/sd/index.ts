/**
 * amdm SD layer: CLIP tokenizer, prompt encoding, model families (the plug-in point for
 * InteractDiffusion / MIGC / IP-Adapter conditioning) and the text-to-image pipeline.
 */
export * from './clip-tokenizer.ts';
export * from './clip-tokenizer-files.ts';
export * from './family.ts';
export * from './text.ts';
export * from './pipeline.ts';
export { createSdModelPool, type SdModelPool, type SdModelPoolOptions } from './pipeline-pool.ts';
export type { FolderSource } from './pipeline-load.ts';
export type { LoadedModel } from './pipeline-types.ts';
export * from './families/index.ts';
