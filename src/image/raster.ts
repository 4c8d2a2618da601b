/**
 * Float32 tensors → 8-bit RGBA rasters.
 *
 * An `RGBA` is the shape of a canvas `ImageData`: row-major pixels, 4 bytes each (R, G, B, A),
 * `data.length === width * height * 4`.
 */
import { describe } from '../core/validate.ts';

export interface RGBA {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8ClampedArray;
}

export interface LatentToRGBAOptions {
  /** Value range mapped to [0, 255]; default [-1, 1]. */
  range?: readonly [number, number];
  /** Integer nearest-neighbour upscaling factor ≥ 1; default 1. */
  scale?: number;
}

function checkPositiveInt(name: string, v: unknown, max = 1 << 16): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new TypeError(`${name} must be an integer in [1, ${max}], got ${describe(v)}`);
  }
  if (v < 1 || v > max) throw new RangeError(`${name} must be an integer in [1, ${max}], got ${v}`);
  return v;
}

function checkChannels(channels: unknown): 1 | 3 {
  if (channels !== 1 && channels !== 3) {
    throw new RangeError(`channels must be 1 (grey) or 3 (RGB), got ${describe(channels)}`);
  }
  return channels;
}

function checkImage(image: unknown, channels: number, height: number, width: number): Float32Array {
  if (!(image instanceof Float32Array)) throw new TypeError(`image must be a Float32Array, got ${describe(image)}`);
  const n = channels * height * width;
  if (image.length !== n) {
    throw new RangeError(
      `image must have length channels·height·width = ${channels}·${height}·${width} = ${n}, got ${image.length}`,
    );
  }
  return image;
}

/** Validates an RGBA raster (integer size ≥ 1, data of length width·height·4). */
export function checkRGBA(name: string, v: unknown): RGBA {
  if (typeof v !== 'object' || v === null)
    throw new TypeError(`${name} must be an RGBA image { width, height, data }, got ${describe(v)}`);
  const { width, height, data } = v as RGBA;
  checkPositiveInt(`${name}.width`, width);
  checkPositiveInt(`${name}.height`, height);
  if (!(data instanceof Uint8ClampedArray)) {
    throw new TypeError(`${name}.data must be a Uint8ClampedArray, got ${describe(data)}`);
  }
  if (data.length !== width * height * 4) {
    throw new RangeError(`${name}.data must have length width·height·4 = ${width * height * 4}, got ${data.length}`);
  }
  return v as RGBA;
}

/** A new opaque raster filled with one colour (default white). */
export function makeRGBA(
  width: number,
  height: number,
  color: readonly [number, number, number, number] = [255, 255, 255, 255],
): RGBA {
  checkPositiveInt('width', width);
  checkPositiveInt('height', height);
  const data = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < data.length; i += 4) {
    data[i] = color[0];
    data[i + 1] = color[1];
    data[i + 2] = color[2];
    data[i + 3] = color[3];
  }
  return { width, height, data };
}

/** Nearest-neighbour upscaling by an integer factor: each pixel becomes a scale×scale block. */
export function upscaleNearest(img: RGBA, scale: number): RGBA {
  checkRGBA('img', img);
  checkPositiveInt('scale', scale, 256);
  if (scale === 1) return { width: img.width, height: img.height, data: img.data.slice() };
  const width = img.width * scale;
  const height = img.height * scale;
  const out = new Uint32Array(width * height);
  const bytes = img.data.byteOffset % 4 === 0 ? img.data : img.data.slice(); // Uint32 views need 4-byte alignment
  const src = new Uint32Array(bytes.buffer, bytes.byteOffset, img.width * img.height);
  for (let y = 0; y < height; y++) {
    const sRow = Math.floor(y / scale) * img.width;
    const dRow = y * width;
    for (let x = 0; x < width; x++) out[dRow + x] = src[sRow + Math.floor(x / scale)];
  }
  return { width, height, data: new Uint8ClampedArray(out.buffer) };
}

