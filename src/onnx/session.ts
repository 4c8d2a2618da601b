/**
 * One thin wrapper around onnxruntime-node sessions: provider choice, thread options, input and
 * output metadata, and feeds cast per declared dtype (through `dtype.ts`).
 *
 * Provider facts (onnxruntime-node 1.30): the npm package bundles only the CPU provider; the
 * CUDA provider is installed with `--onnxruntime-node-install=cuda12`. `executionProviders:
 * ['cuda', 'cpu']` does not fall back when CUDA is missing (session creation rejects), so CUDA
 * is always tried alone and the fallback happens here.
 */
import * as ort from 'onnxruntime-node';
import { allocElements, castInto, checkElementType, readFloat32, type ElementArray, type ElementType } from './dtype.ts';

export const DEVICES = ['cpu', 'cuda', 'auto'] as const;
export type Device = (typeof DEVICES)[number];
export const GRAPH_OPTIMIZATION_LEVELS = ['disabled', 'basic', 'extended', 'all'] as const;
export type GraphOptimizationLevel = (typeof GRAPH_OPTIMIZATION_LEVELS)[number];

export interface SessionOptions {
  /** 'cpu' (default), 'cuda' (error when unavailable) or 'auto' (cuda, else cpu with one report). */
  device?: Device;
  /** CUDA device index (default 0). */
  deviceId?: number;
  /** Threads inside one operator (default: onnxruntime's choice). */
  intraOpNumThreads?: number;
  /** Threads across operators (default: onnxruntime's choice). */
  interOpNumThreads?: number;
  /** Default 'all'. */
  graphOptimizationLevel?: GraphOptimizationLevel;
  /**
   * Whether idle intra-op threads spin waiting for work (onnxruntime's
   * `session.intra_op.allow_spinning`). Default: onnxruntime's (spinning on). Turn it off when
   * several sessions share the cores, as in AMDM with 2–3 UNets in one process: idle sessions'
   * spinning threads otherwise compete with the running one (BENCHMARKS.md, ONNX path).
   */
  allowSpinning?: boolean;
  /** Receives the one message saying that 'auto' fell back to the CPU. */
  onFallback?: (message: string) => void;
}

export interface TensorInfo {
  readonly name: string;
  readonly type: ElementType;
  /** Declared dims: a number, or a string for a symbolic dim. `[]` is a scalar. */
  readonly shape: readonly (number | string)[];
}

