/**
 * Between the MiniMIG world's images (channel-major RGB bytes; the evaluator's RGB in [−1, 1])
 * and RGBA rasters (PNG, grids): the conversions the mini-zoo demo, the zoo commands and a
 * generate job on a MiniMIG prompt share.
 */
import type { RGBA } from '../image/raster.ts';
import { IMAGE_SIZE } from '../toy/minimig/world.ts';

/** A MiniMIG prompt id, "L<level>-<index>" (the prompt sets' ids, seed 2024), as a job's `minimig` names it. */
export const MINIMIG_ID = /^L([1-4])-(\d{3,6})$/;

/** Channel-major RGB bytes of a square MiniMIG image (renderScene, renderStyle) → an opaque RGBA raster. */
export function rgbaFromChw(rgb: Uint8Array, size = IMAGE_SIZE): RGBA {
  const P = size * size;
  if (rgb.length !== 3 * P)
    throw new RangeError(`rgb must hold 3 × ${size} × ${size} = ${3 * P} bytes, got ${rgb.length}`);
  const data = new Uint8ClampedArray(P * 4);
  for (let q = 0; q < P; q++) {
    data[4 * q] = rgb[q];
    data[4 * q + 1] = rgb[P + q];
    data[4 * q + 2] = rgb[2 * P + q];
    data[4 * q + 3] = 255;
  }
  return { width: size, height: size, data };
}

/** RGBA raster → channel-major RGB in [−1, 1] (u/127.5 − 1), the evaluator's input. */
export function unitImageFromRgba(img: RGBA): Float32Array {
  const P = img.width * img.height;
  const out = new Float32Array(3 * P);
  for (let q = 0; q < P; q++) for (let c = 0; c < 3; c++) out[c * P + q] = img.data[4 * q + c] / 127.5 - 1;
  return out;
}
