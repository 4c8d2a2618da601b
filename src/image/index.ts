/** Images for people: rasters from tensors, PNG in memory, annotated grids, Plot charts as SVG. */
export { checkRGBA, latentToRGBA, makeRGBA, rgbaFromSdImage, upscaleNearest } from './raster.ts';
export type { LatentToRGBAOptions, RGBA } from './raster.ts';
export { decodePNG, encodePNG } from './png.ts';
export type { EncodePNGOptions } from './png.ts';
export { BOX_PALETTE, gridLayout, makeGrid, measureLabel, parseColor } from './grid.ts';
export type { GridBox, GridCell, GridLayout, GridOptions } from './grid.ts';
export { ensureLabelFont, LABEL_FONT_FAMILY, labelFontPath } from './font.ts';
export { plotToSVG } from './plot.ts';
export type { PlotToSVGOptions } from './plot.ts';
export { shapesGrid } from './shapes-grid.ts';
export type { ShapesGridOptions } from './shapes-grid.ts';
