/**
 * A zero-dependency protobuf writer for the subset of `onnx/onnx.proto` (IR version 8) that
 * model files need: ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto (raw_data and
 * external data), ValueInfoProto with TypeProto.Tensor and TensorShapeProto (dim_value /
 * dim_param), OperatorSetIdProto and StringStringEntryProto.
 *
 * Field numbers are the ones in onnx.proto. Fields are written in a fixed order and repeated
 * scalars unpacked (onnx.proto is proto2), so the same message always gives the same bytes.
 * No Node API is used: this module runs in Node, Deno, a worker or a browser.
 */

/** TensorProto.DataType values (onnx.proto). */
export const DATA_TYPE = Object.freeze({
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
});
export type ProtoDType = keyof typeof DATA_TYPE;

/** AttributeProto.AttributeType values (onnx.proto). */
const ATTR_TYPE = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7, strings: 8 } as const;

export interface ValueInfo {
  readonly name: string;
  readonly dtype: ProtoDType;
  /** Dimensions (number = dim_value, string = dim_param); `[]` is a scalar; null = unknown rank. */
  readonly shape: readonly (number | string)[] | null;
}

export interface ExternalRef {
  readonly location: string;
  readonly offset: number;
  readonly length: number;
}

export interface TensorSpec {
  readonly name: string;
  readonly dtype: ProtoDType;
  readonly dims: readonly number[];
  /** Little-endian element bytes (raw_data); omitted when `external` is set. */
  readonly raw?: Uint8Array;
  /** data_location = EXTERNAL with external_data entries location / offset / length. */
  readonly external?: ExternalRef;
}

export type AttributeValue =
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'int'; readonly value: number | bigint }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'tensor'; readonly value: TensorSpec }
  | { readonly kind: 'floats'; readonly value: readonly number[] }
  | { readonly kind: 'ints'; readonly value: readonly (number | bigint)[] }
  | { readonly kind: 'strings'; readonly value: readonly string[] };

export interface NodeSpec {
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly name?: string;
  readonly domain?: string;
  /** Attributes, written in the order given. */
  readonly attributes?: readonly (readonly [string, AttributeValue])[];
}

export interface GraphSpec {
  readonly name: string;
  readonly nodes: readonly NodeSpec[];
  readonly initializers: readonly TensorSpec[];
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  readonly docString?: string;
}

export interface ModelSpec {
  readonly graph: GraphSpec;
  /** Default 8. */
  readonly irVersion?: number;
  /** Default [{ domain: '', version: 17 }]. */
  readonly opsets?: readonly { readonly domain: string; readonly version: number }[];
  readonly producerName?: string;
  readonly producerVersion?: string;
  readonly docString?: string;
  /** metadata_props, written in the order given. */
  readonly metadata?: readonly (readonly [string, string])[];
}

const textEncoder = new TextEncoder();

/** An append-only byte buffer with the protobuf wire encodings. */
export interface ProtoWriter {
  varint(v: number | bigint): void;
  tag(field: number, wire: 0 | 1 | 2 | 5): void;
  bytes(field: number, b: Uint8Array): void;
  string(field: number, s: string): void;
  int(field: number, v: number | bigint): void;
  float(field: number, v: number): void;
  message(field: number, write: (w: ProtoWriter) => void): void;
  finish(): Uint8Array;
}

export function protoWriter(): ProtoWriter {
  return new ProtoBuffer();
}

/** The bytes written so far, in a buffer that doubles when full. */
class ProtoBuffer implements ProtoWriter {
  #buf = new Uint8Array(256);
  #len = 0;
  readonly #f32 = new DataView(new ArrayBuffer(4));

  /** Room for `n` more bytes. */
  #ensure(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    let cap = this.#buf.length * 2;
    while (cap < this.#len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }

  #push(b: Uint8Array): void {
    this.#ensure(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
  }

  varint(v: number | bigint): void {
    // int64 fields: negatives are written as 10-byte two's complement.
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v)) throw new RangeError(`varint value must be a safe integer, got ${v}`);
      if (v >= 0 && v < 0x80000000) {
        this.#ensure(5);
        let x = v;
        while (x >= 0x80) {
          this.#buf[this.#len++] = (x & 0x7f) | 0x80;
          x >>>= 7;
        }
        this.#buf[this.#len++] = x;
        return;
      }
    }
    let x = BigInt.asUintN(64, BigInt(v));
    this.#ensure(10);
    while (x >= 0x80n) {
      this.#buf[this.#len++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.#buf[this.#len++] = Number(x);
  }

  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  bytes(field: number, b: Uint8Array): void {
    this.tag(field, 2);
    this.varint(b.length);
    this.#push(b);
  }

  string(field: number, s: string): void {
    this.bytes(field, textEncoder.encode(s));
  }

  int(field: number, v: number | bigint): void {
    this.tag(field, 0);
    this.varint(v);
  }

  float(field: number, v: number): void {
    this.tag(field, 5);
    this.#f32.setFloat32(0, v, true);
    this.#push(new Uint8Array(this.#f32.buffer.slice(0)));
  }

  message(field: number, write: (w: ProtoWriter) => void): void {
    const inner = protoWriter();
    write(inner);
    this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}

