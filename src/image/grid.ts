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
 *   notesY = originY + rows·(slotHeight + p)                    — notes: one line each, left-aligned
 *   width  = originX + columns·(cellWidth + p),  height = notesY + (notes ? n·L + p : 0)
 * Boxes are given in pixels of the unscaled cell image, 0 ≤ x0 < x1 ≤ image width (same for y),
 * and drawn as the pixels of [round(s·x0), round(s·x1)) × [round(s·y0), round(s·y1)) that lie
 * within `lineWidth` of its border; a box label sits on a filled tab of the box colour in the
 * box's top-left corner.
 */
import * as PImage from 'pureimage';
import { describe } from '../core/validate.ts';
import { ensureLabelFont } from './font.ts';
import { checkRGBA, upscaleNearest, type RGBA } from './raster.ts';

export interface GridBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  label?: string;
  /** '#rgb', '#rrggbb' or a basic CSS colour name; default: a fixed palette by box index. */
  color?: string;
}

export interface GridCell {
  image: RGBA;
  /** Caption drawn under the image. */
  label?: string;
  boxes?: readonly GridBox[];
}

export interface GridOptions {
  /** Rows of cells; every row has the same length; `null` leaves a slot empty. */
  cells: readonly (readonly (GridCell | null)[])[];
  rowLabels?: readonly string[];
  colLabels?: readonly string[];
  /** Integer nearest-neighbour upscaling of every cell image, 1–64; default 1. */
  cellScale?: number;
  /** Integer gap between cells and around the border, 0–256; default 4. */
  padding?: number;
  /** Integer text size in pixels, 6–96; default 12. */
  fontSize?: number;
  /** Integer box outline thickness in output pixels, 1–32; default 2. */
  lineWidth?: number;
  /** Integer width of the row-label column, 1–4096; default: the widest row label's width. */
  rowLabelWidth?: number;
  /** Background colour; default white. */
  background?: string;
  /** Text colour for captions and row/column labels; default black. */
  textColor?: string;
  /** Lines of text under the grid (what the rows, frames and colours mean); shortened with '…' to the grid's width. */
  notes?: readonly string[];
}

export interface GridLayout {
  width: number;
  height: number;
  rows: number;
  columns: number;
  cellWidth: number;
  cellHeight: number;
  slotHeight: number;
  lineHeight: number;
  originX: number;
  originY: number;
  rowLabelWidth: number;
  /** Top of the first note line. */
  notesY: number;
}

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

const NAMED: Record<string, readonly [number, number, number]> = {
  black: [0, 0, 0],
  white: [255, 255, 255],
  red: [255, 0, 0],
  green: [0, 128, 0],
  lime: [0, 255, 0],
  blue: [0, 0, 255],
  yellow: [255, 255, 0],
  orange: [255, 165, 0],
  purple: [128, 0, 128],
  magenta: [255, 0, 255],
  cyan: [0, 255, 255],
  gray: [128, 128, 128],
  grey: [128, 128, 128],
};

