/** The ONNX backend of `amdm demo`: the closed-form experts exported to ONNX graphs. */
import type { ExpertDenoiserFactory } from '../toy/shapes/compare.ts';

export function onnxExpertFactory(): ExpertDenoiserFactory {
  throw new Error('the ONNX backend is not available yet');
}
