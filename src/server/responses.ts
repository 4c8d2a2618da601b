/**
 * The forms of the handler's answers (handler.ts): the format a request asks for, a PNG, the
 * warnings header, base64 images, and a stream of server-sent events.
 */
import { Buffer } from 'node:buffer';
import type { ZodType } from 'zod';
import { formatJobPath } from '../jobs/job-schema.ts';
import { HttpError } from './errors.ts';

export const FORMATS = ['png', 'json', 'events'] as const;
export type Format = (typeof FORMATS)[number];

/** `?format=`, else what the Accept header asks for, else png. */
export function formatOf(request: Request, url: URL): Format {
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
export function parseBody<T>(schema: ZodType<T>, body: unknown, what: string): T {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issues = r.error.issues;
  throw new HttpError(400, `${what}: ${issues.map((i) => `${formatJobPath(i.path)}: ${i.message}`).join('; ')}`, {
    field: formatJobPath(issues[0].path),
  });
}

export const pngResponse = (bytes: Uint8Array, headers: Record<string, string> = {}) =>
  new Response(new Uint8Array(bytes), { headers: { 'content-type': 'image/png', ...headers } });

/** What runJob's log lines that are warnings start with. */
export const WARNING = 'warning: ';

/** `x-amdm-warnings`: the warnings as a JSON array, non-ASCII escaped (header values are bytes). */
export function warningHeader(warnings: readonly string[]): Record<string, string> {
  if (warnings.length === 0) return {};
  const ascii = JSON.stringify(warnings).replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return { 'x-amdm-warnings': ascii };
}
export const base64 = (bytes: Uint8Array) =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

/**
 * Server-sent events: `work` sends events until it resolves; a thrown error becomes an `error`
 * event. A client that cancels the stream (or whose request is aborted) aborts `work`'s signal.
 */
export function eventStream(
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
