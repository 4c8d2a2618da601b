import { describe, expect, it } from 'vitest';
import { gridLayout, makeGrid, measureLabel, parseColor, wrapText, type GridOptions } from '../../src/image/grid.ts';
import { makeRGBA, type RGBA } from '../../src/image/raster.ts';

const grey = (w: number, h: number) => makeRGBA(w, h, [128, 128, 128, 255]);
const px = (img: RGBA, x: number, y: number) =>
  Array.from(img.data.subarray((y * img.width + x) * 4, (y * img.width + x) * 4 + 4));
const WHITE = [255, 255, 255, 255];

/** Number of pixels in [x0, x1) × [y0, y1) that differ between two equally sized rasters. */
function diffCount(a: RGBA, b: RGBA, x0 = 0, y0 = 0, x1 = a.width, y1 = a.height): number {
  let n = 0;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (px(a, x, y).some((v, k) => v !== px(b, x, y)[k])) n++;
  return n;
}

function cells(rows: number, cols: number, w: number, h: number, label?: string): GridOptions['cells'] {
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => ({ image: grey(w, h), label })));
}

describe('grid layout', () => {
  it('has exact dimensions for rows, columns, scale and padding', () => {
    // width = p + cols·(s·w + p), height = p + rows·(s·h + p)
    const g = makeGrid({ cells: cells(2, 3, 5, 4), cellScale: 3, padding: 2 });
    expect([g.width, g.height]).toEqual([2 + 3 * (15 + 2), 2 + 2 * (12 + 2)]);
    expect(g.data.length).toBe(g.width * g.height * 4);
    const g0 = makeGrid({ cells: cells(1, 1, 7, 3), padding: 0 });
    expect([g0.width, g0.height]).toEqual([7, 3]);
  });

  it('adds label bands of ceil(1.5·fontSize) and the row-label column', () => {
    const L = 15; // fontSize 10
    const base = { cells: cells(2, 2, 6, 6), cellScale: 2, padding: 3, fontSize: 10 };
    const plain = gridLayout(base);
    expect([plain.width, plain.height]).toEqual([3 + 2 * 15, 3 + 2 * 15]);
    const cols = gridLayout({ ...base, colLabels: ['a', 'b'] });
    expect([cols.width, cols.height]).toEqual([plain.width, plain.height + L + 3]);
    const rows = gridLayout({ ...base, rowLabels: ['r1', 'r2'], rowLabelWidth: 20 });
    expect([rows.width, rows.height]).toEqual([plain.width + 20 + 3, plain.height]);
    const captions = gridLayout({ ...base, cells: cells(2, 2, 6, 6, 'x') });
    expect(captions.height).toBe(plain.height + 2 * L);
    const measured = gridLayout({ ...base, rowLabels: ['short', 'a longer row label'] });
    expect(measured.rowLabelWidth).toBe(Math.ceil(measureLabel('a longer row label', 10)));
    const g = makeGrid({
      ...base,
      rowLabels: ['r1', 'r2'],
      rowLabelWidth: 20,
      colLabels: ['a', 'b'],
      cells: cells(2, 2, 6, 6, 'x'),
    });
    expect([g.width, g.height]).toEqual([plain.width + 23, plain.height + L + 3 + 2 * L]);
    const noted = gridLayout({ ...base, notes: ['one', 'two'] });
    expect([noted.width, noted.height, noted.notesY]).toEqual([plain.width, plain.height + 2 * L + 3, plain.height]);
    expect(() => gridLayout({ ...base, notes: 'one' as unknown as string[] })).toThrow(
      /notes must be an array of strings, got/,
    );
  });

  it('wraps a note wider than a narrow grid onto more lines, losing no word', () => {
    const base = { cells: cells(1, 1, 8, 8), cellScale: 4, padding: 2, fontSize: 12 };
    const note = 'the row marked "map best" uses lerp, w = 0.9, η = 0, s = 40: the best cell of the map';
    const L = gridLayout({ ...base, notes: [note, 'short'] });
    expect(L.noteLines.length).toBeGreaterThan(3);
    expect(L.noteLines.at(-1)).toBe('short');
    expect(L.noteLines.slice(0, -1).join(' ')).toBe(note);
    for (const line of L.noteLines.slice(0, -1))
      if (line.includes(' ')) expect(measureLabel(line, 12)).toBeLessThanOrEqual(L.width - 4);
    expect(L.height).toBe(L.notesY + L.noteLines.length * L.lineHeight + 2);
    expect(wrapText('', 10)).toEqual(['']);
    expect(wrapText('a b', 1000)).toEqual(['a b']);
    expect(wrapText('unbreakable', 1)).toEqual(['unbreakable']);
  });

  it('draws the notes under the grid, in the text colour', () => {
    const base = { cells: cells(1, 4, 6, 6), cellScale: 4, padding: 2, fontSize: 12 };
    const g = makeGrid({ ...base, notes: ['frames: boxes'] });
    const L = gridLayout({ ...base, notes: ['frames: boxes'] });
    let dark = 0;
    for (let y = L.notesY; y < g.height; y++) for (let x = 0; x < g.width; x++) if (px(g, x, y)[0] < 128) dark++;
    expect(dark).toBeGreaterThan(20);
  });

  it('the Shapes grid\'s label size keeps the crossbar of "A" (11 px drew "Λ")', async () => {
    const { SHAPES_GRID_FONT_SIZE } = await import('../../src/image/shapes-grid.ts');
    const white = { width: 24, height: 24, data: new Uint8ClampedArray(24 * 24 * 4).fill(255) };
    const g = makeGrid({ cells: [[{ image: white }]], rowLabels: ['A'], fontSize: SHAPES_GRID_FONT_SIZE, padding: 2 });
    // rows of the "A": the widest run of dark pixels in a row of its lower half is the crossbar
    const rows: number[] = [];
    for (let y = 0; y < g.height; y++) {
      let run = 0;
      let best = 0;
      for (let x = 0; x < g.width - 1; x++) {
        run = px(g, x, y)[0] < 128 ? run + 1 : 0;
        best = Math.max(best, run);
      }
      rows.push(best);
    }
    expect(Math.max(...rows)).toBeGreaterThanOrEqual(4);
  });

  it('places each (upscaled) cell image at its slot; padding stays background', () => {
    const a = makeRGBA(2, 2, [10, 20, 30, 255]);
    a.data.set([200, 0, 0, 255], 4); // pixel (1, 0) red
    const g = makeGrid({ cells: [[null, { image: a }]], cellScale: 2, padding: 1 });
    // slot (0, 1) starts at x = 1 + (4 + 1) = 6, y = 1
    expect(px(g, 6, 1)).toEqual([10, 20, 30, 255]);
    expect(px(g, 8, 1)).toEqual([200, 0, 0, 255]);
    expect(px(g, 9, 2)).toEqual([200, 0, 0, 255]);
    expect(px(g, 6, 3)).toEqual([10, 20, 30, 255]);
    expect(px(g, 5, 1)).toEqual(WHITE);
    expect(px(g, 2, 2)).toEqual(WHITE); // the null cell
  });
});