/**
 * Channel-major C×H×W image (C = 1 grey, 3 RGB) → RGBA.
 *
 * Each value maps to round((v − lo)/(hi − lo) · 255) (computed in float64, Math.round: halves
 * round up). Values outside [lo, hi] give results outside [0, 255] and are clipped to 0 or 255,
 * as pixel bytes are — that is display saturation, not a change of the data. Non-finite values
 * throw a RangeError naming their flat index. Alpha is 255. Grey images replicate the value to
 * R, G and B. `scale` upscales with nearest neighbour.
 */
export function latentToRGBA(
  image: Float32Array,
  channels: number,
  height: number,
  width: number,
  opts: LatentToRGBAOptions = {},
): RGBA {
  const c = checkChannels(channels);
  checkPositiveInt('height', height);
  checkPositiveInt('width', width);
  checkImage(image, c, height, width);
  if (typeof opts !== 'object' || opts === null) throw new TypeError(`opts must be an object, got ${describe(opts)}`);
  const range = opts.range ?? [-1, 1];
  if (!Array.isArray(range) || range.length !== 2) {
    throw new TypeError(`opts.range must be a pair [lo, hi], got ${describe(range)}`);
  }
  const [lo, hi] = range;
  if (typeof lo !== 'number' || typeof hi !== 'number' || !Number.isFinite(lo) || !Number.isFinite(hi) || !(lo < hi)) {
    throw new RangeError(
      `opts.range must be finite numbers [lo, hi] with lo < hi, got [${describe(lo)}, ${describe(hi)}]`,
    );
  }
  const scale = checkPositiveInt('opts.scale', opts.scale ?? 1, 256);
  const hw = height * width;
  const data = new Uint8ClampedArray(hw * 4);
  const k = 255 / (hi - lo);
  for (let p = 0; p < hw; p++) {
    for (let ch = 0; ch < 3; ch++) {
      const idx = c === 1 ? p : ch * hw + p;
      const v = image[idx];
      if (!Number.isFinite(v)) throw new RangeError(`image[${idx}] must be finite, got ${v}`);
      // Uint8ClampedArray clips to [0, 255]; Math.round first so halves go up (not to even).
      data[p * 4 + ch] = Math.round((v - lo) * k);
    }
    data[p * 4 + 3] = 255;
  }
  const out: RGBA = { width, height, data };
  return scale === 1 ? out : upscaleNearest(out, scale);
}

/** numpy's `round` (half to even) on a float32 value. */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * Stable Diffusion VAE decoder output (3×H×W, nominally in [−1, 1]) → RGBA, as diffusers'
 * `VaeImageProcessor` does it: `(image / 2 + 0.5).clamp(0, 1)` in float32, then numpy
 * `(images * 255).round().astype("uint8")` (float32 product, round half to even).
 * Non-finite values throw (torch's clamp would keep NaN, and uint8 casting of NaN is undefined).
 */
export function rgbaFromSdImage(
  image: Float32Array,
  height: number,
  width: number,
  opts: { scale?: number } = {},
): RGBA {
  checkPositiveInt('height', height);
  checkPositiveInt('width', width);
  checkImage(image, 3, height, width);
  const scale = checkPositiveInt('opts.scale', opts.scale ?? 1, 256);
  const hw = height * width;
  const data = new Uint8ClampedArray(hw * 4);
  const f = Math.fround;
  for (let p = 0; p < hw; p++) {
    for (let ch = 0; ch < 3; ch++) {
      const idx = ch * hw + p;
      const v = image[idx];
      if (!Number.isFinite(v)) throw new RangeError(`image[${idx}] must be finite, got ${v}`);
      let u = f(f(v / 2) + 0.5);
      u = u < 0 ? 0 : u > 1 ? 1 : u; // the clamp(0, 1) of the reference formula
      data[p * 4 + ch] = roundHalfEven(f(u * 255));
    }
    data[p * 4 + 3] = 255;
  }
  const out: RGBA = { width, height, data };
  return scale === 1 ? out : upscaleNearest(out, scale);
}
