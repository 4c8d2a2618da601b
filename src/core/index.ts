/** amdm core: schedules, DDIM, aggregation rules, deviation optimization, the AMDM sampler, RNG. Zero dependencies. */
export type { Denoiser, AggregationRule } from './types.ts';
export * from './schedule.ts';
export * from './ddim.ts';
export * from './defaults.ts';
export * from './rules.ts';
export * from './rule-registry.ts';
export * from './deviation.ts';
export * from './sampler.ts';
export * from './sampler-plan.ts';
export * from './tensor.ts';
export * from './rng.ts';
export * from './torch-rng.ts';
export * from './reference.ts';
export * from './rule-check.ts';
export type { KernelBackend, BackendName } from './backend.ts';
export { SphereScratch } from './kernel-math.ts';
export { BACKEND_NAMES, kernelBackend, resolveBackend, setKernelBackend } from './backend.ts';
export { wasmSupported } from './backend-wasm.ts';
