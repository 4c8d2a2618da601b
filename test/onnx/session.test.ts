import { writeFile } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { sdTinyFiles } from '../../fixtures/sd-tiny.ts';
import { checkDims, describeBackends, makeTensor, openSession, outputFloat32 } from '../../src/onnx/session.ts';
import { tmpFolders } from './tmp-folders.ts';

const tmp = tmpFolders();
afterAll(() => tmp.cleanup());
const vaeBytes = () => sdTinyFiles().get('vae_decoder/model.onnx')!;

describe('openSession', () => {
  it('opens model bytes on the CPU and reads input/output metadata', async () => {
    const s = await openSession(vaeBytes(), {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'basic',
    });
    expect(s.device).toBe('cpu');
    expect(s.inputs).toEqual([{ name: 'latent_sample', type: 'float32', shape: ['batch', 4, 8, 8] }]);
    expect(s.outputs).toEqual([{ name: 'sample', type: 'float32', shape: ['batch', 3, 64, 64] }]);
    expect(ort.env.logLevel).toBe('fatal');
    const out = outputFloat32(
      await s.run({ latent_sample: makeTensor(s.input('latent_sample'), new Float32Array(256), [1, 4, 8, 8]) }),
      'sample',
    );
    expect(out.length).toBe(3 * 64 * 64);
    expect(() => s.input('z')).toThrow(
      "has no input named 'z'; its inputs are: latent_sample float32 [batch, 4, 8, 8]",
    );
    await s.release();
  });

  it('allowSpinning off gives the same outputs; a non-boolean is rejected by name', async () => {
    const input = new Float32Array(256).map((_, i) => Math.sin(i));
    const run = async (allowSpinning?: boolean) => {
      const s = await openSession(vaeBytes(), { intraOpNumThreads: 2, allowSpinning });
      const out = outputFloat32(
        await s.run({ latent_sample: makeTensor(s.input('latent_sample'), input, [1, 4, 8, 8]) }),
        'sample',
      );
      await s.release();
      return Array.from(out);
    };
    expect(await run(false)).toEqual(await run(undefined));
    await expect(openSession(vaeBytes(), { allowSpinning: 'no' as never })).rejects.toThrow(
      /allowSpinning must be a boolean, got "no"/,
    );
  });

  it("device 'cuda' without the CUDA provider fails saying what was found and how to install it", async () => {
    const err = await openSession(vaeBytes(), { device: 'cuda' }).then(
      (session) => session,
      (e: Error) => e,
    );
    if (!(err instanceof Error)) {
      // A machine with the CUDA provider installed opens the session on the GPU.
      expect(err.device).toBe('cuda');
      return;
    }
    expect(err.message).toMatch(/^device 'cuda' was requested but the CUDA execution provider could not be used: /);
    expect(err.message).toContain(`onnxruntime-node reports these backends: ${describeBackends()}`);
    expect(err.message).toContain('cuda (not bundled)');
    expect(err.message).toContain('npm install onnxruntime-node --onnxruntime-node-install=cuda12');
    expect(err.message).toContain('ONNXRUNTIME_NODE_INSTALL=cuda12');
  });

  it("device 'auto' falls back to the CPU and tells each callback once", async () => {
    const messages: string[] = [];
    const onFallback = (m: string) => messages.push(m);
    const a = await openSession(vaeBytes(), { device: 'auto', onFallback });
    const b = await openSession(vaeBytes(), { device: 'auto', onFallback });
    if (a.device === 'cuda') {
      expect(messages).toEqual([]);
    } else {
      expect([a.device, b.device]).toEqual(['cpu', 'cpu']);
      expect(messages.length).toBe(1);
      expect(messages[0]).toMatch(/^device 'auto': CUDA is not available \(.+\), running on the CPU\. /);
      expect(messages[0]).toContain('--onnxruntime-node-install=cuda12');
    }
    await a.release();
    await b.release();
  });

  it('validates options and the model argument', async () => {
    await expect(openSession(vaeBytes(), { device: 'tpu' as never })).rejects.toThrow(
      "device must be one of 'cpu', 'cuda', 'auto', got \"tpu\"",
    );
    await expect(openSession(vaeBytes(), { intraOpNumThreads: -1 })).rejects.toThrow(
      'intraOpNumThreads must be an integer in [0, 1024]',
    );
    await expect(openSession(vaeBytes(), { graphOptimizationLevel: 'max' as never })).rejects.toThrow(
      "graphOptimizationLevel must be one of 'disabled', 'basic', 'extended', 'all', got \"max\"",
    );
    await expect(openSession(42 as never)).rejects.toThrow(
      'model must be a file path (string) or the model bytes (Uint8Array)',
    );
    await expect(openSession(new Uint8Array([1, 2, 3]))).rejects.toThrow(
      /^could not load ONNX model <3 model bytes>: /,
    );
    await expect(openSession(`${await tmp.path()}/missing.onnx`)).rejects.toThrow(
      /^could not load ONNX model .*missing\.onnx/,
    );
    // an empty file: the reason in plain words, no C++ signature (onnxruntime's text stays the cause)
    const empty = `${await tmp.path()}-empty.onnx`;
    await writeFile(empty, new Uint8Array(0));
    const err = await openSession(empty).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).toBe(
      `could not load ONNX model ${empty}: it holds no ONNX graph (the file is empty, truncated or not an ONNX model; export it again)`,
    );
    expect(String((err?.cause as Error).message)).toMatch(/ModelProto/);
  });
});

describe('tensor helpers', () => {
  const info = { name: 'sample', type: 'float16', shape: ['batch', 4, 8, 8] } as const;
  it('cast values per declared type and check dims against the declared shape', () => {
    const t = makeTensor(info, new Float32Array(2 * 256).fill(1), [2, 4, 8, 8]);
    expect(t.type).toBe('float16');
    expect((t.data as Uint16Array)[0]).toBe(0x3c00);
    expect(() => checkDims(info, [2, 3, 8, 8])).toThrow(
      "input 'sample' is declared float16 [batch, 4, 8, 8], got dims [2, 3, 8, 8] (dim 1)",
    );
    expect(() => checkDims(info, [2, 256])).toThrow(
      "input 'sample' is declared float16 [batch, 4, 8, 8] (rank 4), got dims [2, 256]",
    );
    expect(() => makeTensor(info, new Float32Array(3), [1, 4, 8, 8])).toThrow(
      "input 'sample' with dims [1, 4, 8, 8] needs 256 values, got 3",
    );
  });

  it('outputFloat32 refuses non-finite values and names missing outputs', () => {
    const nan = { y: new ort.Tensor('float32', new Float32Array([0, NaN]), [2]) };
    expect(() => outputFloat32(nan, 'y')).toThrow("output 'y' has a non-finite value NaN at index 1");
    expect(() => outputFloat32(nan, 'z')).toThrow("the run returned no output 'z'; outputs: y");
  });
});
