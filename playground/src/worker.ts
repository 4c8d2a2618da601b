/**
 * The playground's Web Worker: runs `runPlayground` off the page's thread and posts each
 * method as it finishes, then the trace. Messages are plain objects (structured clone).
 */
import { runPlayground, type MethodView, type PlaygroundResult } from './run.ts';
import { parseSettings } from './settings.ts';

export type ToWorker = { type: 'run'; id: number; settings: unknown };
export type FromWorker =
  | { type: 'method'; id: number; view: MethodView }
  | { type: 'done'; id: number; result: PlaygroundResult; ms: number }
  | { type: 'error'; id: number; message: string };

const cache = new Map<string, MethodView>();
const post = (msg: FromWorker) => self.postMessage(msg);

self.onmessage = async (e: MessageEvent<ToWorker>) => {
  const { id, settings } = e.data;
  const started = performance.now();
  try {
    const result = await runPlayground(parseSettings(settings as Record<string, unknown>), {
      cache,
      onMethod: (view) => post({ type: 'method', id, view }),
    });
    post({ type: 'done', id, result, ms: performance.now() - started });
  } catch (err) {
    post({ type: 'error', id, message: err instanceof Error ? err.message : String(err) });
  }
};
