import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { attr, graphBuilder } from '../../src/onnx/graph.ts';
import { protoWriter, writeValueInfo, encodeModel } from '../../src/onnx/proto.ts';
import { toFloat16Bits } from '../../src/onnx/dtype.ts';
import { tmpFolders } from './tmp-folders.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const tmp = tmpFolders();
afterAll(() => tmp.cleanup());

describe('protobuf writer', () => {
  it('encodes varints as protobuf does (reference bytes)', () => {
    const enc = (v: number | bigint) => {
      const w = protoWriter();
      w.varint(v);
      return hex(w.finish());
    };
    expect(enc(0)).toBe('00');
    expect(enc(1)).toBe('01');
    expect(enc(127)).toBe('7f');
    expect(enc(300)).toBe('ac02');
    expect(enc(2 ** 31)).toBe('8080808008');
    expect(enc(-1)).toBe('ffffffffffffffffff01');
    expect(enc(-2n)).toBe('feffffffffffffffff01');
    expect(() => enc(0.5)).toThrow(/varint value must be a safe integer, got 0.5/);
  });

  it('encodes a float field little-endian with wire type 5', () => {
    const w = protoWriter();
    w.float(2, 1);
    expect(hex(w.finish())).toBe('150000803f');
  });

  it('encodes a ValueInfoProto with a dim_value and a dim_param (hand-computed bytes)', () => {
    const w = protoWriter();
    writeValueInfo(w, { name: 'x', dtype: 'float32', shape: [2, 'n'] });
    expect(hex(w.finish())).toBe('0a0178120f0a0d08011209' + '0a0208020a0312016e');
  });

  it('writes a scalar as an empty shape and an unknown shape as no shape', () => {
    const scalar = protoWriter();
    writeValueInfo(scalar, { name: 't', dtype: 'int64', shape: [] });
    expect(hex(scalar.finish())).toBe('0a01741206' + '0a0408071200');
    const unknown = protoWriter();
    writeValueInfo(unknown, { name: 't', dtype: 'int64', shape: null });
    expect(hex(unknown.finish())).toBe('0a01741204' + '0a020807');
  });
});

function affineGraph(dtype: 'float32' | 'float16') {
  // y = x·W + b with W [3,2], b [2]; stored in `dtype`, computed in float32.
  const g = graphBuilder('affine');
  g.input('x', 'float32', ['batch', 3]);
  const Wv = new Float32Array([1, 2, 3, 4, 5, 6]);
  const bv = new Float32Array([0.5, -0.25]);
  const store = (dims: number[], v: Float32Array) =>
    dtype === 'float32'
      ? g.initializer(null, 'float32', dims, v)
      : g.op('Cast', [g.initializer(null, 'float16', dims, toFloat16Bits(v))], { to: attr.i(1) });
  const y = g.op('Add', [g.op('MatMul', ['x', store([3, 2], Wv)]), store([2], bv)], undefined, 'y');
  g.output(y, 'float32', ['batch', 2]);
  return g;
}

describe('graph builder', () => {
  it('gives byte-identical models when run twice', () => {
    const a = affineGraph('float32').encode({ meta: { producerName: 'test' } }).model;
    const b = affineGraph('float32').encode({ meta: { producerName: 'test' } }).model;
    expect(hex(a)).toBe(hex(b));
    expect(a.length).toBeGreaterThan(50);
  });

  it('encodes a model onnxruntime runs (float32 and float16 initializers)', async () => {
    for (const dtype of ['float32', 'float16'] as const) {
      const s = await ort.InferenceSession.create(affineGraph(dtype).encode().model);
      const r = await s.run({ x: new ort.Tensor('float32', new Float32Array([1, 0, -1, 2, 1, 0]), [2, 3]) });
      // [1,0,-1]·W = [1-5, 2-6] = [-4,-4]; [2,1,0]·W = [2+3, 4+4] = [5, 8]; + b
      expect([...(r.y.data as Float32Array)]).toEqual([-3.5, -4.25, 5.5, 7.75]);
      expect(s.inputMetadata[0]).toMatchObject({ name: 'x', type: 'float32', shape: ['batch', 3] });
      await s.release();
    }
  });

  it('moves large initializers to external data with aligned offsets; onnxruntime reads them beside the model', async () => {
    const enc = affineGraph('float32').encode({ external: { location: 'w.bin', minBytes: 8, align: 16 } });
    expect(enc.external).not.toBeNull();
    // W (24 bytes) at 0, b (8 bytes) at 32.
    expect(enc.external!.length).toBe(40);
    expect([...new Float32Array(enc.external!.slice(0, 24).buffer)]).toEqual([1, 2, 3, 4, 5, 6]);
    expect([...new Float32Array(enc.external!.slice(32, 40).buffer)]).toEqual([0.5, -0.25]);
    const text = Buffer.from(enc.model).toString('latin1');
    expect(text).toContain('location');
    expect(text).toContain('w.bin');
    const dir = await tmp.path('ext');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'model.onnx'), enc.model);
    await writeFile(join(dir, 'w.bin'), enc.external!);
    const s = await ort.InferenceSession.create(join(dir, 'model.onnx'));
    const r = await s.run({ x: new ort.Tensor('float32', new Float32Array([1, 1, 1]), [1, 3]) });
    expect([...(r.y.data as Float32Array)]).toEqual([9.5, 11.75]);
    await s.release();
  });

  it('keeps everything inline when no tensor reaches minBytes', () => {
    const enc = affineGraph('float32').encode({ external: { location: 'w.bin', minBytes: 1000 } });
    expect(enc.external).toBeNull();
  });

  it('rejects bad names, sizes and external options with messages naming them', () => {
    const g = graphBuilder('g');
    g.input('x', 'float32', [1]);
    expect(() => g.input('x', 'float32', [1])).toThrow("input name 'x' is already used in graph 'g'");
    expect(() => g.initializer('w', 'float32', [2], new Float32Array(3))).toThrow(
      'initializer w: float32 [2] needs 8 bytes, data has 12',
    );
    expect(() => g.output('nope', 'float32', [1])).toThrow("output 'nope' is not produced by any node of graph 'g'");
    expect(() => g.encode({ external: { location: 'a/b.bin' } })).toThrow(
      'external.location must be a file name without folders',
    );
    expect(() => graphBuilder('')).toThrow('name must be a non-empty string');
  });

  it('writes opset 17 and IR 8 by default', () => {
    const m = encodeModel({ graph: { name: 'e', nodes: [], initializers: [], inputs: [], outputs: [] } });
    // ir_version field 1 = 8 first; opset_import (field 8) holds version 17 (0x10 0x11).
    expect(hex(m.slice(0, 2))).toBe('0808');
    expect(hex(m)).toContain('42021011');
  });
});
