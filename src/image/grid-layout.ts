/** The options of an image grid (grid.ts), checked, and its exact layout (see grid.ts's module comment). */
import * as PImage from 'pureimage';
import { describe } from '../core/validate.ts';
import { parseColor } from './color.ts';
import { textContext } from './grid-draw.ts';
import { checkRGBA, type RGBA } from './raster.ts';

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
  /** Paragraphs of text under the grid (what the rows, frames and colours mean); each is wrapped at spaces to the grid's width (a single word wider than it is shortened with '…'). */
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
  /** The notes wrapped to the grid's width: one entry per drawn line. */
  noteLines: string[];
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

/** Width in pixels of `text` in the label font at `fontSize`. */
export function measureLabel(text: string, fontSize = 12): number {
  if (typeof text !== 'string') throw new TypeError(`text must be a string, got ${describe(text)}`);
  checkIntIn('fontSize', fontSize, 6, 96);
  return textContext(measureBitmap(), fontSize).measureText(text).width;
}

/**
 * `text` broken at spaces into lines no wider than `maxWidth` pixels at `fontSize` (a word wider
 * than that stays on a line of its own); '' gives one empty line.
 */
export function wrapText(text: string, maxWidth: number, fontSize = 12): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    const next = line === '' ? word : `${line} ${word}`;
    if (line !== '' && measureLabel(next, fontSize) > maxWidth) {
      lines.push(line);
      line = word;
    } else line = next;
  }
  lines.push(line);
  return lines;
}

let scratch: PImage.Bitmap | undefined;
function measureBitmap(): PImage.Bitmap {
  return (scratch ??= PImage.make(1, 1));
}

/** Checks every option of `opts`; returns the grid's rows, columns and font size. */
function checkGridOptions(opts: GridOptions): { rows: number; columns: number; fontSize: number } {
  if (typeof opts !== 'object' || opts === null) throw new TypeError(`opts must be an object, got ${describe(opts)}`);
  const { rows, columns } = checkCells(opts.cells);
  checkIntIn('cellScale', opts.cellScale ?? 1, 1, 64);
  checkIntIn('padding', opts.padding ?? 4, 0, 256);
  const fontSize = checkIntIn('fontSize', opts.fontSize ?? 12, 6, 96);
  checkIntIn('lineWidth', opts.lineWidth ?? 2, 1, 32);
  if (opts.rowLabels !== undefined) checkLabels('rowLabels', opts.rowLabels, rows, 'row');
  if (opts.colLabels !== undefined) checkLabels('colLabels', opts.colLabels, columns, 'column');
  if (opts.notes !== undefined && (!Array.isArray(opts.notes) || opts.notes.some((n) => typeof n !== 'string'))) {
    throw new TypeError(`notes must be an array of strings, got ${describe(opts.notes)}`);
  }
  if (opts.background !== undefined) parseColor('background', opts.background);
  if (opts.textColor !== undefined) parseColor('textColor', opts.textColor);
  return { rows, columns, fontSize };
}

/** Validates `opts` and computes the grid's exact layout (see the module comment of grid.ts). */
export function gridLayout(opts: GridOptions): GridLayout {
  const { rows, columns, fontSize } = checkGridOptions(opts);
  const scale = opts.cellScale ?? 1;
  const padding = opts.padding ?? 4;
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
  const noteLines = (opts.notes ?? []).flatMap((n) => wrapText(n, width - 2 * padding, fontSize));
  const height = notesY + (noteLines.length > 0 ? noteLines.length * lineHeight + padding : 0);
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
    noteLines,
  };
}
