/** Drawing on a grid's bitmap (grid.ts): filled and outlined rectangles, and text fitted to a width. */
import * as PImage from 'pureimage';
import { ensureLabelFont } from './font.ts';

/** A 2D context on `bitmap` with the label font at `fontSize`. */
export function textContext(bitmap: PImage.Bitmap, fontSize: number): PImage.Context {
  const ctx = bitmap.getContext('2d');
  ctx.font = `${fontSize}px ${ensureLabelFont()}`;
  return ctx;
}

/** Shortens `text` with '…' until it fits `maxWidth` pixels ('' if nothing fits). */
export function fitText(ctx: PImage.Context, text: string, maxWidth: number): string {
  if (ctx.measureText(text).width <= maxWidth) return text;
  for (let n = text.length - 1; n > 0; n--) {
    const t = `${text.slice(0, n)}…`;
    if (ctx.measureText(t).width <= maxWidth) return t;
  }
  return '';
}

export function fillRect(
  bm: PImage.Bitmap,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
  rgb: readonly number[],
): void {
  const d = bm.data;
  for (let y = Math.max(0, y0); y < Math.min(bm.height, y1); y++) {
    for (let x = Math.max(0, x0); x < Math.min(bm.width, x1); x++) {
      const i = (y * bm.width + x) * 4;
      d[i] = rgb[0];
      d[i + 1] = rgb[1];
      d[i + 2] = rgb[2];
      d[i + 3] = 255;
    }
  }
}

/** Draws the outline of [x0, x1) × [y0, y1), `lw` pixels thick, inside that rectangle. */
export function strokeRectInside(
  bm: PImage.Bitmap,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
  lw: number,
  rgb: readonly number[],
): void {
  fillRect(bm, x0, y0, x1, Math.min(y1, y0 + lw), rgb);
  fillRect(bm, x0, Math.max(y0, y1 - lw), x1, y1, rgb);
  fillRect(bm, x0, y0, Math.min(x1, x0 + lw), y1, rgb);
  fillRect(bm, Math.max(x0, x1 - lw), y0, x1, y1, rgb);
}

export function drawText(
  ctx: PImage.Context,
  text: string,
  x: number,
  yMiddle: number,
  maxWidth: number,
  align: 'left' | 'center',
  color: string,
): void {
  const t = fitText(ctx, text, maxWidth);
  if (t === '') return;
  ctx.fillStyle = color;
  ctx.textAlign = align;
  ctx.textBaseline = 'middle';
  ctx.fillText(t, x, yMiddle);
}
