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
import { Buffer } from 'node:buffer';
import { computeDemo, demoSchema, type DemoSettings } from '../jobs/demo.ts';
import { onnxExpertFactory } from '../jobs/demo-onnx.ts';
import { runJob, type JobRun } from '../jobs/generate.ts';
import { formatJobPath, jobSchema, type GenerateJob } from '../jobs/job-schema.ts';
import type { Backend, Device } from '../onnx/session.ts';
import { readJsonBody } from './body.ts';
import { errorResponse, HttpError, jsonResponse } from './errors.ts';
import { DEFAULT_LIMITS, type ServerLimits } from './limits.ts';
import { createGate } from './gate.ts';
import { createPipelineCache } from './pipelines.ts';
import { precheckJob } from '../jobs/job-precheck.ts';
import { publicError } from './public-error.ts';
import { createRequestPolicy } from './request-policy.ts';
import { jobSession, serverSession } from './session-policy.ts';
import { modelRoots, type ModelRoots } from './roots.ts';
import { isPlaygroundPath, PLAYGROUND_BUILD, playgroundRoute } from './playground-page.ts';
import type { ZodType } from 'zod';

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

export interface AmdmHandler {
  (request: Request): Promise<Response>;
  /** Resolves once the model roots are checked; rejects with the configuration error. */
  ready(): Promise<void>;
  /** Counters since start. */
  stats(): { running: number; queued: number; completed: number; failed: number; aborted: number; pipelines: number };
  /** Release every loaded model (after the runs in progress). */
  close(): Promise<void>;
}

const FORMATS = ['png', 'json', 'events'] as const;
type Format = (typeof FORMATS)[number];

function checkCount(name: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
    throw new RangeError(`${name} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  return v;
}

function formatOf(request: Request, url: URL): Format {
  const f = url.searchParams.get('format');
  if (f !== null) {
    if (!(FORMATS as readonly string[]).includes(f))
      throw new HttpError(400, `format must be one of ${FORMATS.join(', ')}, got ${JSON.stringify(f)}`, {
        field: 'format',
      });
    return f as Format;
  }
  const accept = request.headers.get('accept') ?? '';
  if (accept.includes('text/event-stream')) return 'events';
  if (accept.includes('application/json')) return 'json';
  return 'png';
}

/** Parse with a zod schema; a 400 names the first bad field and lists every issue. */
function parseBody<T>(schema: ZodType<T>, body: unknown, what: string): T {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issues = r.error.issues;
  throw new HttpError(400, `${what}: ${issues.map((i) => `${formatJobPath(i.path)}: ${i.message}`).join('; ')}`, {
    field: formatJobPath(issues[0].path),
  });
}

function atMost(field: string, value: number, limit: number): void {
  if (value > limit) throw new HttpError(400, `${field}: must be ≤ ${limit} on this server, got ${value}`, { field });
}

/** Every prompt and every text of a condition (e.g. MIGC's phrases) at most `max` characters. */
function checkTextLengths(job: GenerateJob, max: number): void {
  const check = (field: string, v: unknown): void => {
    if (typeof v === 'string' && v.length > max)
      throw new HttpError(
        400,
        `${field}: ${v.length} characters is over this server's limit of ${max} (the text encoder reads 77 tokens)`,
        { field },
      );
    if (Array.isArray(v)) v.forEach((x, i) => check(`${field}[${i}]`, x));
    else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) check(`${field}.${k}`, x);
  };
  check('prompt', job.prompt);
  check('negativePrompt', job.negativePrompt);
  job.models.forEach((m, i) => {
    check(`models[${i}].prompt`, m.prompt);
    check(`models[${i}].conditions`, m.conditions);
  });
}

const pngResponse = (bytes: Uint8Array, headers: Record<string, string> = {}) =>
  new Response(new Uint8Array(bytes), { headers: { 'content-type': 'image/png', ...headers } });

/** What runJob's log lines that are warnings start with. */
const WARNING = 'warning: ';

/** `x-amdm-warnings`: the warnings as a JSON array, non-ASCII escaped (header values are bytes). */
function warningHeader(warnings: readonly string[]): Record<string, string> {
  if (warnings.length === 0) return {};
  const ascii = JSON.stringify(warnings).replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return { 'x-amdm-warnings': ascii };
}
const base64 = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

