/**
 * The playground's Web Worker: runs `runPlayground` (Shapes) or the mini-zoo runner off the
 * page's thread and posts each method as it finishes, then the trace. The zoo runner (zoo.js,
 * with onnxruntime-web) is loaded on the first zoo run only, so the Shapes world starts fast.
 * Messages are plain objects (structured clone).
 */
import { runPlayground, type MethodView, type PlaygroundResult } from './run.ts';
import { parseSettings } from './settings.ts';
import type { ZooMethodView, ZooResult } from './zoo-run.ts';

export type ToWorker = { type: 'run'; id: number; settings: unknown } | { type: 'cancel'; id: number };
export type FromWorker =
  | { type: 'method'; id: number; view: MethodView | ZooMethodView }
  | { type: 'done'; id: number; result: PlaygroundResult | ZooResult; ms: number }
  | { type: 'cancelled'; id: number }
  | { type: 'status'; id: number; text: string }
  | { type: 'error'; id: number; message: string };

type ZooModule = typeof import('./zoo-entry.ts');

const cache = new Map<string, MethodView>();
const zooCache = new Map<string, ZooMethodView>();
let zoo: Promise<ZooModule> | null = null;
/** The zoo run in progress, which a 'cancel' stops before its next method. */
let current: { id: number; abort: AbortController } | null = null;
const post = (msg: FromWorker) => self.postMessage(msg);

/** zoo.js, beside this file (a separate bundle, not inlined here). */
function loadZoo(): Promise<ZooModule> {
  zoo ??= (import(/* @vite-ignore */ new URL('zoo.js', import.meta.url).href) as Promise<ZooModule>).catch((e) => {
    zoo = null;
    throw e;
  });
  return zoo;
}

self.onmessage = async (e: MessageEvent<ToWorker>) => {
  const msg = e.data;
  if (msg.type === 'cancel') {
    if (current?.id === msg.id) current.abort.abort();
    return;
  }
  const id = msg.id;
  const started = performance.now();
  const abort = new AbortController();
  try {
    const s = parseSettings(msg.settings as Record<string, unknown>);
    const onMethod = (view: MethodView | ZooMethodView) => post({ type: 'method', id, view });
    let result: PlaygroundResult | ZooResult;
    if (s.world === 'zoo') {
      current = { id, abort };
      const onStatus = (text: string) => post({ type: 'status', id, text });
      if (!zoo) onStatus('loading onnxruntime-web and the mini-zoo runner…');
      result = await (await loadZoo()).runZooInPage(s, { cache: zooCache, onMethod, signal: abort.signal, onStatus });
    } else {
      result = await runPlayground(s, { cache, onMethod });
    }
    post({ type: 'done', id, result, ms: performance.now() - started });
  } catch (err) {
    post(
      abort.signal.aborted
        ? { type: 'cancelled', id }
        : { type: 'error', id, message: err instanceof Error ? err.message : String(err) },
    );
  } finally {
    if (current?.id === id) current = null;
  }
};
