/**
 * One thin wrapper around onnxruntime sessions: backend and provider choice, thread options,
 * input and output metadata, and feeds cast per declared dtype (through `dtype.ts`).
 *
 * Backends: 'node' is onnxruntime-node (a native addon: CPU, CUDA); 'web' is onnxruntime-web at
 * the same version (WebAssembly, CPU only, single-threaded here) for runtimes that load no
 * native addon (Deno without --allow-ffi, edge functions, browsers); 'auto' takes 'node' when
 * its addon loads, else 'web'. Both are imported lazily, so a runtime that cannot load one never
 * touches it. Feeds are plain `{ type, data, dims }` tensors, turned into the backend's own
 * Tensor class at `run` (over the same buffer, no copy); outputs keep the same three fields.
 *
 * Provider facts (onnxruntime-node 1.30): the npm package bundles only the CPU provider; the
 * CUDA provider is installed with `--onnxruntime-node-install=cuda12`. `executionProviders:
 * ['cuda', 'cpu']` does not fall back when CUDA is missing (session creation rejects), so CUDA
 * is always tried alone and the fallback happens here.
 *
 * The lazily loaded onnxruntime modules and the fallback notes are module state that every
 * function here shares. session-wrap.ts turns an opened session into an `OnnxSession`;
 * tensors.ts holds the feed and output format (re-exported here).
 */
import type * as ort from 'onnxruntime-node';
import './telemetry.ts'; // before onnxruntime-node loads: its telemetry off unless the user opts in
import { wrap, type OnnxSession, type OrtModule } from './session-wrap.ts';

export type { OnnxSession } from './session-wrap.ts';
export * from './tensors.ts';

export const DEVICES = ['cpu', 'cuda', 'auto'] as const;
export type Device = (typeof DEVICES)[number];
export const BACKENDS = ['node', 'web', 'auto'] as const;
export type Backend = (typeof BACKENDS)[number];
export const DEFAULT_BACKEND: Backend = 'auto';
export const GRAPH_OPTIMIZATION_LEVELS = ['disabled', 'basic', 'extended', 'all'] as const;
export type GraphOptimizationLevel = (typeof GRAPH_OPTIMIZATION_LEVELS)[number];

export interface SessionOptions {
  /**
   * 'node' (onnxruntime-node, native), 'web' (onnxruntime-web, WASM, CPU only) or 'auto'
   * (default: 'node' when its native addon loads, else 'web', said once through onFallback).
   */
  backend?: Backend;
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
  /** Receives the one message saying that device or backend 'auto' fell back (to the CPU, to 'web'). */
  onFallback?: (message: string) => void;
}

const CUDA_INSTALL_HINT =
  'Install the CUDA provider on a machine with network access: `npm install onnxruntime-node --onnxruntime-node-install=cuda12` ' +
  '(or set ONNXRUNTIME_NODE_INSTALL=cuda12 before `npm install`); it needs CUDA 12 and cuDNN 9 on the library path. ' +
  "Or use device 'cpu' or 'auto'.";

/** The loaded packages, and why onnxruntime-node could not be loaded (then 'auto' takes 'web'). */
let nodeOrt: OrtModule | null = null;
let nodeOrtFailure: string | null = null;
let webOrt: OrtModule | null = null;
/** Why CUDA failed the first time in this process (later 'auto' sessions go straight to CPU). */
let cudaFailure: string | null = null;
const toldFallback = new WeakMap<(message: string) => void, Set<string>>();

function tellOnce(onFallback: ((message: string) => void) | undefined, kind: string, message: () => string): void {
  if (!onFallback) return;
  const told = toldFallback.get(onFallback) ?? new Set<string>();
  toldFallback.set(onFallback, told);
  if (told.has(kind)) return;
  told.add(kind);
  onFallback(message());
}

function moduleOf(m: unknown): OrtModule {
  // CommonJS (onnxruntime-node) may arrive as a namespace or under `default`, by runtime
  const ns = m as OrtModule & { default?: OrtModule };
  return ns.InferenceSession ? ns : ns.default!;
}

