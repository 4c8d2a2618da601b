/**
 * Listen with the handler: srvx picks the runtime's own server (node:http under Node,
 * Deno.serve under Deno), so `amdm serve` and `deno run … serve` answer alike. `close()` closes
 * the connections (a running job's client is gone, so its run stops) and releases the models.
 */
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
  const handler = createHandler(handlerOptions);
  await handler.ready();
  const server = serve({ fetch: handler, hostname: host, port, silent: true, gracefulShutdown: false });
  await server.ready();
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
