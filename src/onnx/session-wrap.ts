/**
 * An onnxruntime session of either backend as an `OnnxSession` (session.ts opens it): the
 * metadata of its inputs and outputs, and `run` with backend-neutral tensors.
 */
import type * as ort from 'onnxruntime-node';
import { checkElementType } from './dtype.ts';
import { describeInfo, type OnnxTensor, type TensorInfo } from './tensors.ts';

export interface OnnxSession {
  readonly session: ort.InferenceSession;
  /** The backend that runs it: 'node' (onnxruntime-node) or 'web' (onnxruntime-web, WASM). */
  readonly backend: 'node' | 'web';
  readonly device: 'cpu' | 'cuda';
  /** The model file, or a short label for a model given as bytes. */
  readonly source: string;
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  /** The declared metadata of one input; the error lists the inputs the graph has. */
  input(name: string): TensorInfo;
  output(name: string): TensorInfo;
  /** Run with ready tensors; returns every output. */
  /**
   * Runs the model with ready tensors; returns every output. `fetches` may map output names to
   * preallocated CPU tensors of the right type and dims: their buffers receive the outputs
   * (onnxruntime-node writes into them directly; with onnxruntime-web they are copied in).
   */
  run(
    feeds: Readonly<Record<string, OnnxTensor>>,
    fetches?: Readonly<Record<string, OnnxTensor>>,
  ): Promise<Record<string, OnnxTensor>>;
  release(): Promise<void>;
}

export /** The part of either package's API used here (both re-export onnxruntime-common's). */
interface OrtModule {
  readonly InferenceSession: typeof ort.InferenceSession;
  readonly Tensor: typeof ort.Tensor;
  readonly env: typeof ort.env;
  readonly listSupportedBackends?: typeof ort.listSupportedBackends;
}

/**
 * The session as `OnnxSession`: its inputs' and outputs' metadata checked once, `run` over the
 * backend's Tensor objects (`BackendFeeds`), and the fetches copied in where the backend cannot
 * write into them (onnxruntime-web).
 */
export function wrap(
  mod: OrtModule,
  session: ort.InferenceSession,
  backend: 'node' | 'web',
  device: 'cpu' | 'cuda',
  source: string,
): OnnxSession {
  const inputs = Object.freeze(session.inputMetadata.map((m) => tensorInfo(source, m, 'input')));
  const outputs = Object.freeze(session.outputMetadata.map((m) => tensorInfo(source, m, 'output')));
  const feeds = new BackendFeeds(mod);
  return Object.freeze({
    session,
    backend,
    device,
    source,
    inputs,
    outputs,
    input: (name: string) => findInfo(source, inputs, name, 'input'),
    output: (name: string) => findInfo(source, outputs, name, 'output'),
    run: async (given: Readonly<Record<string, OnnxTensor>>, fetches?: Readonly<Record<string, OnnxTensor>>) => {
      if (!fetches) return (await session.run(feeds.of(given))) as Record<string, OnnxTensor>;
      if (backend === 'node')
        return (await session.run(feeds.of(given), feeds.of(fetches))) as Record<string, OnnxTensor>;
      const result = (await session.run(feeds.of(given))) as Record<string, OnnxTensor>;
      for (const k in fetches) {
        const got = result[k];
        if (got) (fetches[k].data as unknown as { set(a: ArrayLike<unknown>): void }).set(got.data);
      }
      return result;
    },
    release: () => session.release(),
  });
}

/** The metadata of one input or output, checked to be a tensor of a known element type. */
function tensorInfo(source: string, m: ort.InferenceSession.ValueMetadata, kind: string): TensorInfo {
  if (!m.isTensor)
    throw new TypeError(`${source}: ${kind} '${m.name}' is not a tensor; only tensor inputs/outputs are supported`);
  return Object.freeze({
    name: m.name,
    type: checkElementType(`${source}: ${kind} '${m.name}'`, m.type),
    shape: Object.freeze([...m.shape]),
  });
}

/** The metadata named `name`; the error lists what the graph has. */
function findInfo(source: string, list: readonly TensorInfo[], name: string, kind: string): TensorInfo {
  const hit = list.find((i) => i.name === name);
  if (!hit) {
    throw new RangeError(
      `${source} has no ${kind} named '${name}'; its ${kind}s are: ${list.map((i) => `${i.name} ${describeInfo(i)}`).join(', ')}`,
    );
  }
  return hit;
}

/**
 * The backend's Tensor objects over the caller's buffers, built once per feeds record and per
 * tensor: a denoiser that refills the same buffers every step allocates nothing here.
 */
class BackendFeeds {
  readonly #mod: OrtModule;
  readonly #converted = new WeakMap<object, { from: Record<string, OnnxTensor>; to: Record<string, ort.Tensor> }>();

  constructor(mod: OrtModule) {
    this.#mod = mod;
  }

  /** The backend's tensors of `feeds` (the same record object for the same `feeds`). */
  of(feeds: Readonly<Record<string, OnnxTensor>>): Record<string, ort.Tensor> {
    const mod = this.#mod;
    let c = this.#converted.get(feeds);
    if (!c) {
      c = { from: {}, to: {} };
      this.#converted.set(feeds, c);
    }
    for (const k in feeds) {
      const f = feeds[k];
      if (c.from[k] === f) continue;
      c.from[k] = f;
      c.to[k] =
        f instanceof mod.Tensor ? f : new mod.Tensor(f.type as 'float32', f.data as Float32Array, f.dims as number[]);
    }
    for (const k in c.to) if (!(k in feeds)) delete c.to[k];
    return c.to;
  }
}
