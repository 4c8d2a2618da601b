/** Images on canvases, upscaled, with boxes dashed: Shapes images in [−1, 1], mini-zoo rasters and renders. */
import { latentToRGBA, upscaleNearest, type RGBA } from '../../src/image/raster.ts';
import type { ShapesPrompt } from '../../src/toy/shapes/prompts.ts';
import type { Box } from '../../src/toy/minimig/index.ts';
import { WORLD } from './settings.ts';

/** [x0, y0, x1, y1) in image pixels. */
export type Rect = readonly [number, number, number, number];

/** Sizes `canvas` to `rgba` upscaled by `scale`, draws it, then `boxes` dashed. */
export function paintRGBA(
  canvas: HTMLCanvasElement,
  rgba: RGBA,
  scale: number,
  boxes: readonly Rect[] = [],
): CanvasRenderingContext2D {
  const big = scale === 1 ? rgba : upscaleNearest(rgba, scale);
  if (canvas.width !== big.width) canvas.width = big.width;
  if (canvas.height !== big.height) canvas.height = big.height;
  const ctx = canvas.getContext('2d')!;
  ctx.putImageData(new ImageData(big.data as Uint8ClampedArray<ArrayBuffer>, big.width, big.height), 0, 0);
  if (boxes.length) {
    ctx.strokeStyle = 'rgba(255,255,255,0.55)';
    ctx.setLineDash([3, 3]);
    for (const b of boxes)
      ctx.strokeRect(b[0] * scale + 0.5, b[1] * scale + 0.5, (b[2] - b[0]) * scale - 1, (b[3] - b[1]) * scale - 1);
    ctx.setLineDash([]);
  }
  return ctx;
}

/** A Shapes image (C×H×W in [−1, 1]), upscaled, with the prompt's boxes dashed when given. */
export function paintImage(
  canvas: HTMLCanvasElement,
  image: Float32Array,
  scale: number,
  boxesOf?: ShapesPrompt,
): CanvasRenderingContext2D {
  return paintRGBA(
    canvas,
    latentToRGBA(image, 3, WORLD.height, WORLD.width),
    scale,
    boxesOf?.instances.map((i) => i.box) ?? [],
  );
}

/** A MiniMIG render (channel-major bytes, 3×32×32) as RGBA. */
export function renderBytesToRGBA(bytes: Uint8Array, side: number): RGBA {
  return latentToRGBA(Float32Array.from(bytes), 3, side, side, { range: [0, 255] });
}

/** A MiniMIG box as a rectangle. */
export function boxRect(b: Box): Rect {
  return [b.x, b.y, b.x + b.size, b.y + b.size];
}
