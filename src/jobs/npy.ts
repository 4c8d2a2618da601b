/**
 * NumPy's `.npy` format (version 1.0) for float32 arrays: the magic string, the header dict
 * `{'descr': '<f4', 'fortran_order': False, 'shape': (…), }` padded with spaces to a multiple of
 * 64 bytes and ended by a newline, then the values little-endian in row-major order. `numpy.load`
 * reads it; a job's `saveLatents` writes the final latents this way for comparison with diffusers.
 */
import { checkInt } from '../core/validate.ts';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]; // \x93NUMPY, version 1.0

/** `values` as a float32 `.npy` file of the given shape (the product of `shape` must equal its length). */
export function npyFloat32(values: Float32Array, shape: readonly number[]): Uint8Array {
  shape.forEach((d, i) => checkInt(`shape[${i}]`, d, 0));
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== values.length) throw new RangeError(`shape [${shape.join(', ')}] holds ${n} values, got ${values.length}`);
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims}), }`;
  const unpadded = MAGIC.length + 2 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const out = new Uint8Array(MAGIC.length + 2 + header.length + 4 * n);
  out.set(MAGIC, 0);
  new DataView(out.buffer).setUint16(MAGIC.length, header.length, true);
  for (let i = 0; i < header.length; i++) out[MAGIC.length + 2 + i] = header.charCodeAt(i);
  const view = new DataView(out.buffer, MAGIC.length + 2 + header.length);
  for (let i = 0; i < n; i++) view.setFloat32(4 * i, values[i], true);
  return out;
}
