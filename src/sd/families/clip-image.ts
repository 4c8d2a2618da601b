/**
 * CLIP image preprocessing as transformers' `CLIPImageProcessor()` with its defaults does it
 * (sources M§5; `image_processing_clip.py`): RGB → resize so the shortest edge is 224 with
 * PIL bicubic → centre crop 224 × 224 → × 1/255 → normalize with CLIP's mean/std → CHW.
 *
 * The resize reproduces Pillow's `Image.resize(size, BICUBIC)` on 8-bit images
 * (`libImaging/Resample.c`): a separable convolution, horizontal pass first, with the cubic
 * kernel a = −0.5 widened by the downscale factor (antialiasing), coefficients normalized to
 * sum 1, converted to fixed point with 22 fractional bits, and each pass rounded and clamped
 * to 0…255 (`clip8`).
 *
 * No file system and no Node-only API.
 */
import { checkInt, describe } from '../../core/validate.ts';
import type { RGBA } from '../../image/raster.ts';

export const CLIP_IMAGE_MEAN = Object.freeze([0.48145466, 0.4578275, 0.40821073] as const);
export const CLIP_IMAGE_STD = Object.freeze([0.26862954, 0.26130258, 0.27577711] as const);
export const CLIP_IMAGE_SIZE = 224;

/** Pillow's `PRECISION_BITS` (32 − 8 − 2) for 8-bit resampling. */
const PRECISION_BITS = 22;

/** Pillow's bicubic kernel (`bicubic_filter`, a = −0.5), support 2. */
export function bicubicKernel(x: number): number {
  const a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

/**
 * Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc` for one axis: per output index its
 * first source index, tap count and fixed-point weights.
 */
export function bicubicCoefficients(
  inSize: number,
  outSize: number,
): { bounds: Int32Array; ksize: number; weights: Int32Array; real: Float64Array } {
  checkInt('inSize', inSize, 1, 1 << 16);
  checkInt('outSize', outSize, 1, 1 << 16);
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 2 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const real = new Float64Array(outSize * ksize);
  const weights = new Int32Array(outSize * ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterscale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = bicubicKernel((x + xmin - center + 0.5) * ss);
      real[xx * ksize + x] = w;
      ww += w;
    }
    for (let x = 0; x < xmax; x++) if (ww !== 0) real[xx * ksize + x] /= ww;
    bounds[2 * xx] = xmin;
    bounds[2 * xx + 1] = xmax;
  }
  for (let i = 0; i < real.length; i++) {
    const v = real[i] * (1 << PRECISION_BITS);
    weights[i] = v < 0 ? Math.trunc(-0.5 + v) : Math.trunc(0.5 + v);
  }
  return { bounds, ksize, weights, real };
}

/** Pillow's `clip8`: fixed-point accumulator → 0…255. */
function clip8(v: number): number {
  if (v >= 255 * 2 ** PRECISION_BITS + 2 ** PRECISION_BITS) return 255;
  if (v <= 0) return 0;
  return Math.floor(v / 2 ** PRECISION_BITS);
}

/** An 8-bit image's size: `channels` interleaved channels per pixel. */
export interface ImageSize {
  width: number;
  height: number;
  channels: number;
}

/**
 * Resize an 8-bit image of size `from` to `to` (same channels) as Pillow's
 * `Image.resize((to.width, to.height), Image.BICUBIC)` (no reducing gap): a horizontal pass over
 * the rows the vertical pass reads, then the vertical pass. Returns a new buffer.
 */
export function resizeBicubicPIL(
  src: Uint8Array | Uint8ClampedArray,
  from: ImageSize,
  to: { width: number; height: number },
): Uint8Array {
  const { width, height, channels } = from;
  const { width: outW, height: outH } = to;
  checkInt('width', width, 1, 1 << 16);
  checkInt('height', height, 1, 1 << 16);
  checkInt('channels', channels, 1, 4);
  checkInt('outW', outW, 1, 1 << 16);
  checkInt('outH', outH, 1, 1 << 16);
  if (!(src instanceof Uint8Array || src instanceof Uint8ClampedArray))
    throw new TypeError(`src must be a Uint8Array, got ${describe(src)}`);
  if (src.length !== width * height * channels) {
    throw new RangeError(
      `src must have length width·height·channels = ${width * height * channels}, got ${src.length}`,
    );
  }
  let cur: Uint8Array = Uint8Array.from(src);
  let curW = width;
  const needH = outW !== width;
  const needV = outH !== height;
  const vert = bicubicCoefficients(height, outH);
  // Rows the vertical pass reads (Pillow resizes only those horizontally).
  const yFirst = needH ? vert.bounds[0] : 0;
  const yLast = needH ? vert.bounds[2 * outH - 2] + vert.bounds[2 * outH - 1] : height;
  let rowOffset = 0;
  if (needH) {
    cur = horizontalPass(cur, from, outW, [yFirst, yLast]);
    curW = outW;
    rowOffset = yFirst;
  }
  if (!needV) {
    if (!needH) return cur;
    return cur.subarray(0, outW * outH * channels).slice();
  }
  const out = new Uint8Array(outW * outH * channels);
  const { bounds, ksize, weights } = vert;
  const half = 2 ** (PRECISION_BITS - 1);
  for (let yy = 0; yy < outH; yy++) {
    const ymin = bounds[2 * yy] - rowOffset;
    const ymax = bounds[2 * yy + 1];
    for (let xx = 0; xx < curW; xx++) {
      for (let c = 0; c < channels; c++) {
        let ss = half;
        for (let y = 0; y < ymax; y++) ss += cur[((y + ymin) * curW + xx) * channels + c] * weights[yy * ksize + y];
        out[(yy * outW + xx) * channels + c] = clip8(ss);
      }
    }
  }
  return out;
}