export function createHandler(options: HandlerOptions = {}): AmdmHandler {
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
  const log = options.log ?? (() => undefined);
  const counts = { completed: 0, failed: 0, aborted: 0 };
  const page = playgroundRoute(options.playground === undefined ? PLAYGROUND_BUILD : options.playground);

  /** Run `work` in a slot; count and log how it ended. */
  const inSlot = async <T>(label: string, signal: AbortSignal, work: () => Promise<T>): Promise<T> => {
    const leave = await gate.enter(signal).catch((e) => {
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
  };

  /** The job as the server runs it: limits, paths inside the roots, the server's session settings. */
  const serverJob = async (job: GenerateJob, named: ReadonlySet<string>): Promise<GenerateJob> => {
    atMost('steps', job.steps, limits.steps);
    atMost('batch', job.batch, limits.batch);
    atMost('models', job.models.length, limits.models);
    checkTextLengths(job, limits.promptChars);
    if (job.height !== undefined) atMost('height', job.height, limits.imageSide);
    if (job.width !== undefined) atMost('width', job.width, limits.imageSide);
    const r = await roots;
    const models = [];
    for (const [i, m] of job.models.entries()) {
      const folder = await r.resolve(m.folder, `models[${i}].folder`, 'folder');
      const c = m.conditions as Record<string, unknown> | undefined;
      // the one file a condition names (an IP-Adapter style image) must be inside the roots too
      const conditions =
        c && typeof c.image === 'string'
          ? { ...c, image: await r.resolve(c.image, `models[${i}].conditions.image`, 'file') }
          : c;
      models.push({ ...m, folder, conditions });
    }
    const resolved = { ...job, models, ...jobSession(session, job, named) };
    // what needs no model loaded fails here, before the job takes a slot
    await precheckJob(resolved, (i) => job.models[i].folder).catch((e) => {
      throw publicError(e, r.roots);
    });
    return resolved;
  };

  /** JSON of a finished job; folders as the request named them, not as server paths. */
  const jobJson = (run: JobRun, asked: GenerateJob) => {
    const resolved = run.resolved as { job: GenerateJob; models: { folder: string }[] };
    const folders = asked.models.map((m) => m.folder);
    return {
      images: run.files.map((f) => ({ name: f.name, type: 'image/png', base64: base64(f.data as Uint8Array) })),
      trace: run.trace,
      resolved: {
        ...resolved,
        job: {
          ...resolved.job,
          output: undefined,
          models: resolved.job.models.map((m, k) => ({ ...m, folder: folders[k] })),
        },
        models: resolved.models.map((m, k) => ({ ...m, folder: folders[k] })),
      },
    };
  };

  const generate = async (request: Request, format: Format): Promise<Response> => {
    const body = (await readJsonBody(request, limits.bodyBytes)) as Record<string, unknown>;
    const asked = parseBody(jobSchema, body, 'job');
    const job = await serverJob(asked, new Set(Object.keys(body)));
    const rootPaths = (await roots).roots;
    const images = job.batch * (job.saveAll ? job.models.length : 1);
    if (format === 'png' && images !== 1) {
      throw new HttpError(
        400,
        `format: png answers one image, this job makes ${images} (batch ${job.batch}${job.saveAll ? ', saveAll' : ''}); ask for format json`,
        { field: 'format' },
      );
    }
    const label = `generate (${job.models.length} model(s), ${job.steps} steps)`;
    // the run's warnings (a prompt longer than the text encoder reads) go to the client too
    const warnings: string[] = [];
    const runLog = (line: string) => {
      log(line);
      if (line.startsWith(WARNING)) warnings.push(line.slice(WARNING.length));
    };
    const run = (signal: AbortSignal, send?: (event: string, data: unknown) => void) =>
      inSlot(label, signal, () =>
        runJob(job, {
          pipelines: cache,
          signal,
          log: send
            ? (line) => (runLog(line), line.startsWith(WARNING) && send('warning', line.slice(WARNING.length)))
            : runLog,
          onReady:
            send && ((p) => send('ready', { models: p.models.map((m) => m.name), shape: p.shape, steps: job.steps })),
          onStep: send && ((s) => send('step', s)),
        }).catch((e) => {
          throw signal.aborted || e instanceof HttpError ? e : publicError(e, rootPaths);
        }),
      );
    if (format === 'events')
      return eventStream(request.signal, async (signal, send) =>
        send('result', { ...jobJson(await run(signal, send), asked), warnings }),
      );
    const done = await run(request.signal);
    const headers = warningHeader(warnings);
    return format === 'png'
      ? pngResponse(done.files[0].data as Uint8Array, headers)
      : jsonResponse({ ...jobJson(done, asked), warnings }, 200, headers);
  };

  const demo = async (request: Request, format: Format): Promise<Response> => {
    const settings: DemoSettings = parseBody(demoSchema, await readJsonBody(request, limits.bodyBytes), 'demo');
    atMost('steps', settings.steps, limits.steps);
    atMost('prompts × samples', settings.prompts * settings.samples, limits.demoSamples);
    if (format === 'png' && settings.gridPrompts === 0)
      throw new HttpError(400, 'format: png answers the grid, and gridPrompts is 0; ask for format json', {
        field: 'format',
      });
    const factory = settings.backend === 'onnx' ? onnxExpertFactory(session.backend) : undefined;
    const label = `demo (${settings.prompts} prompts × ${settings.samples} samples, ${settings.steps} steps, ${settings.backend})`;
    const run = (signal: AbortSignal, send?: (event: string, data: unknown) => void) =>
      inSlot(label, signal, () =>
        computeDemo(settings, { factory, signal, yieldMs: 20, onProgress: send && ((p) => send('progress', p)) }),
      );
    const json = (d: Awaited<ReturnType<typeof run>>) => ({
      settings,
      lines: d.lines,
      results: d.results,
      grid: d.grid && base64(d.grid),
    });
    if (format === 'events')
      return eventStream(request.signal, async (signal, send) => send('result', json(await run(signal, send))));
    const done = await run(request.signal);
    return format === 'png' ? pngResponse(done.grid!) : jsonResponse(json(done));
  };

  const health = async (): Promise<Response> => {
    await roots;
    return jsonResponse({
      status: 'ok',
      running: gate.running,
      queued: gate.queued,
      ...counts,
      pipelines: cache.size,
      limits,
      session,
    });
  };

  const route = async (request: Request, url: URL): Promise<Response> => {
    if (isPlaygroundPath(url.pathname)) {
      if (request.method === 'OPTIONS') return policy.preflight(request, 'GET, HEAD');
      return page(request, url.pathname);
    }
    const routes: Record<string, [string, () => Promise<Response>]> = {
      '/health': ['GET', health],
      '/v1/generate': ['POST', () => generate(request, formatOf(request, url))],
      '/v1/demo': ['POST', () => demo(request, formatOf(request, url))],
    };
    const hit = Object.hasOwn(routes, url.pathname) ? routes[url.pathname] : undefined;
    if (!hit)
      throw new HttpError(
        404,
        `no route ${url.pathname}; routes: GET /health, POST /v1/generate, POST /v1/demo, GET /playground/ (the page)`,
      );
    const allow = hit[0] === 'GET' ? 'GET, HEAD' : hit[0];
    if (request.method === 'OPTIONS') return policy.preflight(request, allow);
    if (request.method === 'HEAD' && hit[0] === 'GET') return hit[1](); // the body is dropped below
    if (request.method !== hit[0])
      throw new HttpError(405, `${url.pathname} takes ${allow}, got ${request.method}`, {
        headers: { allow },
      });
    return hit[1]();
  };

  const handler = async (request: Request): Promise<Response> => {
    let cors: Record<string, string> = {};
    let response: Response;
    try {
      const url = new URL(request.url);
      cors = policy.check(request, url);
      response = await route(request, url);
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

/**
 * Server-sent events: `work` sends events until it resolves; a thrown error becomes an `error`
 * event. A client that cancels the stream (or whose request is aborted) aborts `work`'s signal.
 */
function eventStream(
  requestSignal: AbortSignal,
  work: (signal: AbortSignal, send: (event: string, data: unknown) => void) => Promise<void>,
): Response {
  const cancel = new AbortController();
  const signal = AbortSignal.any([requestSignal, cancel.signal]);
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (event: string, data: unknown) => {
        if (!signal.aborted)
          controller.enqueue(
            encoder.encode(
              `event: ${event}\ndata: ${JSON.stringify(data, (_k, v) => (ArrayBuffer.isView(v) ? Array.from(v as Float32Array) : v))}\n\n`,
            ),
          );
      };
      work(signal, send)
        .catch((e) => {
          const err = e instanceof HttpError ? e : new HttpError(500, (e as Error)?.message ?? String(e));
          send('error', {
            status: err.status,
            error: err.message,
            ...(err.field !== undefined ? { field: err.field } : {}),
          });
        })
        .finally(() => {
          try {
            controller.close();
          } catch {
            // already cancelled by the client
          }
        });
    },
    cancel() {
      cancel.abort(new DOMException('the client closed the event stream', 'AbortError'));
    },
  });
  return new Response(body, {
    headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store' },
  });
}