describe('boxes', () => {
  it('change the pixels on the outline, not inside or outside the box', () => {
    const s = 2;
    const box = { x0: 2, y0: 3, x1: 8, y1: 9, color: '#00ff00' };
    const g = makeGrid({ cells: [[{ image: grey(10, 10), boxes: [box] }]], cellScale: s, padding: 0, lineWidth: 1 });
    const [X0, Y0, X1, Y1] = [box.x0 * s, box.y0 * s, box.x1 * s, box.y1 * s];
    for (let y = 0; y < g.height; y++) {
      for (let x = 0; x < g.width; x++) {
        const inBox = x >= X0 && x < X1 && y >= Y0 && y < Y1;
        const onOutline = inBox && (x === X0 || x === X1 - 1 || y === Y0 || y === Y1 - 1);
        expect(px(g, x, y)).toEqual(onOutline ? [0, 255, 0, 255] : [128, 128, 128, 255]);
      }
    }
  });

  it('draw a lineWidth-thick outline and default palette colours', () => {
    const g = makeGrid({
      cells: [[{ image: grey(10, 10), boxes: [{ x0: 0, y0: 0, x1: 10, y1: 10 }] }]],
      padding: 0,
      lineWidth: 3,
    });
    expect(px(g, 2, 5)).toEqual([...parseColor('c', '#e6194b'), 255]);
    expect(px(g, 3, 5)).toEqual([128, 128, 128, 255]);
    expect(px(g, 5, 7)).toEqual([...parseColor('c', '#e6194b'), 255]);
  });

  it('draw their label on a tab inside the box', () => {
    const opts = (label: string) => ({
      cells: [[{ image: grey(40, 40), boxes: [{ x0: 0, y0: 0, x1: 40, y1: 40, color: 'blue', label }] }]],
      padding: 0,
    });
    const a = makeGrid(opts('cat'));
    const b = makeGrid(opts(''));
    expect(diffCount(a, b)).toBeGreaterThan(10);
    expect(diffCount(a, b, 0, 20, 40, 40)).toBe(0); // tab height is ceil(1.5·12) = 18 rows
  });
});

