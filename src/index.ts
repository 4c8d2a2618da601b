/**
 * amdm — Aggregation of Multiple Diffusion Models.
 *
 * The root entry point is the dependency-free math: the core (schedules, DDIM, aggregation
 * rules, deviation optimization, the AMDM sampler, RNG). Other layers have their own entry
 * points so that importing the core never loads native modules:
 *   amdm/toy      closed-form toy worlds and their exact evaluator
 *   amdm/image    PNG, grids, Observable Plot → SVG (Node)
 *   amdm/onnx     onnxruntime sessions (node or web backend), model folders, the UNet denoiser
 *   amdm/sd       CLIP tokenizer and SD-family conditioning
 *   amdm/compose  compositional baselines
 *   amdm/jobs     a generate job and the Shapes demo in memory (what the CLI and server run)
 *   amdm/server   the HTTP fetch handler (createHandler) and listen() for Node and Deno
 */
export * from './core/index.ts';