/** TensorProto: dims 1, data_type 2, name 8, raw_data 9, external_data 13, data_location 14. */
export function writeTensor(w: ProtoWriter, t: TensorSpec): void {
  for (const d of t.dims) w.int(1, d);
  w.int(2, DATA_TYPE[t.dtype]);
  w.string(8, t.name);
  if (t.external) {
    const entries: [string, string][] = [
      ['location', t.external.location],
      ['offset', String(t.external.offset)],
      ['length', String(t.external.length)],
    ];
    for (const [k, v] of entries) {
      w.message(13, (e) => {
        e.string(1, k);
        e.string(2, v);
      });
    }
    w.int(14, 1);
  } else {
    w.bytes(9, t.raw ?? new Uint8Array(0));
  }
}

/** ValueInfoProto: name 1, type 2 → TypeProto.tensor_type 1 → elem_type 1, shape 2 → dim 1. */
export function writeValueInfo(w: ProtoWriter, v: ValueInfo): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, DATA_TYPE[v.dtype]);
      if (v.shape !== null) {
        const shape = v.shape;
        tensor.message(2, (s) => {
          for (const d of shape) s.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
        });
      }
    }),
  );
}

/** AttributeProto: name 1, f 2, i 3, s 4, t 5, floats 7, ints 8, strings 9, type 20. */
export function writeAttribute(w: ProtoWriter, name: string, a: AttributeValue): void {
  w.string(1, name);
  switch (a.kind) {
    case 'float':
      w.float(2, a.value);
      break;
    case 'int':
      w.int(3, a.value);
      break;
    case 'string':
      w.string(4, a.value);
      break;
    case 'tensor':
      w.message(5, (t) => writeTensor(t, a.value));
      break;
    case 'floats':
      for (const x of a.value) w.float(7, x);
      break;
    case 'ints':
      for (const x of a.value) w.int(8, x);
      break;
    case 'strings':
      for (const x of a.value) w.string(9, x);
      break;
  }
  w.int(20, ATTR_TYPE[a.kind]);
}

/** NodeProto: input 1, output 2, name 3, op_type 4, attribute 5, domain 7. */
export function writeNode(w: ProtoWriter, n: NodeSpec): void {
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  if (n.name !== undefined) w.string(3, n.name);
  w.string(4, n.opType);
  for (const [k, v] of n.attributes ?? []) w.message(5, (a) => writeAttribute(a, k, v));
  if (n.domain !== undefined && n.domain !== '') w.string(7, n.domain);
}

/** GraphProto: node 1, name 2, initializer 5, doc_string 10, input 11, output 12. */
export function writeGraph(w: ProtoWriter, g: GraphSpec): void {
  for (const n of g.nodes) w.message(1, (m) => writeNode(m, n));
  w.string(2, g.name);
  for (const t of g.initializers) w.message(5, (m) => writeTensor(m, t));
  if (g.docString) w.string(10, g.docString);
  for (const v of g.inputs) w.message(11, (m) => writeValueInfo(m, v));
  for (const v of g.outputs) w.message(12, (m) => writeValueInfo(m, v));
}

/**
 * ModelProto: ir_version 1, producer_name 2, producer_version 3, doc_string 6, graph 7,
 * opset_import 8 (OperatorSetIdProto: domain 1, version 2), metadata_props 14.
 */
export function encodeModel(m: ModelSpec): Uint8Array {
  const w = protoWriter();
  w.int(1, m.irVersion ?? 8);
  if (m.producerName) w.string(2, m.producerName);
  if (m.producerVersion) w.string(3, m.producerVersion);
  if (m.docString) w.string(6, m.docString);
  w.message(7, (g) => writeGraph(g, m.graph));
  for (const op of m.opsets ?? [{ domain: '', version: 17 }]) {
    w.message(8, (o) => {
      if (op.domain !== '') o.string(1, op.domain);
      o.int(2, op.version);
    });
  }
  for (const [k, v] of m.metadata ?? []) {
    w.message(14, (e) => {
      e.string(1, k);
      e.string(2, v);
    });
  }
  return w.finish();
}
