/**
 * AMDM behind one web-standard fetch handler, `(request: Request) => Promise<Response>`, for
 * `Deno.serve`, `amdm serve` (Node) and any platform that takes a fetch handler:
 *
 *   GET  /health        status, jobs running and waiting, limits, pipelines loaded
 *   POST /v1/generate   a generate job (the JSON of `amdm generate`, src/jobs/job-schema.ts);
 *                       model folders and style images are paths relative to the model roots
 *   POST /v1/demo       the Shapes-world demo (the flags of `amdm demo` as JSON)
 *   GET  /playground/…  the built playground page (playground-page.ts; `/` and `/playground`
 *                       redirect there); 404 naming the build command while it is not built
 *
 * Answers: `?format=png` (default; the one image: target.png, or the demo's grid), `json`
 * (every image as base64 PNG, the trace and the resolved settings) or `events` (server-sent
 * events: `ready`, one `step` per sampler step with its trace, then `result` with the JSON, or
 * `error`). The Accept header picks json or events when no format is given.
 *
 * Folders are loaded once and kept for later requests (pipelines.ts); at most `concurrency` jobs
 * run at once and `queue` more wait, beyond that 429 (gate.ts); bodies, steps, batch, image size
 * and model count are limited (400/413 naming the field); a client that goes away aborts its
 * run between two sampler steps through the request's AbortSignal. Nothing is written to disk.
 */
import { errorResponse, HttpError, jsonResponse } from './errors.ts';
import { serverContext, type HandlerOptions, type ServerContext } from './context.ts';
import { demoRoute } from './demo-route.ts';
import { generateRoute } from './generate-route.ts';
import { isPlaygroundPath } from './playground-page.ts';
import { formatOf } from './responses.ts';

export type { HandlerOptions } from './context.ts';

export interface AmdmHandler {
  (request: Request): Promise<Response>;
  /** Resolves once the model roots are checked; rejects with the configuration error. */
  ready(): Promise<void>;
  /** Counters since start. */
  stats(): { running: number; queued: number; completed: number; failed: number; aborted: number; pipelines: number };
  /** Release every loaded model (after the runs in progress). */
  close(): Promise<void>;
}

export function createHandler(options: HandlerOptions = {}): AmdmHandler {
  const ctx = serverContext(options);
  const { roots, gate, counts, cache } = ctx;
  const handler = async (request: Request): Promise<Response> => {
    let cors: Record<string, string> = {};
    let response: Response;
    try {
      const url = new URL(request.url);
      cors = ctx.policy.check(request, url);
      response = await route(ctx, request, url);
    } catch (e) {
      if (e instanceof HttpError) response = errorResponse(e);
      // the client is gone: nobody reads this answer
      else if (request.signal.aborted) response = errorResponse(new HttpError(499, 'the client closed the request'));
      else response = errorResponse(new HttpError(500, (e as Error)?.message ?? String(e)));
    }
    for (const [k, v] of Object.entries(cors)) response.headers.set(k, v);
    // HEAD: the headers of the answer, never a body (errors included)
    return request.method === 'HEAD'
      ? new Response(null, { status: response.status, headers: response.headers })
      : response;
  };
  return Object.assign(handler, {
    ready: async () => {
      await roots;
    },
    stats: () => ({ running: gate.running, queued: gate.queued, ...counts, pipelines: cache.size }),
    close: () => cache.close(),
  });
}

/** GET /health: status, jobs running and waiting, counters, pipelines loaded, limits and session settings. */
async function health(ctx: ServerContext): Promise<Response> {
  await ctx.roots;
  return jsonResponse({
    status: 'ok',
    running: ctx.gate.running,
    queued: ctx.gate.queued,
    ...ctx.counts,
    pipelines: ctx.cache.size,
    limits: ctx.limits,
    session: ctx.session,
  });
}

/** The route of a request: the playground page, or one of the routes below (OPTIONS, HEAD and 405 answered here). */
async function route(ctx: ServerContext, request: Request, url: URL): Promise<Response> {
  if (isPlaygroundPath(url.pathname)) {
    if (request.method === 'OPTIONS') return ctx.policy.preflight(request, 'GET, HEAD');
    return ctx.page(request, url.pathname);
  }
  const routes: Record<string, [string, () => Promise<Response>]> = {
    '/health': ['GET', () => health(ctx)],
    '/v1/generate': ['POST', () => generateRoute(ctx, request, formatOf(request, url))],
    '/v1/demo': ['POST', () => demoRoute(ctx, request, formatOf(request, url))],
  };
  const hit = Object.hasOwn(routes, url.pathname) ? routes[url.pathname] : undefined;
  if (!hit)
    throw new HttpError(
      404,
      `no route ${url.pathname}; routes: GET /health, POST /v1/generate, POST /v1/demo, GET /playground/ (the page)`,
    );
  const allow = hit[0] === 'GET' ? 'GET, HEAD' : hit[0];
  if (request.method === 'OPTIONS') return ctx.policy.preflight(request, allow);
  if (request.method === 'HEAD' && hit[0] === 'GET') return hit[1](); // the body is dropped below
  if (request.method !== hit[0])
    throw new HttpError(405, `${url.pathname} takes ${allow}, got ${request.method}`, {
      headers: { allow },
    });
  return hit[1]();
}
