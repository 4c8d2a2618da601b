/**
 * Listen with the handler: srvx picks the runtime's own server (node:http under Node,
 * Deno.serve under Deno), so `amdm serve` and `deno run … serve` answer alike. `close()` closes
 * the connections (a running job's client is gone, so its run stops) and releases the models.
 */
import { Buffer } from 'node:buffer';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { serve } from 'srvx';
import { createHandler, type AmdmHandler, type HandlerOptions } from './handler.ts';

export interface ListenOptions extends HandlerOptions {
  /** Default 127.0.0.1 (loopback only); 0.0.0.0 listens on every interface. */
  host?: string;
  /** Default 8787; 0 picks a free port. */
  port?: number;
}

export interface RunningServer {
  readonly url: string;
  readonly handler: AmdmHandler;
  close(): Promise<void>;
}

export async function listen(options: ListenOptions = {}): Promise<RunningServer> {
  const { host = '127.0.0.1', port = 8787, ...handlerOptions } = options;
  // the name it listens on is one it answers as (IP addresses always are)
  const named = isIP(host) === 0 ? [host] : [];
  const handler = createHandler({ ...handlerOptions, allowHosts: [...(handlerOptions.allowHosts ?? []), ...named] });
  await handler.ready();
  const server = serve({ fetch: handler, hostname: host, port, silent: true, gracefulShutdown: false });
  await server.ready();
  answerClientErrorsInJson(server.node?.server);
  const url = server.url ?? `http://${host}:${port}/`;
  let closing: Promise<void> | null = null;
  return {
    url,
    handler,
    close: () =>
      (closing ??= (async () => {
        await server.close(true);
        await handler.close();
      })()),
  };
}

/**
 * Requests that node:http refuses before the handler sees them (a bad Content-Length, an unknown
 * method, a URL or headers over its limit) are answered with the handler's JSON error instead
 * of Node's empty body. Deno answers those itself.
 */
function answerClientErrorsInJson(
  server: { on(event: 'clientError', f: (e: Error, s: Duplex) => void): unknown } | undefined,
) {
  server?.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
    if (!socket.writable) return void socket.destroy();
    const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
    const status = tooLarge ? 431 : 400;
    const body = `${JSON.stringify({
      error: tooLarge
        ? "the request's URL and headers are over Node's limit (--max-http-header-size)"
        : `malformed HTTP request: ${err.message.replace(/^Parse Error: /, '')}`,
    })}\n`;
    socket.end(
      `HTTP/1.1 ${status} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
        `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
}
