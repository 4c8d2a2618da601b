import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveStatic, type StaticServer } from '../../playground/serve.ts';

/** A raw GET (no URL normalization by the client), resolving to status, type and body. */
function get(url: string, path: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  return new Promise((ok, fail) => {
    const u = new URL(url);
    const req = request({ host: u.hostname, port: u.port, path, method }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => ok({ status: res.statusCode!, type: String(res.headers['content-type']), body }));
    });
    req.on('error', fail);
    req.end();
  });
}

describe('serveStatic', () => {
  let root: string;
  let server: StaticServer;
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'amdm-serve-'));
    mkdirSync(join(root, 'site'));
    writeFileSync(join(root, 'site', 'index.html'), '<p>hi</p>');
    writeFileSync(join(root, 'site', 'app.js'), 'export {};');
    writeFileSync(join(root, 'secret.txt'), 'outside');
    server = await serveStatic(join(root, 'site'));
  });
  afterAll(async () => {
    await server.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('listens on 127.0.0.1 and serves the folder with content types', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(await get(server.url, '/')).toEqual({ status: 200, type: 'text/html; charset=utf-8', body: '<p>hi</p>' });
    expect(await get(server.url, '/app.js')).toEqual({
      status: 200,
      type: 'text/javascript; charset=utf-8',
      body: 'export {};',
    });
    expect((await get(server.url, '/missing.js')).status).toBe(404);
    expect(await get(server.url, '/', 'POST')).toMatchObject({ status: 405 });
  });

  it('refuses paths that leave the folder', async () => {
    expect(await get(server.url, '/..%2fsecret.txt')).toEqual({
      status: 403,
      type: 'text/plain; charset=utf-8',
      body: 'outside the served folder\n',
    });
    expect((await get(server.url, '/%E0%A4%A')).status).toBe(400);
  });

  it('rejects a folder that does not exist and a bad port', async () => {
    await expect(serveStatic(join(root, 'nope'))).rejects.toThrow(
      /^dir must be a folder to serve, got ".*nope" \(build the playground first\)$/,
    );
    await expect(serveStatic(root, 70000)).rejects.toThrow('port must be an integer in [0, 65535], got 70000');
  });
});
