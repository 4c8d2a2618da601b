/**
 * src/image/png.ts for the browser: the same encodePNG / decodePNG, through the browser's own
 * PNG codec (OffscreenCanvas, createImageBitmap). Lossless for the opaque 8-bit images the
 * library writes and reads (style references, generated images).
 */
import { checkRGBA, type RGBA } from '../../../../src/image/raster.ts';

export interface EncodePNGOptions {
  /** Accepted for the same signature; the browser picks its own compression. */
  deflateLevel?: number;
}

export async function encodePNG(rgba: RGBA, _opts: EncodePNGOptions = {}): Promise<Uint8Array> {
  checkRGBA('rgba', rgba);
  const canvas = new OffscreenCanvas(rgba.width, rgba.height);
  canvas.getContext('2d')!.putImageData(new ImageData(new Uint8ClampedArray(rgba.data), rgba.width, rgba.height), 0, 0);
  return new Uint8Array(await (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer());
}

export async function decodePNG(bytes: Uint8Array): Promise<RGBA> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(new Blob([new Uint8Array(bytes)], { type: 'image/png' }), {
      premultiplyAlpha: 'none',
      colorSpaceConversion: 'none',
    });
  } catch (e) {
    throw new Error(`bytes are not a valid PNG: ${e instanceof Error ? e.message : String(e)}`);
  }
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d')!;
  ctx.drawImage(bitmap, 0, 0);
  const data = ctx.getImageData(0, 0, bitmap.width, bitmap.height).data;
  return { width: bitmap.width, height: bitmap.height, data: new Uint8ClampedArray(data) };
}
