/**
 * A tiny ONNX graph builder over `proto.ts`: declare inputs, initializers and nodes, then encode
 * a ModelProto (IR 8, opset 17 by default). Initializers at or above a size threshold can be
 * moved to one external data file (TensorProto.data_location = EXTERNAL), as optimum does with
 * `unet/model.onnx_data`. Names and bytes depend only on the calls made, so a builder run twice
 * gives byte-identical models. No Node API: usable from library code in any runtime.
 */
import {
  encodeModel,
  type AttributeValue,
  type ModelSpec,
  type NodeSpec,
  type ProtoDType,
  type TensorSpec,
  type ValueInfo,
} from './proto.ts';

export type TensorData = Float32Array | Uint16Array | Int32Array | BigInt64Array | Uint8Array;

const ELEMENT_BYTES: Record<ProtoDType, number> = {
  float32: 4,
  uint8: 1,
  int8: 1,
  int32: 4,
  int64: 8,
  bool: 1,
  float16: 2,
  float64: 8,
};

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Attribute constructors: `attr.i(1)`, `attr.f(0.5)`, `attr.ints([0, 1])`, … */
export const attr = Object.freeze({
  f: (value: number): AttributeValue => ({ kind: 'float', value }),
  i: (value: number | bigint): AttributeValue => ({ kind: 'int', value }),
  s: (value: string): AttributeValue => ({ kind: 'string', value }),
  t: (value: TensorSpec): AttributeValue => ({ kind: 'tensor', value }),
  floats: (value: readonly number[]): AttributeValue => ({ kind: 'floats', value }),
  ints: (value: readonly (number | bigint)[]): AttributeValue => ({ kind: 'ints', value }),
  strings: (value: readonly string[]): AttributeValue => ({ kind: 'strings', value }),
});

export interface ExternalDataOptions {
  /** File name written into each external_data `location` entry, relative to the model file. */
  location: string;
  /** Initializers with at least this many bytes go external (default 1024, as in onnx's converter). */
  minBytes?: number;
  /** Each tensor's offset is a multiple of this (default 64). */
  align?: number;
}

export interface EncodedModel {
  model: Uint8Array;
  /** The external data file's bytes, or null when every tensor is inline. */
  external: Uint8Array | null;
}

export interface GraphBuilder {
  /** Declare a graph input; returns its name. */
  input(name: string, dtype: ProtoDType, shape: readonly (number | string)[] | null): string;
  /** Declare a graph output (a value some node produces). */
  output(name: string, dtype: ProtoDType, shape: readonly (number | string)[] | null): void;
  /** Add an initializer (name auto-generated when null); returns its name. */
  initializer(name: string | null, dtype: ProtoDType, dims: readonly number[], data: TensorData): string;
  /** A float32 constant initializer. */
  f32(dims: readonly number[], values: ArrayLike<number>): string;
  /** An int64 constant initializer (for shapes, axes, indices). */
  i64(dims: readonly number[], values: readonly (number | bigint)[]): string;
  /** Add a node with one output (auto-named unless `output` is given); returns the output name. */
  op(opType: string, inputs: readonly string[], attributes?: Record<string, AttributeValue>, output?: string): string;
  /** Add a node with explicit outputs. */
  node(
    opType: string,
    inputs: readonly string[],
    outputs: readonly string[],
    attributes?: Record<string, AttributeValue>,
  ): void;
  /** The model as plain data. */
  spec(meta?: Omit<ModelSpec, 'graph'>): ModelSpec;
  /** Encode to bytes, optionally moving large initializers to an external data file. */
  encode(opts?: { external?: ExternalDataOptions; meta?: Omit<ModelSpec, 'graph'> }): EncodedModel;
}

export function graphBuilder(name: string): GraphBuilder {
  if (typeof name !== 'string' || name === '') throw new TypeError('name must be a non-empty string');
  return new OnnxGraphBuilder(name);
}

/** An initializer as added: its bytes, encoded inline or moved to the external data file at `encode`. */
interface Initializer {
  name: string;
  dtype: ProtoDType;
  dims: readonly number[];
  bytes: Uint8Array;
}

/** The graph being built: nodes, initializers, inputs and outputs in order, and the names taken. */
class OnnxGraphBuilder implements GraphBuilder {
  readonly #name: string;
  readonly #nodes: NodeSpec[] = [];
  readonly #inits: Initializer[] = [];
  readonly #inputs: ValueInfo[] = [];
  readonly #outputs: ValueInfo[] = [];
  readonly #names = new Set<string>();
  #counter = 0;

  constructor(name: string) {
    this.#name = name;
  }

  /** A name `prefix_<k>` not used yet. */
  #fresh(prefix: string): string {
    let n: string;
    do n = `${prefix}_${this.#counter++}`;
    while (this.#names.has(n));
    this.#names.add(n);
    return n;
  }

  /** Takes a name given by the caller; an error when it is empty or used. */
  #claim(n: string, what: string): string {
    if (typeof n !== 'string' || n === '') throw new TypeError(`${what} name must be a non-empty string`);
    if (this.#names.has(n)) throw new RangeError(`${what} name '${n}' is already used in graph '${this.#name}'`);
    this.#names.add(n);
    return n;
  }

  input(n: string, dtype: ProtoDType, shape: readonly (number | string)[] | null): string {
    this.#inputs.push({ name: this.#claim(n, 'input'), dtype, shape: shape === null ? null : [...shape] });
    return n;
  }

