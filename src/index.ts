/**
 * amdm — Aggregation of Multiple Diffusion Models.
 *
 * The root entry point is the dependency-free math: the core (schedules, DDIM, aggregation
 * rules, deviation optimization, the AMDM sampler, RNG). Other layers have their own entry
 * points so that importing the core never loads native modules:
 *   amdm/toy      closed-form toy worlds and their exact evaluator
 *   amdm/image    PNG, grids, Observable Plot → SVG (Node)
 *   amdm/onnx     onnxruntime-node sessions, model folders, the UNet denoiser
 *   amdm/sd       CLIP tokenizer and SD-family conditioning
 *   amdm/compose  compositional baselines
 */
export * from './core/index.ts';
