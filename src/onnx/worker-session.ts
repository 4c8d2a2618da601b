/**
 * An onnxruntime session in its own worker thread. onnxruntime-node runs a session synchronously
 * on the calling JS thread (wrapped in a promise), so two sessions of one thread never overlap;
 * a session in a worker thread does, while the main thread (or another worker) runs. AMDM's
 * models are independent until the merge of an aggregated step (the sampler starts their calls
 * together), so with a worker per non-target UNet their calls run at once, the target's on the
 * main thread.
 *
 * The worker opens the same file with the same options as the main-thread session, so a run
 * gives the same bits. Each run copies the feeds into shared memory for the worker and the
 * outputs back, into `fetches` when given: small next to a UNet call.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { openSession, type OnnxSession, type OnnxTensor, type SessionOptions } from './session.ts';
import { tensorOver } from './tensors.ts';
import { allocElements, type ElementArray, type ElementType } from './dtype.ts';

const WORKER_MARK = 'amdm-session-worker';

/**
 * A tensor on the wire. The data travels through a SharedArrayBuffer slot per input or output
 * name, sent once (`slot`, when it is new or has grown) and then reused: a run copies the feeds
 * into their slots and posts only types and dims, since cloning the text states of every call
 * (2×77×768 floats for SD) cost more than the overlap won on small UNets (BENCHMARKS.md).
 */
interface WireTensor {
  type: ElementType;
  dims: readonly number[];
  length: number;
  slot?: SharedArrayBuffer;
}
type Request = { id: number; feeds: Record<string, WireTensor> };
type Reply = { id: number; outputs: Record<string, WireTensor> } | { id: number; error: string };

/** The array type of each element type (allocElements' choice), for views over shared slots. */
const ARRAYS = { float32: Float32Array, float16: Uint16Array, int32: Int32Array, int64: BigInt64Array } as const;

/** A view of `type` over a shared slot. */
function viewOf(type: ElementType, slot: SharedArrayBuffer): ElementArray {
  return new (ARRAYS[type] as unknown as new (b: SharedArrayBuffer) => ElementArray)(slot);
}

/** Shared slots by tensor name on one side of the wire: the sender's or the receiver's. */
class Slots {
  readonly #views = new Map<string, { type: ElementType; view: ElementArray }>();

  /** Copies `data` into the slot of `name` (a new one when missing or too small). */
  put(name: string, type: ElementType, data: ElementArray, dims: readonly number[]): WireTensor {
    let s = this.#views.get(name);
    let slot: SharedArrayBuffer | undefined;
    if (!s || s.type !== type || s.view.length < data.length) {
      const C = ARRAYS[type];
      slot = new SharedArrayBuffer(C.BYTES_PER_ELEMENT * data.length);
      s = { type, view: viewOf(type, slot) };
      this.#views.set(name, s);
    }
    (s.view as Float32Array).set(data as Float32Array);
    return { type, dims: [...dims], length: data.length, ...(slot ? { slot } : {}) };
  }

  /** The received tensor's values, in `into` when given (else a fresh array). */
  take(name: string, t: WireTensor, into?: ElementArray): ElementArray {
    if (t.slot) this.#views.set(name, { type: t.type, view: viewOf(t.type, t.slot) });
    const s = this.#views.get(name);
    if (!s) throw new Error(`no shared slot for tensor '${name}'`);
    const out = into ?? allocElements(t.type, t.length);
    (out as Float32Array).set((s.view as Float32Array).subarray(0, t.length));
    return out;
  }
}

let inFlight = 0;
let peakInFlight = 0;
/**
 * Runs of worker-thread sessions started from this thread, and the most in flight at once (2 or
 * more when the calls overlap): what a test or a benchmark checks. `reset` starts the count again.
 */
export function workerRunStats(reset = { reset: false }): { inFlight: number; peakInFlight: number } {
  const r = { inFlight, peakInFlight };
  if (reset.reset) peakInFlight = inFlight;
  return r;
}

/**
 * `session` (opened on the main thread from `model` with `opts`) with `run` moved to a worker
 * thread that opens the same model; `release` ends the worker (the main-thread session keeps
 * its owner: it still answers `inputs`, `outputs`, and is released with its folder).
 */