export interface OnnxSession {
  readonly session: ort.InferenceSession;
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
   * Runs the model. `fetches` may map output names to preallocated CPU tensors of the right
   * type and dims: onnxruntime writes into their buffers instead of allocating new outputs.
   */
  run(feeds: Record<string, ort.Tensor>, fetches?: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>>;
  release(): Promise<void>;
}

const CUDA_INSTALL_HINT =
  'Install the CUDA provider on a machine with network access: `npm install onnxruntime-node --onnxruntime-node-install=cuda12` ' +
  '(or set ONNXRUNTIME_NODE_INSTALL=cuda12 before `npm install`); it needs CUDA 12 and cuDNN 9 on the library path. ' +
  "Or use device 'cpu' or 'auto'.";

let logLevelSet = false;
/** Why CUDA failed the first time in this process (later 'auto' sessions go straight to CPU). */
let cudaFailure: string | null = null;
const toldFallback = new WeakSet<(message: string) => void>();

/** The backends onnxruntime-node reports, as text: "cpu (bundled), cuda (not bundled), …". */
export function describeBackends(): string {
  try {
    return ort
      .listSupportedBackends()
      .map((b) => `${b.name} (${b.bundled ? 'bundled' : 'not bundled'})`)
      .join(', ');
  } catch (e) {
    return `unknown (${(e as Error).message})`;
  }
}

/** Open a session on a model file (external data resolves beside it) or on model bytes. */
export async function openSession(model: string | Uint8Array, opts: SessionOptions = {}): Promise<OnnxSession> {
  if (typeof model !== 'string' && !(model instanceof Uint8Array)) {
    throw new TypeError('model must be a file path (string) or the model bytes (Uint8Array)');
  }
  const device = opts.device ?? 'cpu';
  if (!(DEVICES as readonly string[]).includes(device)) {
    throw new RangeError(`device must be one of 'cpu', 'cuda', 'auto', got ${JSON.stringify(device)}`);
  }
  const level = opts.graphOptimizationLevel ?? 'all';
  if (!(GRAPH_OPTIMIZATION_LEVELS as readonly string[]).includes(level)) {
    throw new RangeError(`graphOptimizationLevel must be one of ${GRAPH_OPTIMIZATION_LEVELS.map((l) => `'${l}'`).join(', ')}, got ${JSON.stringify(level)}`);
  }
  for (const key of ['intraOpNumThreads', 'interOpNumThreads'] as const) {
    const v = opts[key];
    if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > 1024)) {
      throw new RangeError(`${key} must be an integer in [0, 1024] (0 = onnxruntime's default), got ${v}`);
    }
  }
  if (opts.allowSpinning !== undefined && typeof opts.allowSpinning !== 'boolean') {
    throw new TypeError(`allowSpinning must be a boolean, got ${JSON.stringify(opts.allowSpinning)}`);
  }
  const deviceId = opts.deviceId ?? 0;
  if (!Number.isInteger(deviceId) || deviceId < 0) throw new RangeError(`deviceId must be an integer >= 0, got ${deviceId}`);
  if (opts.onFallback !== undefined && typeof opts.onFallback !== 'function') throw new TypeError('onFallback must be a function');
  if (!logLevelSet) {
    // Silences the native error line a failed provider prints before the promise rejects.
    ort.env.logLevel = 'fatal';
    logLevelSet = true;
  }
  const source = typeof model === 'string' ? model : `<${model.length} model bytes>`;
  const base: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: level,
    ...(opts.intraOpNumThreads ? { intraOpNumThreads: opts.intraOpNumThreads } : {}),
    ...(opts.interOpNumThreads ? { interOpNumThreads: opts.interOpNumThreads } : {}),
    ...(opts.allowSpinning !== undefined
      ? { extra: { session: { intra_op: { allow_spinning: opts.allowSpinning ? '1' : '0' } } } }
      : {}),
  };
  const create = (eps: ort.InferenceSession.ExecutionProviderConfig[]) => {
    const o = { ...base, executionProviders: eps };
    return typeof model === 'string' ? ort.InferenceSession.create(model, o) : ort.InferenceSession.create(model, o);
  };
  const cuda: ort.InferenceSession.ExecutionProviderConfig = { name: 'cuda', deviceId };

  if (device === 'cuda') {
    try {
      return wrap(await create([cuda]), 'cuda', source);
    } catch (e) {
      if (isModelError(e)) throw loadError(source, e);
      throw new Error(
        `device 'cuda' was requested but the CUDA execution provider could not be used: ${firstLine(e)}. ` +
          `onnxruntime-node reports these backends: ${describeBackends()}. ${CUDA_INSTALL_HINT}`,
      );
    }
  }
  if (device === 'auto' && cudaFailure === null) {
    try {
      return wrap(await create([cuda]), 'cuda', source);
    } catch (e) {
      if (isModelError(e)) throw loadError(source, e);
      cudaFailure = firstLine(e);
    }
  }
  if (device === 'auto' && opts.onFallback && !toldFallback.has(opts.onFallback)) {
    toldFallback.add(opts.onFallback);
    opts.onFallback(
      `device 'auto': CUDA is not available (${cudaFailure}; backends: ${describeBackends()}), running on the CPU. ${CUDA_INSTALL_HINT}`,
    );
  }
  try {
    return wrap(await create(['cpu']), 'cpu', source);
  } catch (e) {
    throw loadError(source, e);
  }
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0];
}

/** A failure that is about the model, not the provider (so CUDA is not to blame). */
function isModelError(e: unknown): boolean {
  return /Load model|protobuf parsing|No such file|INVALID_GRAPH|INVALID_PROTOBUF|NO_SUCHFILE/i.test(String((e as Error)?.message ?? e));
}

/**
 * The load failure in the user's terms: without onnxruntime's "Load model from … failed:" prefix
 * and its C++ source location and signature (the original error stays as `cause`).
 */
function loadError(source: string, e: unknown): Error {
  let why = firstLine(e)
    .replace(/^Load model from .*? failed:\s*/, '')
    .replace(/\S+\.(?:cc|cpp|h):\d+ [^(]*\([^)]*\)\s*/, '');
  if (/does not have a graph|Protobuf parsing failed/i.test(why)) why = 'it holds no ONNX graph (the file is empty, truncated or not an ONNX model; export it again)';
  return new Error(`could not load ONNX model ${source}: ${why}`, { cause: e });
}

