/**
 * A labelled grid of Shapes-world results: one column per prompt, one row for the prompt's
 * ground truth and one per method, with the prompt's boxes drawn in each cell.
 */
import { renderPrompt } from '../toy/shapes/render.ts';
import type { ShapesPrompt } from '../toy/shapes/prompts.ts';
import type { ShapesWorld } from '../toy/shapes/world.ts';
import { makeGrid, type GridCell } from './grid.ts';
import { latentToRGBA, type RGBA } from './raster.ts';

export interface ShapesGridOptions {
  world: ShapesWorld;
  prompts: readonly ShapesPrompt[];
  /** Rows: a name and, per prompt (column), one image of world.dim values. */
  rows: readonly { name: string; images: readonly Float32Array[] }[];
  /** Upscaling of each 16×16 image (default 8). */
  scale?: number;
  /** Draw the prompt's boxes (default true). */
  boxes?: boolean;
}

/**
 * Label size of the grid: at 11 px DejaVu Sans's "A" loses its crossbar in pureimage's
 * rasterizer (it reads "Λ"); 12 px keeps it.
 */
export const SHAPES_GRID_FONT_SIZE = 12;

export function shapesGrid(opts: ShapesGridOptions): RGBA {
  const { world, prompts } = opts;
  const cols = prompts.length;
  const toCell = (image: Float32Array, prompt: ShapesPrompt): GridCell => ({
    image: latentToRGBA(image, 3, world.height, world.width),
    boxes:
      opts.boxes === false
        ? []
        : prompt.instances.map((inst) => ({
            x0: inst.box[0],
            y0: inst.box[1],
            x1: inst.box[2],
            y1: inst.box[3],
            color: '#ffffff',
          })),
  });
  const cells: GridCell[][] = [prompts.map((p) => toCell(renderPrompt(world, p), p))];
  for (const row of opts.rows) {
    if (row.images.length < cols)
      throw new RangeError(`rows '${row.name}' must hold ${cols} images (one per prompt), got ${row.images.length}`);
    cells.push(prompts.map((p, c) => toCell(row.images[c], p)));
  }
  return makeGrid({
    cells,
    rowLabels: ['prompt', ...opts.rows.map((r) => r.name)],
    colLabels: prompts.map((p, i) => `#${i + 1} · ${p.instances.length} inst · ${p.style ?? world.defaultStyle}`),
    cellScale: opts.scale ?? 8,
    fontSize: SHAPES_GRID_FONT_SIZE,
    lineWidth: 1,
    notes: [
      "white frames: the prompt's boxes; one image per prompt (the first sample) for each row",
      'rows: the prompt rendered exactly, then each method',
    ],
  });
}