async function loadNodeOrt(): Promise<OrtModule> {
  if (nodeOrt) return nodeOrt;
  if (nodeOrtFailure === null) {
    try {
      nodeOrt = moduleOf(await import('onnxruntime-node'));
      // Silences the native error line a failed provider prints before the promise rejects.
      nodeOrt.env.logLevel = 'fatal';
      return nodeOrt;
    } catch (e) {
      nodeOrtFailure = firstLine(e);
    }
  }
  throw new Error(
    `backend 'node' needs onnxruntime-node's native addon, which could not be loaded: ${nodeOrtFailure}. ` +
      "Under Deno, allow it with --allow-ffi (and --allow-env --allow-read); or use backend 'web' (onnxruntime-web, WASM) or 'auto'.",
  );
}

async function loadWebOrt(): Promise<OrtModule> {
  if (webOrt) return webOrt;
  const m = moduleOf(await import('onnxruntime-web'));
  // One thread: no worker threads to spawn (they need a worker-capable runtime), and the same
  // reduction order on every machine. The package finds its .wasm beside its own module file.
  m.env.wasm.numThreads = 1;
  m.env.logLevel = 'fatal';
  webOrt = m;
  return m;
}

/** The backends onnxruntime-node reports, as text: "cpu (bundled), cuda (not bundled), …". */
export function describeBackends(): string {
  if (!nodeOrt?.listSupportedBackends)
    return `unknown (onnxruntime-node is not loaded${nodeOrtFailure ? `: ${nodeOrtFailure}` : ''})`;
  try {
    return nodeOrt
      .listSupportedBackends()
      .map((b) => `${b.name} (${b.bundled ? 'bundled' : 'not bundled'})`)
      .join(', ');
  } catch (e) {
    return `unknown (${(e as Error).message})`;
  }
}

function checkSessionOptions(opts: SessionOptions): void {
  for (const [key, list] of [
    ['backend', BACKENDS],
    ['device', DEVICES],
    ['graphOptimizationLevel', GRAPH_OPTIMIZATION_LEVELS],
  ] as const) {
    const v = opts[key];
    if (v !== undefined && !(list as readonly string[]).includes(v)) {
      throw new RangeError(`${key} must be one of ${list.map((l) => `'${l}'`).join(', ')}, got ${JSON.stringify(v)}`);
    }
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
  if (!Number.isInteger(deviceId) || deviceId < 0)
    throw new RangeError(`deviceId must be an integer >= 0, got ${deviceId}`);
  if (opts.onFallback !== undefined && typeof opts.onFallback !== 'function')
    throw new TypeError('onFallback must be a function');
  if (opts.backend === 'web' && opts.device === 'cuda') {
    throw new RangeError(
      "device 'cuda' needs backend 'node' or 'auto' (onnxruntime-web runs on the CPU through WASM), got backend 'web'",
    );
  }
}

/** Open a session on a model file (external data resolves beside it) or on model bytes. */
export async function openSession(model: string | Uint8Array, opts: SessionOptions = {}): Promise<OnnxSession> {
  if (typeof model !== 'string' && !(model instanceof Uint8Array)) {
    throw new TypeError('model must be a file path (string) or the model bytes (Uint8Array)');
  }
  checkSessionOptions(opts);
  const device = opts.device ?? 'cpu';
  const backend = opts.backend ?? DEFAULT_BACKEND;
  const source = typeof model === 'string' ? model : `<${model.length} model bytes>`;
  if (
    backend === 'web' ||
    (backend === 'auto' &&
      device !== 'cuda' &&
      !(await loadNodeOrt().then(
        () => true,
        () => false,
      )))
  ) {
    if (backend === 'auto') {
      tellOnce(
        opts.onFallback,
        'backend',
        () =>
          `backend 'auto': onnxruntime-node could not be loaded (${nodeOrtFailure}), running onnxruntime-web (WASM, CPU)`,
      );
    }
    if (device === 'auto')
      tellOnce(opts.onFallback, 'device', () => "device 'auto': backend 'web' has no CUDA, running on the CPU (WASM)");
    return openWebSession(model, source, opts);
  }
  return openNodeSession(await loadNodeOrt(), model, source, device, opts);
}

async function openNodeSession(
  ortNode: OrtModule,
  model: string | Uint8Array,
  source: string,
  device: Device,
  opts: SessionOptions,
): Promise<OnnxSession> {
  const base: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: opts.graphOptimizationLevel ?? 'all',
    ...(opts.intraOpNumThreads ? { intraOpNumThreads: opts.intraOpNumThreads } : {}),
    ...(opts.interOpNumThreads ? { interOpNumThreads: opts.interOpNumThreads } : {}),
    ...(opts.allowSpinning !== undefined
      ? { extra: { session: { intra_op: { allow_spinning: opts.allowSpinning ? '1' : '0' } } } }
      : {}),
  };
  const create = (eps: ort.InferenceSession.ExecutionProviderConfig[]) => {
    const o = { ...base, executionProviders: eps };
    return typeof model === 'string'
      ? ortNode.InferenceSession.create(model, o)
      : ortNode.InferenceSession.create(model, o);
  };
  const cuda: ort.InferenceSession.ExecutionProviderConfig = { name: 'cuda', deviceId: opts.deviceId ?? 0 };

  if (device === 'cuda') {
    try {
      return wrap(ortNode, await create([cuda]), 'node', 'cuda', source);
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
      return wrap(ortNode, await create([cuda]), 'node', 'cuda', source);
    } catch (e) {
      if (isModelError(e)) throw loadError(source, e);
      cudaFailure = firstLine(e);
    }
  }
  if (device === 'auto') {
    tellOnce(
      opts.onFallback,
      'device',
      () =>
        `device 'auto': CUDA is not available (${cudaFailure}; backends: ${describeBackends()}), running on the CPU. ${CUDA_INSTALL_HINT}`,
    );
  }
  try {
    return wrap(ortNode, await create(['cpu']), 'node', 'cpu', source);
  } catch (e) {
    throw loadError(source, e);
  }
}

