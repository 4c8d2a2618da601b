/**
 * PNG encoding and decoding in memory (no file system), through pureimage's stream codecs.
 */
import { PassThrough, Readable } from 'node:stream';
import * as PImage from 'pureimage';
import { describe } from '../core/validate.ts';
import { checkRGBA, type RGBA } from './raster.ts';

export interface EncodePNGOptions {
  /** zlib deflate level 1–9 (default 9: smallest file). */
  deflateLevel?: number;
}

/** Encodes an RGBA raster as an 8-bit RGBA PNG; resolves to the file's bytes. */
export async function encodePNG(rgba: RGBA, opts: EncodePNGOptions = {}): Promise<Uint8Array> {
  checkRGBA('rgba', rgba);
  const level = opts.deflateLevel ?? 9;
  if (typeof level !== 'number' || !Number.isInteger(level) || level < 1 || level > 9) {
    throw new RangeError(`opts.deflateLevel must be an integer in [1, 9], got ${describe(level)}`);
  }
  const bitmap = PImage.make(rgba.width, rgba.height);
  bitmap.data.set(rgba.data);
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (c: Buffer) => chunks.push(c));
  await PImage.encodePNGToStream(bitmap, sink, { deflateLevel: level });
  const buf = Buffer.concat(chunks);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Decodes PNG bytes to an RGBA raster (any PNG colour type/bit depth is converted to 8-bit RGBA).
 * Rejects with an Error when the bytes are not a complete, valid PNG — used to check that a
 * file written earlier is a readable image (e.g. when resuming a batch run).
 */
export async function decodePNG(bytes: Uint8Array): Promise<RGBA> {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`bytes must be a Uint8Array, got ${describe(bytes)}`);
  if (bytes.length < PNG_SIGNATURE.length || PNG_SIGNATURE.some((b, i) => bytes[i] !== b)) {
    throw new RangeError(`bytes must start with the PNG signature (got ${bytes.length} bytes that do not)`);
  }
  const stream = Readable.from([Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]);
  let bitmap: PImage.Bitmap;
  try {
    bitmap = await PImage.decodePNGFromStream(stream); // truncated input rejects ('Unexpected end of input')
  } catch (e) {
    throw new Error(`bytes are not a valid PNG: ${e instanceof Error ? e.message : String(e)}`);
  }
  return { width: bitmap.width, height: bitmap.height, data: new Uint8ClampedArray(bitmap.data) };
}
