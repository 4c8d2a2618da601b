/** amdm ONNX layer: graph writer, sessions (backend node / web / auto; device cpu / cuda / auto), model folders, the CFG UNet denoiser. */
export * from './proto.ts';
export * from './graph.ts';
export * from './dtype.ts';
export * from './session.ts';
export * from './scheduler-config.ts';
export * from './manifest.ts';
export * from './model-folder.ts';
export * from './components.ts';
export * from './unet-denoiser.ts';
export * from './export-gmm.ts';
