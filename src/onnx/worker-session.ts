/**
 * An onnxruntime session in its own worker thread. onnxruntime-node runs a session synchronously
 * on the calling JS thread (wrapped in a promise), so two sessions of one thread never overlap;
 * a session in a worker thread does, while the main thread (or another worker) runs. AMDM's
 * models are independent until the merge of an aggregated step (the sampler starts their calls
 * together), so with one worker per UNet their calls run at once.
 *
 * The worker opens the same file with the same options as the main-thread session, so a run
 * gives the same bits. Each run copies the feeds to the worker (structured clone) and the
 * outputs back, into `fetches` when given: small next to a UNet call.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { openSession, type OnnxSession, type OnnxTensor, type SessionOptions } from './session.ts';
import type { ElementArray, ElementType } from './dtype.ts';

const WORKER_MARK = 'amdm-session-worker';

interface WireTensor {
  type: ElementType;
  data: ElementArray;
  dims: readonly number[];
}
type Request = { id: number; feeds: Record<string, WireTensor> };
type Reply = { id: number; outputs: Record<string, WireTensor> } | { id: number; error: string };

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
    async run(feeds: Readonly<Record<string, OnnxTensor>>, fetches?: Readonly<Record<string, OnnxTensor>>) {
      const wire: Record<string, WireTensor> = {};
      for (const k in feeds)
        wire[k] = { type: feeds[k].type as ElementType, data: feeds[k].data as ElementArray, dims: feeds[k].dims };
      const r = await call(wire);
      if ('error' in r) throw new Error(r.error);
      const out: Record<string, OnnxTensor> = {};
      for (const [k, t] of Object.entries(r.outputs)) {
        const f = fetches?.[k];
        if (f && f.data.length === t.data.length) {
          (f.data as ElementArray).set(t.data as never);
          out[k] = f;
        } else out[k] = { type: t.type, data: t.data, dims: t.dims } as OnnxTensor;
      }
      return out;
    },
    /** Ends the worker; the main-thread session stays with its owner (the folder). */
    async release() {
      await worker.terminate();
    },
  });
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
  parentPort!.on('message', async ({ id, feeds }: Request) => {
    try {
      const r = await session.run(feeds as Record<string, OnnxTensor>);
      const outputs: Record<string, WireTensor> = {};
      for (const [k, t] of Object.entries(r))
        outputs[k] = { type: t.type as ElementType, data: t.data as ElementArray, dims: [...t.dims] };
      parentPort!.postMessage({ id, outputs } satisfies Reply);
    } catch (e) {
      parentPort!.postMessage({ id, error: (e as Error).message } satisfies Reply);
    }
  });
  parentPort!.postMessage({ ready: true });
}

if (!isMainThread && (workerData as { mark?: string } | null)?.mark === WORKER_MARK) void serve();