/**
 * onnxruntime-web reads no files: the model and its external data (every other file beside a
 * model file except .onnx/.json/.txt, e.g. model.onnx_data or weights.pb) are read here and
 * handed over as bytes. WASM memory is 32-bit: a model whose weights come near 4 GB needs
 * backend 'node'.
 */
async function openWebSession(model: string | Uint8Array, source: string, opts: SessionOptions): Promise<OnnxSession> {
  const ortWeb = await loadWebOrt();
  const o: ort.InferenceSession.SessionOptions & { externalData?: { path: string; data: Uint8Array }[] } = {
    executionProviders: ['wasm'],
    graphOptimizationLevel: opts.graphOptimizationLevel ?? 'all',
  };
  try {
    let bytes: Uint8Array;
    if (typeof model === 'string') {
      const { readFile, readdir } = await import('node:fs/promises');
      const { basename, dirname, join } = await import('node:path');
      bytes = await readFile(model);
      const dir = dirname(model);
      const beside = (await readdir(dir, { withFileTypes: true })).filter(
        (e) => e.isFile() && e.name !== basename(model) && !/\.(onnx|json|txt)$/i.test(e.name),
      );
      if (beside.length)
        o.externalData = await Promise.all(
          beside.map(async (e) => ({ path: e.name, data: await readFile(join(dir, e.name)) })),
        );
    } else {
      bytes = model;
    }
    return wrap(ortWeb, await ortWeb.InferenceSession.create(bytes, o), 'web', 'cpu', source);
  } catch (e) {
    throw loadError(source, e);
  }
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0];
}

/** A failure that is about the model, not the provider (so CUDA is not to blame). */
function isModelError(e: unknown): boolean {
  return /Load model|protobuf parsing|No such file|INVALID_GRAPH|INVALID_PROTOBUF|NO_SUCHFILE/i.test(
    String((e as Error)?.message ?? e),
  );
}

/**
 * The load failure in the user's terms: without onnxruntime's "Load model from … failed:" prefix
 * and its C++ source location and signature (the original error stays as `cause`).
 */
function loadError(source: string, e: unknown): Error {
  let why = firstLine(e)
    .replace(/^Load model from .*? failed:\s*/, '')
    .replace(/\S+\.(?:cc|cpp|h):\d+ [^(]*\([^)]*\)\s*/, '');
  if (/does not have a graph|Protobuf parsing failed/i.test(why))
    why = 'it holds no ONNX graph (the file is empty, truncated or not an ONNX model; export it again)';
  return new Error(`could not load ONNX model ${source}: ${why}`, { cause: e });
}
