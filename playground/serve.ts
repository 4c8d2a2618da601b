/**
 * A small static file server for the built playground, bound to 127.0.0.1. Serves files of one
 * folder only (paths that leave it are refused; src/server/static.ts), index.html for "/",
 * nothing is cached. `amdm serve` serves the same folder under /playground/.
 */
import { createServer, type Server } from 'node:http';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { checkInt } from '../src/core/validate.ts';
import { readStaticFile } from '../src/server/static.ts';

export interface StaticServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** Serves `dir` on 127.0.0.1:`port` (0 picks a free port); resolves once it listens. */
export async function serveStatic(dir: string, port = 0): Promise<StaticServer> {
  checkInt('port', port, 0, 65535);
  const root = resolve(dir);
  const info = await stat(root).catch(() => null);
  if (!info?.isDirectory())
    throw new RangeError(`dir must be a folder to serve, got ${JSON.stringify(dir)} (build the playground first)`);
  const server = createServer(async (req, res) => {
    const send = (code: number, body: string | Uint8Array, type = 'text/plain; charset=utf-8') => {
      res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'only GET and HEAD\n');
    let pathname: string;
    try {
      pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    } catch {
      return send(400, 'bad path\n');
    }
    const got = await readStaticFile(root, pathname);
    if (got.status === 200) send(200, got.body, got.type);
    else send(got.status, `${got.message}\n`);
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => ok());
  });
  const addr = server.address();
  const actual = typeof addr === 'object' && addr ? addr.port : port;
  return {
    url: `http://127.0.0.1:${actual}/`,
    server,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}