function wrap(session: ort.InferenceSession, device: 'cpu' | 'cuda', source: string): OnnxSession {
  const info = (m: ort.InferenceSession.ValueMetadata, kind: string): TensorInfo => {
    if (!m.isTensor) throw new TypeError(`${source}: ${kind} '${m.name}' is not a tensor; only tensor inputs/outputs are supported`);
    return Object.freeze({ name: m.name, type: checkElementType(`${source}: ${kind} '${m.name}'`, m.type), shape: Object.freeze([...m.shape]) });
  };
  const inputs = Object.freeze(session.inputMetadata.map((m) => info(m, 'input')));
  const outputs = Object.freeze(session.outputMetadata.map((m) => info(m, 'output')));
  const find = (list: readonly TensorInfo[], name: string, kind: string) => {
    const hit = list.find((i) => i.name === name);
    if (!hit) {
      throw new RangeError(`${source} has no ${kind} named '${name}'; its ${kind}s are: ${list.map((i) => `${i.name} ${describeInfo(i)}`).join(', ')}`);
    }
    return hit;
  };
  return Object.freeze({
    session,
    device,
    source,
    inputs,
    outputs,
    input: (name: string) => find(inputs, name, 'input'),
    output: (name: string) => find(outputs, name, 'output'),
    run: (feeds: Record<string, ort.Tensor>, fetches?: Record<string, ort.Tensor>) =>
      (fetches ? session.run(feeds, fetches) : session.run(feeds)) as Promise<Record<string, ort.Tensor>>,
    release: () => session.release(),
  });
}

/** "float32 [batch, 4, 8, 8]" */
export function describeInfo(i: TensorInfo): string {
  return `${i.type} [${i.shape.join(', ')}]`;
}

/**
 * Build a tensor for `info` from plain numbers, cast to its declared type. `dims` must match
 * every numeric dim the graph declares (and the rank).
 */
export function makeTensor(info: TensorInfo, values: ArrayLike<number>, dims: readonly number[]): ort.Tensor {
  checkDims(info, dims);
  const count = dims.reduce((p, d) => p * d, 1);
  if (values.length !== count) {
    throw new RangeError(`input '${info.name}' with dims [${dims.join(', ')}] needs ${count} values, got ${values.length}`);
  }
  const data = allocElements(info.type, count);
  castInto(`input '${info.name}'`, values, info.type, data);
  return tensorOver(info.type, data, dims);
}

/** A tensor over an existing buffer (no copy): refill `data` and run again. */
export function tensorOver(type: ElementType, data: ElementArray, dims: readonly number[]): ort.Tensor {
  return new ort.Tensor(type, data as never, dims as number[]);
}

/** Check dims against the declared shape: same rank, equal numeric dims. */
export function checkDims(info: TensorInfo, dims: readonly number[]): void {
  if (dims.length !== info.shape.length) {
    throw new RangeError(`input '${info.name}' is declared ${describeInfo(info)} (rank ${info.shape.length}), got dims [${dims.join(', ')}]`);
  }
  for (let k = 0; k < dims.length; k++) {
    const want = info.shape[k];
    if (!Number.isInteger(dims[k]) || dims[k] < 0 || (typeof want === 'number' && want >= 0 && want !== dims[k])) {
      throw new RangeError(`input '${info.name}' is declared ${describeInfo(info)}, got dims [${dims.join(', ')}] (dim ${k})`);
    }
  }
}

/** Read one output as a float32 array (float16 widened), checking that every value is finite. */
export function outputFloat32(result: Record<string, ort.Tensor>, name: string, out?: Float32Array): Float32Array {
  const t = result[name];
  if (!t) throw new RangeError(`the run returned no output '${name}'; outputs: ${Object.keys(result).join(', ')}`);
  const o = readFloat32(`output '${name}'`, t.type, t.data, out);
  for (let i = 0; i < o.length; i++) {
    if (!Number.isFinite(o[i])) throw new RangeError(`output '${name}' has a non-finite value ${o[i]} at index ${i}`);
  }
  return o;
}
