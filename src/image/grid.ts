/**
 * Image grids: rows × columns of cell images with optional captions, row/column labels and
 * labelled boxes (e.g. the layout boxes given to InteractDiffusion or MIGC).
 *
 * Layout (all integers, output pixels; `s` = cellScale, `p` = padding, `L` = lineHeight =
 * ceil(1.5·fontSize)):
 *   cellWidth  = s · max image width,  cellHeight = s · max image height
 *   slotHeight = cellHeight + (any cell has a label ? L : 0)      — caption band under the image
 *   originX    = p + (rowLabels ? rowLabelWidth + p : 0)
 *   originY    = p + (colLabels ? L + p : 0)
 *   cell (r, c) slot at (originX + c·(cellWidth + p), originY + r·(slotHeight + p));
 *   an image smaller than the slot is centred horizontally and top-aligned
 *   notesY = originY + rows·(slotHeight + p)                    — notes: wrapped at spaces to width − 2p, left-aligned
 *   width  = originX + columns·(cellWidth + p),  height = notesY + (notes ? lines·L + p : 0)
 * Boxes are given in pixels of the unscaled cell image, 0 ≤ x0 < x1 ≤ image width (same for y),
 * and drawn as the pixels of [round(s·x0), round(s·x1)) × [round(s·y0), round(s·y1)) that lie
 * within `lineWidth` of its border; a box label sits on a filled tab of the box colour in the
 * box's top-left corner.
 */
import * as PImage from 'pureimage';
import { hex, parseColor } from './color.ts';
import { drawText, fillRect, fitText, strokeRectInside, textContext } from './grid-draw.ts';
import { gridLayout, type GridBox, type GridCell, type GridLayout, type GridOptions } from './grid-layout.ts';
import { upscaleNearest, type RGBA } from './raster.ts';

export { parseColor } from './color.ts';
export {
  gridLayout,
  measureLabel,
  wrapText,
  type GridBox,
  type GridCell,
  type GridLayout,
  type GridOptions,
} from './grid-layout.ts';

/** Default box colours, cycled by box index. */
export const BOX_PALETTE: readonly string[] = [
  '#e6194b',
  '#3cb44b',
  '#4363d8',
  '#f58231',
  '#911eb4',
  '#42d4f4',
  '#f032e6',
  '#9a6324',
];

/** What drawing every part of a grid needs. */
interface GridCanvas {
  bm: PImage.Bitmap;
  ctx: PImage.Context;
  L: GridLayout;
  scale: number;
  padding: number;
  lw: number;
  textColor: string;
}

/** Renders the grid described by `opts` (layout in the module comment) to an opaque RGBA raster. */
export function makeGrid(opts: GridOptions): RGBA {
  const L = gridLayout(opts);
  const padding = opts.padding ?? 4;
  const bg = parseColor('background', opts.background ?? '#ffffff');
  const textColor = hex(parseColor('textColor', opts.textColor ?? '#000000'));
  const bm = PImage.make(L.width, L.height);
  fillRect(bm, 0, 0, L.width, L.height, bg);
  const ctx = textContext(bm, opts.fontSize ?? 12);
  const g: GridCanvas = { bm, ctx, L, scale: opts.cellScale ?? 1, padding, lw: opts.lineWidth ?? 2, textColor };

  opts.colLabels?.forEach((label, c) => {
    const x = L.originX + c * (L.cellWidth + padding);
    drawText(ctx, label, x + L.cellWidth / 2, padding + L.lineHeight / 2, L.cellWidth, 'center', textColor);
  });
  opts.rowLabels?.forEach((label, r) => {
    const y = L.originY + r * (L.slotHeight + padding);
    drawText(ctx, label, padding, y + L.cellHeight / 2, L.rowLabelWidth, 'left', textColor);
  });
  opts.cells.forEach((row, r) =>
    row.forEach((cell, c) => {
      if (cell) drawCell(g, cell, r, c);
    }),
  );
  L.noteLines.forEach((line, i) => {
    drawText(ctx, line, padding, L.notesY + (i + 0.5) * L.lineHeight, L.width - 2 * padding, 'left', textColor);
  });
  return { width: L.width, height: L.height, data: new Uint8ClampedArray(bm.data) };
}

/** Cell (r, c): its image, its boxes and its caption. */
function drawCell(g: GridCanvas, cell: GridCell, r: number, c: number): void {
  const { bm, ctx, L, scale, padding } = g;
  const img = scale === 1 ? cell.image : upscaleNearest(cell.image, scale);
  const sx = L.originX + c * (L.cellWidth + padding) + Math.floor((L.cellWidth - img.width) / 2);
  const sy = L.originY + r * (L.slotHeight + padding);
  for (let y = 0; y < img.height; y++) {
    const from = y * img.width * 4;
    bm.data.set(img.data.subarray(from, from + img.width * 4), ((sy + y) * L.width + sx) * 4);
  }
  cell.boxes?.forEach((box, k) => drawBox(g, box, k, sx, sy));
  if (cell.label !== undefined) {
    const x = L.originX + c * (L.cellWidth + padding);
    drawText(
      ctx,
      cell.label,
      x + L.cellWidth / 2,
      sy + L.cellHeight + L.lineHeight / 2,
      L.cellWidth,
      'center',
      g.textColor,
    );
  }
}

/** Box k of a cell whose image starts at (sx, sy): its outline and its label on a tab. */
function drawBox(g: GridCanvas, box: GridBox, k: number, sx: number, sy: number): void {
  const { bm, ctx, L, scale } = g;
  const rgb =
    box.color !== undefined ? parseColor('color', box.color) : parseColor('color', BOX_PALETTE[k % BOX_PALETTE.length]);
  const X0 = sx + Math.round(box.x0 * scale);
  const X1 = sx + Math.round(box.x1 * scale);
  const Y0 = sy + Math.round(box.y0 * scale);
  const Y1 = sy + Math.round(box.y1 * scale);
  strokeRectInside(bm, X0, Y0, X1, Y1, g.lw, rgb);
  if (!box.label) return;
  const t = fitText(ctx, box.label, X1 - X0 - 4);
  if (t === '') return;
  const tabW = Math.min(X1 - X0, Math.ceil(ctx.measureText(t).width) + 4);
  const tabH = Math.min(Y1 - Y0, L.lineHeight);
  fillRect(bm, X0, Y0, X0 + tabW, Y0 + tabH, rgb);
  // Black or white text, whichever contrasts with the tab (Rec. 601 luma).
  const luma = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2];
  drawText(ctx, t, X0 + 2, Y0 + tabH / 2, tabW - 4, 'left', luma > 140 ? '#000000' : '#ffffff');
}