  output(n: string, dtype: ProtoDType, shape: readonly (number | string)[] | null): void {
    if (!this.#names.has(n)) throw new RangeError(`output '${n}' is not produced by any node of graph '${this.#name}'`);
    this.#outputs.push({ name: n, dtype, shape: shape === null ? null : [...shape] });
  }

  initializer(n: string | null, dtype: ProtoDType, dims: readonly number[], data: TensorData): string {
    const count = dims.reduce((p, d) => p * d, 1);
    for (const d of dims) {
      if (!Number.isInteger(d) || d < 0)
        throw new RangeError(`initializer dims must be non-negative integers, got [${dims.join(', ')}]`);
    }
    const bytes = toBytes(data);
    if (bytes.length !== count * ELEMENT_BYTES[dtype]) {
      throw new RangeError(
        `initializer ${n ?? '(auto)'}: ${dtype} [${dims.join(', ')}] needs ${count * ELEMENT_BYTES[dtype]} bytes, data has ${bytes.length}`,
      );
    }
    const nm = n === null ? this.#fresh('w') : this.#claim(n, 'initializer');
    this.#inits.push({ name: nm, dtype, dims: [...dims], bytes });
    return nm;
  }

  f32(dims: readonly number[], values: ArrayLike<number>): string {
    return this.initializer(null, 'float32', dims, Float32Array.from(values));
  }

  i64(dims: readonly number[], values: readonly (number | bigint)[]): string {
    return this.initializer(
      null,
      'int64',
      dims,
      BigInt64Array.from(values, (v) => BigInt(v)),
    );
  }

  op(opType: string, ins: readonly string[], a?: Record<string, AttributeValue>, output?: string): string {
    const out = output === undefined ? this.#fresh(opType.toLowerCase()) : this.#claim(output, 'node output');
    this.#nodes.push({
      opType,
      inputs: [...ins],
      outputs: [out],
      name: `${opType}_${this.#nodes.length}`,
      attributes: attrs(a),
    });
    return out;
  }

  node(opType: string, ins: readonly string[], outs: readonly string[], a?: Record<string, AttributeValue>): void {
    for (const o of outs) this.#claim(o, 'node output');
    this.#nodes.push({
      opType,
      inputs: [...ins],
      outputs: [...outs],
      name: `${opType}_${this.#nodes.length}`,
      attributes: attrs(a),
    });
  }

  spec(meta: Omit<ModelSpec, 'graph'> = {}): ModelSpec {
    return this.#encodeSpec(meta, undefined).spec;
  }

  encode(opts: { external?: ExternalDataOptions; meta?: Omit<ModelSpec, 'graph'> } = {}): EncodedModel {
    const { spec, external } = this.#encodeSpec(opts.meta ?? {}, opts.external);
    return { model: encodeModel(spec), external };
  }

  /** The model as data, with the initializers of ≥ `ext.minBytes` moved (aligned) into one external buffer. */
  #encodeSpec(
    meta: Omit<ModelSpec, 'graph'>,
    ext: ExternalDataOptions | undefined,
  ): { spec: ModelSpec; external: Uint8Array | null } {
    const minBytes = ext?.minBytes ?? 1024;
    const align = ext?.align ?? 64;
    if (ext) checkExternal(ext, minBytes, align);
    const chunks: { offset: number; bytes: Uint8Array }[] = [];
    let size = 0;
    const initializers: TensorSpec[] = this.#inits.map((t) => {
      if (!ext || t.bytes.length < minBytes || t.bytes.length === 0) {
        return { name: t.name, dtype: t.dtype, dims: t.dims, raw: t.bytes };
      }
      const offset = Math.ceil(size / align) * align;
      chunks.push({ offset, bytes: t.bytes });
      size = offset + t.bytes.length;
      return {
        name: t.name,
        dtype: t.dtype,
        dims: t.dims,
        external: { location: ext.location, offset, length: t.bytes.length },
      };
    });
    let external: Uint8Array | null = null;
    if (chunks.length > 0) {
      external = new Uint8Array(size);
      for (const c of chunks) external.set(c.bytes, c.offset);
    }
    const graph = {
      name: this.#name,
      nodes: [...this.#nodes],
      initializers,
      inputs: [...this.#inputs],
      outputs: [...this.#outputs],
    };
    return { spec: { ...meta, graph }, external };
  }
}

/** A node's attributes as [name, value] pairs, in the order given. */
function attrs(a?: Record<string, AttributeValue>) {
  return a ? Object.keys(a).map((k) => [k, a[k]] as const) : undefined;
}

function checkExternal(ext: ExternalDataOptions, minBytes: number, align: number): void {
  if (typeof ext.location !== 'string' || ext.location === '' || /[\\/]/.test(ext.location)) {
    throw new RangeError(`external.location must be a file name without folders, got ${JSON.stringify(ext.location)}`);
  }
  if (!Number.isInteger(minBytes) || minBytes < 0)
    throw new RangeError(`external.minBytes must be an integer >= 0, got ${minBytes}`);
  if (!Number.isInteger(align) || align < 1)
    throw new RangeError(`external.align must be an integer >= 1, got ${align}`);
}

function toBytes(data: TensorData): Uint8Array {
  if (!LITTLE_ENDIAN) throw new RangeError('ONNX raw_data is little-endian; this platform is big-endian');
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
}