describe('text', () => {
  it('loads the font: measured widths grow with text and size', () => {
    expect(measureLabel('W', 12)).toBeGreaterThan(5);
    expect(measureLabel('WW', 12)).toBeCloseTo(2 * measureLabel('W', 12), 6);
    expect(measureLabel('W', 24)).toBeCloseTo(2 * measureLabel('W', 12), 6);
  });

  it('column, row and cell labels change pixels in their bands only', () => {
    const base = { cells: cells(1, 2, 30, 20), padding: 2, rowLabelWidth: 40 };
    const blank = makeGrid({ ...base, colLabels: ['', ''], rowLabels: [''] });
    const col = makeGrid({ ...base, colLabels: ['AMDM', ''], rowLabels: [''] });
    const row = makeGrid({ ...base, colLabels: ['', ''], rowLabels: ['DDIM'] });
    const L = gridLayout({ ...base, colLabels: ['', ''], rowLabels: [''] });
    expect(diffCount(blank, col, L.originX, 0, L.originX + L.cellWidth, L.originY)).toBeGreaterThan(10);
    expect(diffCount(blank, col, 0, L.originY, blank.width, blank.height)).toBe(0);
    expect(diffCount(blank, row, 0, L.originY, L.originX, blank.height)).toBeGreaterThan(10);
    expect(diffCount(blank, row, L.originX, 0, blank.width, blank.height)).toBe(0);
    const cap = makeGrid({ cells: [[{ image: grey(30, 20), label: 'x=1' }]], padding: 0 });
    const noCap = makeGrid({ cells: [[{ image: grey(30, 20), label: '' }]], padding: 0 });
    expect(diffCount(cap, noCap, 0, 20, 30, cap.height)).toBeGreaterThan(5);
    expect(diffCount(cap, noCap, 0, 0, 30, 20)).toBe(0);
  });
});

describe('validation', () => {
  it('rejects bad grids naming the parameter', () => {
    const img = grey(10, 10);
    expect(() => makeGrid({ cells: [] })).toThrow(/cells must be a non-empty array of rows/);
    expect(() => makeGrid({ cells: [[{ image: img }, { image: img }], [{ image: img }]] })).toThrow(
      /cells\[1\] must have 2 cells like cells\[0\], got 1/,
    );
    expect(() => makeGrid({ cells: [[null]] })).toThrow(/at least one non-null cell/);
    expect(() => makeGrid({ cells: [[{ image: { width: 2, height: 2, data: new Uint8ClampedArray(3) } }]] })).toThrow(
      /cells\[0\]\[0\]\.image\.data must have length/,
    );
    expect(() => makeGrid({ cells: [[{ image: img, boxes: [{ x0: 0, y0: 0, x1: 11, y1: 5 }] }]] })).toThrow(
      /cells\[0\]\[0\]\.boxes\[0\]\.x1 must be in \[0, 10\]/,
    );
    expect(() => makeGrid({ cells: [[{ image: img, boxes: [{ x0: 5, y0: 0, x1: 5, y1: 5 }] }]] })).toThrow(
      /boxes\[0\] must have x0 < x1/,
    );
    expect(() =>
      makeGrid({ cells: [[{ image: img, boxes: [{ x0: 0, y0: 0, x1: 5, y1: 5, color: 'teal-ish' }] }]] }),
    ).toThrow(/boxes\[0\]\.color must be '#rgb', '#rrggbb' or one of/);
    expect(() => makeGrid({ cells: [[{ image: img }]], rowLabels: ['a', 'b'] })).toThrow(
      /rowLabels must have one label per row \(1\), got 2/,
    );
    expect(() => makeGrid({ cells: [[{ image: img }]], colLabels: [] })).toThrow(
      /colLabels must have one label per column \(1\), got 0/,
    );
    expect(() => makeGrid({ cells: [[{ image: img }]], cellScale: 0 })).toThrow(
      /cellScale must be an integer in \[1, 64\], got 0/,
    );
    expect(() => makeGrid({ cells: [[{ image: img }]], padding: -1 })).toThrow(
      /padding must be an integer in \[0, 256\], got -1/,
    );
    expect(() => makeGrid({ cells: [[{ image: img }]], rowLabelWidth: 10 })).toThrow(/rowLabelWidth needs rowLabels/);
  });

  it('parses colours', () => {
    expect(parseColor('c', '#f80')).toEqual([255, 136, 0]);
    expect(parseColor('c', '#0A0b0C')).toEqual([10, 11, 12]);
    expect(parseColor('c', 'Yellow')).toEqual([255, 255, 0]);
    expect(() => parseColor('background', 'rgb(1,2,3)')).toThrow(/background must be/);
  });
});
