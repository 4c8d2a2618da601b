// Property tests explore new random cases on every local run; under CI they use one fixed
// seed so that a run is reproducible (a failure prints its seed and path either way).
import fc from 'fast-check';
// onnxruntime-node's telemetry off before any test file loads the package (src/onnx/telemetry.ts)
import '../src/onnx/telemetry.ts';

if (process.env.CI) fc.configureGlobal({ seed: 20261128 });
