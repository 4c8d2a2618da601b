/**
 * The session's feed and output format (session.ts): a tensor's declared metadata, a
 * backend-neutral tensor, and the helpers that build feeds cast per declared dtype (through
 * `dtype.ts`) and read outputs.
 */
import { allocElements, castInto, readFloat32, type ElementArray, type ElementType } from './dtype.ts';

export interface TensorInfo {
  readonly name: string;
  readonly type: ElementType;
  /** Declared dims: a number, or a string for a symbolic dim. `[]` is a scalar. */
  readonly shape: readonly (number | string)[];
}

/** A backend-neutral tensor: what `run` takes and returns (ort.Tensor of either backend fits). */
export interface OnnxTensor {
  readonly type: string;
  readonly data: ArrayLike<unknown>;
  readonly dims: readonly number[];
}

/** "float32 [batch, 4, 8, 8]" */
export function describeInfo(i: TensorInfo): string {
  return `${i.type} [${i.shape.join(', ')}]`;
}

/**
 * Build a tensor for `info` from plain numbers, cast to its declared type. `dims` must match
 * every numeric dim the graph declares (and the rank).
 */
export function makeTensor(info: TensorInfo, values: ArrayLike<number>, dims: readonly number[]): OnnxTensor {
  checkDims(info, dims);
  const count = dims.reduce((p, d) => p * d, 1);
  if (values.length !== count) {
    throw new RangeError(
      `input '${info.name}' with dims [${dims.join(', ')}] needs ${count} values, got ${values.length}`,
    );
  }
  const data = allocElements(info.type, count);
  castInto(`input '${info.name}'`, values, info.type, data);
  return tensorOver(info.type, data, dims);
}

/** A tensor over an existing buffer (no copy): refill `data` and run again. */
export function tensorOver(type: ElementType, data: ElementArray, dims: readonly number[]): OnnxTensor {
  return { type, data, dims: [...dims] };
}

/** Check dims against the declared shape: same rank, equal numeric dims. */
export function checkDims(info: TensorInfo, dims: readonly number[]): void {
  if (dims.length !== info.shape.length) {
    throw new RangeError(
      `input '${info.name}' is declared ${describeInfo(info)} (rank ${info.shape.length}), got dims [${dims.join(', ')}]`,
    );
  }
  for (let k = 0; k < dims.length; k++) {
    const want = info.shape[k];
    if (!Number.isInteger(dims[k]) || dims[k] < 0 || (typeof want === 'number' && want >= 0 && want !== dims[k])) {
      throw new RangeError(
        `input '${info.name}' is declared ${describeInfo(info)}, got dims [${dims.join(', ')}] (dim ${k})`,
      );
    }
  }
}

/** Read one output as a float32 array (float16 widened), checking that every value is finite. */
export function outputFloat32(
  result: Readonly<Record<string, OnnxTensor>>,
  name: string,
  out?: Float32Array,
): Float32Array {
  const t = result[name];
  if (!t) throw new RangeError(`the run returned no output '${name}'; outputs: ${Object.keys(result).join(', ')}`);
  const o = readFloat32(`output '${name}'`, t.type, t.data, out);
  for (let i = 0; i < o.length; i++) {
    if (!Number.isFinite(o[i])) throw new RangeError(`output '${name}' has a non-finite value ${o[i]} at index ${i}`);
  }
  return o;
}
