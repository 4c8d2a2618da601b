/** amdm jobs: a generate job and the Shapes demo computed in memory (shared by the CLI and the server). */
export * from './job-schema.ts';
export * from './generate.ts';
export * from './demo.ts';
export { onnxExpertFactory } from './demo-onnx.ts';