/** Pillow's horizontal pass over the rows [first, last) of `src`, to `outW` columns. */
function horizontalPass(
  src: Uint8Array,
  { width, channels }: ImageSize,
  outW: number,
  [yFirst, yLast]: readonly [number, number],
): Uint8Array {
  const half = 2 ** (PRECISION_BITS - 1);
  const rows = yLast - yFirst;
  const tmp = new Uint8Array(outW * rows * channels);
  const { bounds, ksize, weights } = bicubicCoefficients(width, outW);
  for (let y = 0; y < rows; y++) {
    const srcRow = (y + yFirst) * width * channels;
    for (let xx = 0; xx < outW; xx++) {
      const xmin = bounds[2 * xx];
      const xmax = bounds[2 * xx + 1];
      for (let c = 0; c < channels; c++) {
        let ss = half;
        for (let x = 0; x < xmax; x++) ss += src[srcRow + (x + xmin) * channels + c] * weights[xx * ksize + x];
        tmp[(y * outW + xx) * channels + c] = clip8(ss);
      }
    }
  }
  return tmp;
}

/**
 * transformers' `get_resize_output_image_size(size=shortest, default_to_square=False)`:
 * the short side becomes `shortest`, the long side int(shortest · long / short).
 */
export function shortestEdgeSize(width: number, height: number, shortest = CLIP_IMAGE_SIZE): [number, number] {
  checkInt('width', width, 1, 1 << 16);
  checkInt('height', height, 1, 1 << 16);
  checkInt('shortest', shortest, 1, 1 << 16);
  if (width <= height) return [shortest, Math.trunc((shortest * height) / width)];
  return [Math.trunc((shortest * width) / height), shortest];
}

/**
 * `CLIPImageProcessor()` on one image: `pixel_values` [3, crop, crop] float32. The alpha channel
 * is dropped (`image.convert("RGB")`).
 */
export function clipImagePreprocess(
  image: RGBA,
  opts: { size?: number; crop?: number; mean?: readonly number[]; std?: readonly number[] } = {},
): Float32Array {
  if (image === null || typeof image !== 'object' || !(image.data instanceof Uint8ClampedArray)) {
    throw new TypeError(`image must be an RGBA image { width, height, data }, got ${describe(image)}`);
  }
  const { width, height } = image;
  checkInt('image.width', width, 1, 1 << 16);
  checkInt('image.height', height, 1, 1 << 16);
  if (image.data.length !== width * height * 4)
    throw new RangeError(
      `image.data must have length width·height·4 = ${width * height * 4}, got ${image.data.length}`,
    );
  const size = checkInt('opts.size', opts.size ?? CLIP_IMAGE_SIZE, 1, 1 << 16);
  const crop = checkInt('opts.crop', opts.crop ?? CLIP_IMAGE_SIZE, 1, size);
  const mean = opts.mean ?? CLIP_IMAGE_MEAN;
  const std = opts.std ?? CLIP_IMAGE_STD;
  if (mean.length !== 3 || std.length !== 3 || std.some((s) => !(s > 0)) || mean.some((m) => !Number.isFinite(m))) {
    throw new RangeError('opts.mean and opts.std must hold 3 finite numbers, std > 0');
  }
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    rgb[3 * i] = image.data[4 * i];
    rgb[3 * i + 1] = image.data[4 * i + 1];
    rgb[3 * i + 2] = image.data[4 * i + 2];
  }
  const [w, h] = shortestEdgeSize(width, height, size);
  const resized = resizeBicubicPIL(rgb, { width, height, channels: 3 }, { width: w, height: h });
  // transformers `center_crop`: top = (h − crop) // 2, left = (w − crop) // 2.
  const top = Math.floor((h - crop) / 2);
  const left = Math.floor((w - crop) / 2);
  const out = new Float32Array(3 * crop * crop);
  const m = mean.map((v) => Math.fround(v));
  const s = std.map((v) => Math.fround(v));
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < crop; y++) {
      for (let x = 0; x < crop; x++) {
        // rescale: float64 product cast to float32; normalize in float32 ((x − mean) / std).
        const v = Math.fround(resized[((y + top) * w + x + left) * 3 + c] * (1 / 255));
        out[(c * crop + y) * crop + x] = Math.fround(Math.fround(v - m[c]) / s[c]);
      }
    }
  }
  return out;
}
