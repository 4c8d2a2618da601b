/**
 * What every route of the handler (handler.ts) shares: its limits, the gate of job slots, the
 * session settings, the request policy, the pipeline cache, the model roots, the log and the
 * counters; and `inSlot`, which runs a job in a slot and counts how it ended.
 */
import { DEFAULT_LIMITS, type ServerLimits } from './limits.ts';
import { createGate, type Gate } from './gate.ts';
import { createPipelineCache, type PipelineCache } from './pipelines.ts';
import { createRequestPolicy, type RequestPolicy } from './request-policy.ts';
import { serverSession, type ServerSession } from './session-policy.ts';
import { modelRoots, type ModelRoots } from './roots.ts';
import { PLAYGROUND_BUILD, playgroundRoute } from './playground-page.ts';
import { HttpError } from './errors.ts';
import type { Backend, Device } from '../onnx/session.ts';

export interface HandlerOptions {
  /** Folders a job may read model folders and style images from (default none: only the demo runs). */
  modelRoots?: readonly string[];
  /** Jobs running at once (default 1). */
  concurrency?: number;
  /** Jobs waiting for a slot (default 8); one more is answered 429. */
  queue?: number;
  limits?: Partial<ServerLimits>;
  /**
   * The onnxruntime settings of every job (default device 'cpu', backend 'node', threads 0:
   * onnxruntime's default); a job may ask only for less (session-policy.ts).
   */
  session?: { device?: Device; backend?: Backend; threads?: number };
  /** Loaded pipelines kept for later requests (default 2). */
  pipelines?: number;
  /**
   * Host names the server answers as, beside localhost, *.localhost and IP addresses (`*`: any);
   * other Host headers are refused (request-policy.ts).
   */
  allowHosts?: readonly string[];
  /** Origins of other sites allowed to call the server (`*`: any); default none. */
  allowOrigins?: readonly string[];
  /** Receives one line per finished, failed or aborted job (default: none). */
  log?: (line: string) => void;
  /**
   * Folder of the built playground page, served under /playground/ (default: playground/dist of
   * this checkout, PLAYGROUND_BUILD); null serves no page.
   */
  playground?: string | null;
}

/** The state the routes share (see the header), built once per handler. */
export interface ServerContext {
  readonly limits: ServerLimits;
  readonly gate: Gate;
  readonly session: ServerSession;
  readonly policy: RequestPolicy;
  readonly cache: PipelineCache;
  /** The model roots, checked (rejects with the configuration error). */
  readonly roots: Promise<ModelRoots>;
  readonly log: (line: string) => void;
  readonly counts: { completed: number; failed: number; aborted: number };
  /** The playground page's route. */
  readonly page: (request: Request, path: string) => Promise<Response>;
}

function checkCount(name: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
    throw new RangeError(`${name} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  return v;
}

/** The context of a handler with `options`, each checked. */
export function serverContext(options: HandlerOptions): ServerContext {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
  const limits: ServerLimits = { ...DEFAULT_LIMITS, ...options.limits };
  for (const [k, v] of Object.entries(limits)) checkCount(`limits.${k}`, v, 1);
  const gate = createGate(
    checkCount('concurrency', options.concurrency ?? 1, 1),
    checkCount('queue', options.queue ?? 8, 0),
  );
  const session = serverSession(options.session);
  const policy = createRequestPolicy({ allowHosts: options.allowHosts, allowOrigins: options.allowOrigins });
  const cache = createPipelineCache(checkCount('pipelines', options.pipelines ?? 2, 1));
  const roots: Promise<ModelRoots> = modelRoots(options.modelRoots ?? []);
  roots.catch(() => undefined); // reported by ready() and by every request
  return {
    limits,
    gate,
    session,
    policy,
    cache,
    roots,
    log: options.log ?? (() => undefined),
    counts: { completed: 0, failed: 0, aborted: 0 },
    page: playgroundRoute(options.playground === undefined ? PLAYGROUND_BUILD : options.playground),
  };
}

/** A 400 naming `field` when `value` is over this server's `limit`. */
export function atMost(field: string, value: number, limit: number): void {
  if (value > limit) throw new HttpError(400, `${field}: must be ≤ ${limit} on this server, got ${value}`, { field });
}

/** Runs `work` in a slot of the gate; counts and logs how it ended. */
export async function inSlot<T>(
  ctx: ServerContext,
  label: string,
  signal: AbortSignal,
  work: () => Promise<T>,
): Promise<T> {
  const { counts, log } = ctx;
  const leave = await ctx.gate.enter(signal).catch((e) => {
    if (signal.aborted) {
      counts.aborted++;
      log(`${label}: aborted by the client while waiting for a slot`);
    }
    throw e;
  });
  const started = Date.now();
  try {
    const r = await work();
    counts.completed++;
    log(`${label}: done in ${Date.now() - started} ms`);
    return r;
  } catch (e) {
    if (signal.aborted) {
      counts.aborted++;
      log(`${label}: aborted by the client after ${Date.now() - started} ms`);
    } else {
      counts.failed++;
      log(`${label}: failed: ${(e as Error).message}`);
    }
    throw e;
  } finally {
    leave();
  }
}
