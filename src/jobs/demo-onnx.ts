/**
 * The ONNX backend of the demo: each closed-form expert is exported to an ONNX graph
 * (components as initializers, ᾱ looked up inside the graph) and run by onnxruntime on CPU, so
 * the demo exercises the same runtime path as real SD-family models.
 */
import type { ExpertDenoiserFactory } from '../toy/shapes/compare.ts';
import type { Backend } from '../onnx/session.ts';
import { gmmOnnxDenoiser } from '../onnx/export-gmm.ts';

/** `backend`: onnxruntime-node, onnxruntime-web (WASM) or node when it loads (session.ts). */
export function onnxExpertFactory(backend?: Backend): ExpertDenoiserFactory {
  return (mixture, info) =>
    gmmOnnxDenoiser(mixture, info.schedule, {
      name: `onnx ${info.expert}`,
      shape: [info.world.channels, info.world.height, info.world.width],
      intraOpNumThreads: 1,
      backend,
    });
}
