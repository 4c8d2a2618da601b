/** Shapes images on canvases: a C×H×W image in [−1, 1], upscaled, with the prompt's boxes dashed. */
import { latentToRGBA } from '../../src/image/raster.ts';
import type { ShapesPrompt } from '../../src/toy/shapes/prompts.ts';
import { WORLD } from './settings.ts';

/** Sizes `canvas` to the upscaled image and draws it, then the prompt's boxes when given. */
export function paintImage(canvas: HTMLCanvasElement, image: Float32Array, scale: number, boxesOf?: ShapesPrompt): CanvasRenderingContext2D {
  const rgba = latentToRGBA(image, 3, WORLD.height, WORLD.width, { scale });
  if (canvas.width !== rgba.width) canvas.width = rgba.width;
  if (canvas.height !== rgba.height) canvas.height = rgba.height;
  const ctx = canvas.getContext('2d')!;
  ctx.putImageData(new ImageData(rgba.data as Uint8ClampedArray<ArrayBuffer>, rgba.width, rgba.height), 0, 0);
  if (boxesOf) {
    ctx.strokeStyle = 'rgba(255,255,255,0.55)';
    ctx.setLineDash([3, 3]);
    for (const i of boxesOf.instances) {
      ctx.strokeRect(i.box[0] * scale + 0.5, i.box[1] * scale + 0.5, (i.box[2] - i.box[0]) * scale - 1, (i.box[3] - i.box[1]) * scale - 1);
    }
    ctx.setLineDash([]);
  }
  return ctx;
}