/** Parses '#rgb', '#rrggbb' or a basic colour name to [r, g, b]; throws naming the parameter. */
export function parseColor(name: string, v: unknown): [number, number, number] {
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (/^#[0-9a-f]{3}$/.test(s)) return [1, 2, 3].map((i) => parseInt(s[i] + s[i], 16)) as [number, number, number];
    if (/^#[0-9a-f]{6}$/.test(s))
      return [1, 3, 5].map((i) => parseInt(s.slice(i, i + 2), 16)) as [number, number, number];
    const named = NAMED[s];
    if (named) return [named[0], named[1], named[2]];
  }
  throw new RangeError(
    `${name} must be '#rgb', '#rrggbb' or one of ${Object.keys(NAMED).join(', ')}, got ${describe(v)}`,
  );
}

function checkIntIn(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw new TypeError(`${name} must be an integer in [${min}, ${max}], got ${describe(v)}`);
  if (v < min || v > max) throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${v}`);
  return v;
}

function checkLabels(name: string, v: unknown, n: number, what: string): readonly string[] {
  if (!Array.isArray(v)) throw new TypeError(`${name} must be an array of strings, got ${describe(v)}`);
  if (v.length !== n) throw new RangeError(`${name} must have one label per ${what} (${n}), got ${v.length}`);
  v.forEach((s, i) => {
    if (typeof s !== 'string') throw new TypeError(`${name}[${i}] must be a string, got ${describe(s)}`);
  });
  return v as readonly string[];
}

function checkBox(name: string, b: unknown, img: RGBA): GridBox {
  if (typeof b !== 'object' || b === null)
    throw new TypeError(`${name} must be a box { x0, y0, x1, y1 }, got ${describe(b)}`);
  const box = b as GridBox;
  for (const [k, max] of [
    ['x0', img.width],
    ['x1', img.width],
    ['y0', img.height],
    ['y1', img.height],
  ] as const) {
    const v = box[k];
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new TypeError(`${name}.${k} must be a finite number in [0, ${max}], got ${describe(v)}`);
    if (v < 0 || v > max)
      throw new RangeError(`${name}.${k} must be in [0, ${max}] (pixels of the cell image), got ${v}`);
  }
  if (!(box.x0 < box.x1)) throw new RangeError(`${name} must have x0 < x1, got x0 = ${box.x0}, x1 = ${box.x1}`);
  if (!(box.y0 < box.y1)) throw new RangeError(`${name} must have y0 < y1, got y0 = ${box.y0}, y1 = ${box.y1}`);
  if (box.label !== undefined && typeof box.label !== 'string')
    throw new TypeError(`${name}.label must be a string, got ${describe(box.label)}`);
  if (box.color !== undefined) parseColor(`${name}.color`, box.color);
  return box;
}

function checkCells(cells: unknown): { rows: number; columns: number } {
  if (!Array.isArray(cells) || cells.length === 0)
    throw new TypeError(`cells must be a non-empty array of rows, got ${describe(cells)}`);
  const columns = Array.isArray(cells[0]) ? cells[0].length : 0;
  cells.forEach((row: unknown, r) => {
    if (!Array.isArray(row) || row.length === 0)
      throw new TypeError(`cells[${r}] must be a non-empty array of cells, got ${describe(row)}`);
    if (row.length !== columns)
      throw new RangeError(`cells[${r}] must have ${columns} cells like cells[0], got ${row.length}`);
    row.forEach((cell: unknown, c) => {
      const name = `cells[${r}][${c}]`;
      if (cell === null) return;
      if (typeof cell !== 'object')
        throw new TypeError(`${name} must be { image, label?, boxes? } or null, got ${describe(cell)}`);
      const { image, label, boxes } = cell as GridCell;
      checkRGBA(`${name}.image`, image);
      if (label !== undefined && typeof label !== 'string')
        throw new TypeError(`${name}.label must be a string, got ${describe(label)}`);
      if (boxes !== undefined) {
        if (!Array.isArray(boxes)) throw new TypeError(`${name}.boxes must be an array, got ${describe(boxes)}`);
        boxes.forEach((b, k) => checkBox(`${name}.boxes[${k}]`, b, image));
      }
    });
  });
  return { rows: cells.length, columns };
}

function textContext(bitmap: PImage.Bitmap, fontSize: number): PImage.Context {
  const ctx = bitmap.getContext('2d');
  ctx.font = `${fontSize}px ${ensureLabelFont()}`;
  return ctx;
}

/** Width in pixels of `text` in the label font at `fontSize`. */
export function measureLabel(text: string, fontSize = 12): number {
  if (typeof text !== 'string') throw new TypeError(`text must be a string, got ${describe(text)}`);
  checkIntIn('fontSize', fontSize, 6, 96);
  return textContext(measureBitmap(), fontSize).measureText(text).width;
}

let scratch: PImage.Bitmap | undefined;
function measureBitmap(): PImage.Bitmap {
  return (scratch ??= PImage.make(1, 1));
}

/** Validates `opts` and computes the grid's exact layout (see the module comment). */
export function gridLayout(opts: GridOptions): GridLayout {
  if (typeof opts !== 'object' || opts === null) throw new TypeError(`opts must be an object, got ${describe(opts)}`);
  const { rows, columns } = checkCells(opts.cells);
  const scale = checkIntIn('cellScale', opts.cellScale ?? 1, 1, 64);
  const padding = checkIntIn('padding', opts.padding ?? 4, 0, 256);
  const fontSize = checkIntIn('fontSize', opts.fontSize ?? 12, 6, 96);
  checkIntIn('lineWidth', opts.lineWidth ?? 2, 1, 32);
  if (opts.rowLabels !== undefined) checkLabels('rowLabels', opts.rowLabels, rows, 'row');
  if (opts.colLabels !== undefined) checkLabels('colLabels', opts.colLabels, columns, 'column');
  if (opts.notes !== undefined && (!Array.isArray(opts.notes) || opts.notes.some((n) => typeof n !== 'string'))) {
    throw new TypeError(`notes must be an array of strings, got ${describe(opts.notes)}`);
  }
  if (opts.background !== undefined) parseColor('background', opts.background);
  if (opts.textColor !== undefined) parseColor('textColor', opts.textColor);
  const lineHeight = Math.ceil(1.5 * fontSize);
  let maxW = 0;
  let maxH = 0;
  let captions = false;
  for (const row of opts.cells) {
    for (const cell of row) {
      if (!cell) continue;
      maxW = Math.max(maxW, cell.image.width);
      maxH = Math.max(maxH, cell.image.height);
      if (cell.label !== undefined) captions = true;
    }
  }
  if (maxW === 0) throw new RangeError('cells must contain at least one non-null cell');
  let rowLabelWidth = 0;
  if (opts.rowLabels !== undefined) {
    rowLabelWidth =
      opts.rowLabelWidth !== undefined
        ? checkIntIn('rowLabelWidth', opts.rowLabelWidth, 1, 4096)
        : Math.max(1, Math.ceil(Math.max(...opts.rowLabels.map((l) => measureLabel(l, fontSize)))));
  } else if (opts.rowLabelWidth !== undefined) {
    throw new RangeError('rowLabelWidth needs rowLabels');
  }
  const cellWidth = maxW * scale;
  const cellHeight = maxH * scale;
  const slotHeight = cellHeight + (captions ? lineHeight : 0);
  const originX = padding + (opts.rowLabels ? rowLabelWidth + padding : 0);
  const originY = padding + (opts.colLabels ? lineHeight + padding : 0);
  const width = originX + columns * (cellWidth + padding);
  const notesY = originY + rows * (slotHeight + padding);
  const notes = opts.notes?.length ?? 0;
  const height = notesY + (notes > 0 ? notes * lineHeight + padding : 0);
  if (width * height > 1 << 26)
    throw new RangeError(`the grid would have ${width}×${height} pixels; at most 2^26 are allowed`);
  return {
    width,
    height,
    rows,
    columns,
    cellWidth,
    cellHeight,
    slotHeight,
    lineHeight,
    originX,
    originY,
    rowLabelWidth,
    notesY,
  };
}

function hex([r, g, b]: readonly number[]): string {
  return `#${[r, g, b].map((v) => v.toString(16).padStart(2, '0')).join('')}`;
}

/** Shortens `text` with '…' until it fits `maxWidth` pixels ('' if nothing fits). */
function fitText(ctx: PImage.Context, text: string, maxWidth: number): string {
  if (ctx.measureText(text).width <= maxWidth) return text;
  for (let n = text.length - 1; n > 0; n--) {
    const t = `${text.slice(0, n)}…`;
    if (ctx.measureText(t).width <= maxWidth) return t;
  }
  return '';
}

function fillRect(bm: PImage.Bitmap, x0: number, y0: number, x1: number, y1: number, rgb: readonly number[]): void {
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
function strokeRectInside(
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

function drawText(
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

/** Renders the grid described by `opts` (layout in the module comment) to an opaque RGBA raster. */
export function makeGrid(opts: GridOptions): RGBA {
  const L = gridLayout(opts);
  const scale = opts.cellScale ?? 1;
  const padding = opts.padding ?? 4;
  const fontSize = opts.fontSize ?? 12;
  const lw = opts.lineWidth ?? 2;
  const bg = parseColor('background', opts.background ?? '#ffffff');
  const textColor = hex(parseColor('textColor', opts.textColor ?? '#000000'));
  const bm = PImage.make(L.width, L.height);
  fillRect(bm, 0, 0, L.width, L.height, bg);
  const ctx = textContext(bm, fontSize);

  opts.colLabels?.forEach((label, c) => {
    const x = L.originX + c * (L.cellWidth + padding);
    drawText(ctx, label, x + L.cellWidth / 2, padding + L.lineHeight / 2, L.cellWidth, 'center', textColor);
  });
  opts.rowLabels?.forEach((label, r) => {
    const y = L.originY + r * (L.slotHeight + padding);
    drawText(ctx, label, padding, y + L.cellHeight / 2, L.rowLabelWidth, 'left', textColor);
  });

  opts.cells.forEach((row, r) => {
    row.forEach((cell, c) => {
      if (!cell) return;
      const img = scale === 1 ? cell.image : upscaleNearest(cell.image, scale);
      const sx = L.originX + c * (L.cellWidth + padding) + Math.floor((L.cellWidth - img.width) / 2);
      const sy = L.originY + r * (L.slotHeight + padding);
      for (let y = 0; y < img.height; y++) {
        const from = y * img.width * 4;
        bm.data.set(img.data.subarray(from, from + img.width * 4), ((sy + y) * L.width + sx) * 4);
      }
      cell.boxes?.forEach((box, k) => {
        const rgb =
          box.color !== undefined
            ? parseColor('color', box.color)
            : parseColor('color', BOX_PALETTE[k % BOX_PALETTE.length]);
        const X0 = sx + Math.round(box.x0 * scale);
        const X1 = sx + Math.round(box.x1 * scale);
        const Y0 = sy + Math.round(box.y0 * scale);
        const Y1 = sy + Math.round(box.y1 * scale);
        strokeRectInside(bm, X0, Y0, X1, Y1, lw, rgb);
        if (box.label) {
          const t = fitText(ctx, box.label, X1 - X0 - 4);
          if (t === '') return;
          const tabW = Math.min(X1 - X0, Math.ceil(ctx.measureText(t).width) + 4);
          const tabH = Math.min(Y1 - Y0, L.lineHeight);
          fillRect(bm, X0, Y0, X0 + tabW, Y0 + tabH, rgb);
          // Black or white text, whichever contrasts with the tab (Rec. 601 luma).
          const luma = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2];
          drawText(ctx, t, X0 + 2, Y0 + tabH / 2, tabW - 4, 'left', luma > 140 ? '#000000' : '#ffffff');
        }
      });
      if (cell.label !== undefined) {
        const x = L.originX + c * (L.cellWidth + padding);
        drawText(
          ctx,
          cell.label,
          x + L.cellWidth / 2,
          sy + L.cellHeight + L.lineHeight / 2,
          L.cellWidth,
          'center',
          textColor,
        );
      }
    });
  });
  opts.notes?.forEach((line, i) => {
    drawText(ctx, line, padding, L.notesY + (i + 0.5) * L.lineHeight, L.width - 2 * padding, 'left', textColor);
  });
  return { width: L.width, height: L.height, data: new Uint8ClampedArray(bm.data) };
}
