/**
 * The pixel classes of the MiniMIG evaluator (evaluate.ts): the image in byte units, each
 * pixel's palette colour by membership α, whiteness (a mark), and the boxes' pixel test.
 */
import { describe } from '../../core/validate.ts';
import {
  CHANNELS,
  COLOURS,
  IMAGE_SIZE,
  PALETTE,
  TINTS,
  tintLevels,
  type Box,
  type Colour,
  type Rgb8,
} from './world.ts';

export const S = IMAGE_SIZE;
export const PLANE = S * S;
export const WHITE_LEVEL = 140;

/** Low and high level of every tint. */
export const BACKGROUND_LEVELS: readonly Rgb8[] = TINTS.flatMap((t) => Object.values(tintLevels(t)));

/** Image (Float32Array 3×32×32 in [−1, 1]) → bytes-scale float copy u = (x + 1)·127.5. */
export function toBytesScale(image: Float32Array): Float32Array {
  if (!(image instanceof Float32Array) || image.length !== CHANNELS * PLANE) {
    throw new RangeError(
      `image must be a Float32Array of length ${CHANNELS * PLANE} (3×32×32), got ${describe(image)}`,
    );
  }
  const u = new Float32Array(image.length);
  for (let i = 0; i < image.length; i++) {
    if (!Number.isFinite(image[i])) throw new RangeError(`image[${i}] must be finite, got ${image[i]}`);
    u[i] = (image[i] + 1) * 127.5;
  }
  return u;
}

export const dist2 = (u: Float32Array, q: number, c: Rgb8) =>
  (u[q] - c[0]) ** 2 + (u[PLANE + q] - c[1]) ** 2 + (u[2 * PLANE + q] - c[2]) ** 2;

/**
 * Membership of each pixel in colour c: α = clamp(1 − ‖u − c‖ / D_c, 0, 1), D_c the distance from c
 * to the nearest background level of any tint (α ≈ the mixing weight of c in a blurred edge).
 */
export function membership(u: Float32Array, colour: Colour): Float32Array {
  const c = PALETTE[colour];
  const D = Math.sqrt(
    Math.min(...BACKGROUND_LEVELS.map((b) => (c[0] - b[0]) ** 2 + (c[1] - b[1]) ** 2 + (c[2] - b[2]) ** 2)),
  );
  const a = new Float32Array(PLANE);
  for (let q = 0; q < PLANE; q++) a[q] = Math.max(0, Math.min(1, 1 - Math.sqrt(dist2(u, q, c)) / D));
  return a;
}

/**
 * Per pixel: the palette index with the largest membership α (see `membership`) when that α is
 * ≥ ½, else −1; whiteness; and the memberships of every colour.
 */
export function classify(u: Float32Array): Classes {
  const alpha = COLOURS.map((c) => membership(u, c));
  const colour = new Int8Array(PLANE).fill(-1);
  const white = new Uint8Array(PLANE);
  for (let q = 0; q < PLANE; q++) {
    let best = 0.5;
    alpha.forEach((a, k) => {
      if (a[q] >= best) {
        best = a[q];
        colour[q] = k;
      }
    });
    white[q] = Math.min(u[q], u[PLANE + q], u[2 * PLANE + q]) > WHITE_LEVEL ? 1 : 0;
  }
  return { colour, white, alpha };
}

export interface Classes {
  colour: Int8Array;
  white: Uint8Array;
  alpha: Float32Array[];
}

export function insideAnyBox(boxes: readonly Box[], y: number, x: number, grow: number): boolean {
  return boxes.some((b) => y >= b.y - grow && y < b.y + b.size + grow && x >= b.x - grow && x < b.x + b.size + grow);
}
