/** MIGC's guidance and supplement masks (migc.ts), drawn at image resolution and resized as PyTorch does. */
import { checkFloat32, checkInt } from '../../core/validate.ts';
import { checkBoxes, type Box } from './boxes.ts';

/** Pixels per latent cell (SD's VAE factor): the masks are drawn at 8h × 8w. */
export const VAE_FACTOR = 8;

/**
 * Bilinear resize of `channels` planes [inH, inW] → [outH, outW] as PyTorch's
 * `F.interpolate(mode='bilinear', align_corners=False)` without antialias: output pixel d reads
 * source coordinate max(0, (in/out)·(d + ½) − ½) and interpolates its two neighbours.
 */
export function resizeBilinear(
  src: Float32Array,
  channels: number,
  inH: number,
  inW: number,
  outH: number,
  outW: number,
): Float32Array {
  for (const [k, v] of Object.entries({ channels, inH, inW, outH, outW })) checkInt(k, v, 1, 1 << 16);
  checkFloat32('src', src, channels * inH * inW);
  const axis = (inSize: number, outSize: number) => {
    const scale = inSize / outSize;
    const i0 = new Int32Array(outSize);
    const i1 = new Int32Array(outSize);
    const l1 = new Float64Array(outSize);
    for (let d = 0; d < outSize; d++) {
      const s = Math.max(0, scale * (d + 0.5) - 0.5);
      const f = Math.floor(s);
      i0[d] = f;
      i1[d] = f < inSize - 1 ? f + 1 : f;
      l1[d] = s - f;
    }
    return { i0, i1, l1 };
  };
  const ys = axis(inH, outH);
  const xs = axis(inW, outW);
  const out = new Float32Array(channels * outH * outW);
  for (let c = 0; c < channels; c++) {
    const base = c * inH * inW;
    for (let y = 0; y < outH; y++) {
      const r0 = base + ys.i0[y] * inW;
      const r1 = base + ys.i1[y] * inW;
      const wy = ys.l1[y];
      for (let x = 0; x < outW; x++) {
        const wx = xs.l1[x];
        const a = src[r0 + xs.i0[x]] * (1 - wx) + src[r0 + xs.i1[x]] * wx;
        const b = src[r1 + xs.i0[x]] * (1 - wx) + src[r1 + xs.i1[x]] * wx;
        out[(c * outH + y) * outW + x] = a * (1 - wy) + b * wy;
      }
    }
  }
  return out;
}

/**
 * MIGC's guidance masks (sources M§4.4): per box a mask at image resolution
 * [imageH, imageW] with the rows int(imageH·y0) … int(imageH·y1) − 1 and columns
 * int(imageW·x0) … int(imageW·x1) − 1 set to 1 (Python `int` truncation), the supplement
 * 1 − clip(Σ masks, 0, 1), then both resized bilinearly to [latentH, latentW].
 */
export function migcMasks(
  boxes: readonly Box[],
  latentSize: readonly [number, number],
  imageSize: readonly [number, number] = [latentSize[0] * VAE_FACTOR, latentSize[1] * VAE_FACTOR],
): { guidance: Float32Array; supplement: Float32Array } {
  const b = checkBoxes('boxes', boxes);
  const [h, w] = latentSize;
  const [H, W] = imageSize;
  checkInt('latentSize[0]', h, 1, 1 << 14);
  checkInt('latentSize[1]', w, 1, 1 << 14);
  checkInt('imageSize[0]', H, 1, 1 << 16);
  checkInt('imageSize[1]', W, 1, 1 << 16);
  const n = b.length;
  const full = new Float32Array(n * H * W);
  const cover = new Uint8Array(H * W);
  b.forEach(([x0, y0, x1, y1], k) => {
    const r0 = Math.trunc(H * y0);
    const r1 = Math.trunc(H * y1);
    const c0 = Math.trunc(W * x0);
    const c1 = Math.trunc(W * x1);
    for (let r = r0; r < r1; r++) {
      for (let c = c0; c < c1; c++) {
        full[(k * H + r) * W + c] = 1;
        cover[r * W + c] = 1;
      }
    }
  });
  const supplementFull = new Float32Array(H * W);
  for (let i = 0; i < H * W; i++) supplementFull[i] = 1 - cover[i];
  return {
    guidance: n === 0 ? new Float32Array(0) : resizeBilinear(full, n, H, W, h, w),
    supplement: resizeBilinear(supplementFull, 1, H, W, h, w),
  };
}