// Over 60 lines: the worker's start, its replies, its failure and its end all use the table of pending runs.
export async function inWorkerThread(
  session: OnnxSession,
  model: string,
  opts: Omit<SessionOptions, 'onFallback'>,
): Promise<OnnxSession> {
  if (session.backend !== 'node')
    throw new RangeError(`a worker-thread session needs backend 'node', got '${session.backend}'`);
  const entry = workerEntry();
  const worker = new Worker(entry, {
    eval: typeof entry === 'string',
    workerData: { mark: WORKER_MARK, model, opts: { ...opts, device: session.device, backend: 'node' } },
  });
  const pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  let failure: Error | null = null;
  const fail = (e: Error) => {
    failure = e;
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`the session worker of ${model} exited (code ${code})`)));
  await new Promise<void>((resolve, reject) => {
    worker.once('message', (m: { ready: true } | { error: string }) =>
      'ready' in m ? resolve() : reject(new Error(m.error)),
    );
    worker.once('error', reject);
  });
  worker.on('message', (r: Reply) => {
    const p = pending.get(r.id);
    pending.delete(r.id);
    p?.resolve(r);
  });
  const sent = new Slots();
  const received = new Slots();
  let queue: Promise<unknown> = Promise.resolve();
  let queued = 0;
  let next = 0;
  const call = (feeds: Record<string, WireTensor>) =>
    new Promise<Reply>((resolve, reject) => {
      if (failure) return reject(failure);
      const id = next++;
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, feeds } satisfies Request);
    });
  return Object.freeze({
    ...session,
    run(feeds: Readonly<Record<string, OnnxTensor>>, fetches?: Readonly<Record<string, OnnxTensor>>) {
      // one run at a time per worker: the shared slots hold one call's feeds and outputs. An idle
      // worker gets the call at once (posted before this returns), so that a call started next
      // on this thread overlaps it.
      const r = queued === 0 ? runNow(feeds, fetches) : queue.then(() => runNow(feeds, fetches));
      queued++;
      queue = r.then(
        () => void queued--,
        () => void queued--,
      );
      return r;
    },
    /** Ends the worker; the main-thread session stays with its owner (the folder). */
    async release() {
      await worker.terminate();
    },
  });

  async function runNow(feeds: Readonly<Record<string, OnnxTensor>>, fetches?: Readonly<Record<string, OnnxTensor>>) {
    const wire: Record<string, WireTensor> = {};
    for (const k in feeds) {
      const f = feeds[k];
      wire[k] = sent.put(k, f.type as ElementType, f.data as ElementArray, f.dims);
    }
    peakInFlight = Math.max(peakInFlight, ++inFlight);
    let r: Reply;
    try {
      r = await call(wire);
    } finally {
      inFlight--;
    }
    if ('error' in r) throw new Error(r.error);
    const out: Record<string, OnnxTensor> = {};
    for (const [k, t] of Object.entries(r.outputs)) {
      const f = fetches?.[k];
      if (f && f.data.length === t.length) {
        received.take(k, t, f.data as ElementArray);
        out[k] = f;
      } else out[k] = { type: t.type, data: received.take(k, t), dims: t.dims } as OnnxTensor;
    }
    return out;
  }
}

/**
 * This module as the worker's code: its URL (from dist/), or from the TypeScript sources (a
 * checkout) a script that first registers tsx's loader, which a worker does not inherit.
 */
function workerEntry(): URL | string {
  // Deno runs TypeScript itself
  if (!import.meta.url.endsWith('.ts') || 'Deno' in globalThis) return new URL(import.meta.url);
  // tsx's ESM API (the package's "import" condition; require.resolve gives its CommonJS twin)
  const cjs = createRequire(import.meta.url).resolve('tsx/esm/api');
  const api = pathToFileURL(cjs.replace(/\.cjs$/, '.mjs')).href;
  return `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); });`;
}

/** The worker: opens the session, then answers each run request. */
async function serve(): Promise<void> {
  const { model, opts } = workerData as { model: string; opts: SessionOptions };
  let session: OnnxSession;
  try {
    session = await openSession(model, opts);
  } catch (e) {
    parentPort!.postMessage({ error: (e as Error).message });
    return;
  }
  const received = new Slots();
  const sent = new Slots();
  const inputs = new Map<string, ElementArray>();
  parentPort!.on('message', async ({ id, feeds }: Request) => {
    try {
      const tensors: Record<string, OnnxTensor> = {};
      for (const [k, t] of Object.entries(feeds)) {
        let data = inputs.get(k);
        if (!data || data.length !== t.length || !(data instanceof ARRAYS[t.type])) {
          data = allocElements(t.type, t.length);
          inputs.set(k, data);
        }
        tensors[k] = tensorOver(t.type, received.take(k, t, data), t.dims);
      }
      const r = await session.run(tensors);
      const outputs: Record<string, WireTensor> = {};
      for (const [k, t] of Object.entries(r))
        outputs[k] = sent.put(k, t.type as ElementType, t.data as ElementArray, t.dims);
      parentPort!.postMessage({ id, outputs } satisfies Reply);
    } catch (e) {
      parentPort!.postMessage({ id, error: (e as Error).message } satisfies Reply);
    }
  });
  parentPort!.postMessage({ ready: true });
}

if (!isMainThread && (workerData as { mark?: string } | null)?.mark === WORKER_MARK) void serve();
