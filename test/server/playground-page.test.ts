/** The handler serves the built playground page under /playground/, and says how to build it when it is missing. */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler } from '../../src/server/handler.ts';
import { PLAYGROUND_BUILD, PLAYGROUND_BUILD_COMMAND } from '../../src/server/playground-page.ts';
import { projectRoot } from '../helpers/data.ts';

const get = (h: ReturnType<typeof createHandler>, path: string, method = 'GET') =>
  h(new Request(`http://localhost${path}`, { method }));

describe('the playground page behind the handler', () => {
  let root: string;
  let page: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'amdm-page-'));
    page = join(root, 'dist');
    await mkdir(join(page, 'zoo'), { recursive: true });
    await writeFile(join(page, 'index.html'), '<p>page</p>');
    await writeFile(join(page, 'app.js'), 'export {};');
    await writeFile(join(page, 'ort-wasm-simd-threaded.wasm'), new Uint8Array([0, 97, 115, 109]));
    await writeFile(join(page, 'zoo', 'files.json'), '{"files":{}}');
    await writeFile(join(root, 'secret.txt'), 'outside');
    await symlink(join(root, 'secret.txt'), join(page, 'link.txt'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('serves the files with their types; / and /playground redirect to /playground/', async () => {
    const h = createHandler({ playground: page });
    for (const path of ['/', '/playground']) {
      const r = await get(h, path);
      expect([r.status, r.headers.get('location')]).toEqual([302, 'playground/']);
      expect(new URL(r.headers.get('location')!, `http://localhost${path}`).pathname).toBe('/playground/');
    }
    const index = await get(h, '/playground/');
    expect([index.status, index.headers.get('content-type'), await index.text()]).toEqual([
      200,
      'text/html; charset=utf-8',
      '<p>page</p>',
    ]);
    const wasm = await get(h, '/playground/ort-wasm-simd-threaded.wasm');
    expect([wasm.status, wasm.headers.get('content-type'), new Uint8Array(await wasm.arrayBuffer())]).toEqual([
      200,
      'application/wasm',
      new Uint8Array([0, 97, 115, 109]),
    ]);
    expect((await get(h, '/playground/zoo/files.json')).headers.get('content-type')).toBe(
      'application/json; charset=utf-8',
    );
    const head = await get(h, '/playground/app.js', 'HEAD');
    expect([head.status, head.headers.get('content-type'), await head.text()]).toEqual([
      200,
      'text/javascript; charset=utf-8',
      '',
    ]);
  });

  it('refuses paths that leave the folder, other methods and missing files, in JSON', async () => {
    const h = createHandler({ playground: page });
    const error = async (path: string, method = 'GET') => {
      const r = await get(h, path, method);
      return [r.status, ((await r.json()) as { error: string }).error];
    };
    expect(await error('/playground/..%2fsecret.txt')).toEqual([
      403,
      '/playground/..%2fsecret.txt: outside the served folder',
    ]);
    expect(await error('/playground/link.txt')).toEqual([403, '/playground/link.txt: outside the served folder']);
    expect(await error('/playground/%E0%A4%A')).toEqual([400, '/playground/%E0%A4%A: bad path']);
    expect(await error('/playground/nope.js')).toEqual([404, 'the playground page has no file /playground/nope.js']);
    expect(await error('/playground/', 'POST')).toEqual([405, '/playground/ takes GET or HEAD, got POST']);
    // the API's routes are unchanged
    expect((await get(h, '/health')).status).toBe(200);
    expect(await error('/nope')).toEqual([
      404,
      'no route /nope; routes: GET /health, POST /v1/generate, POST /v1/demo, GET /playground/ (the page)',
    ]);
  });

  it('answers 404 naming the build command while the page is not built', async () => {
    const missing = join(root, 'not-built');
    for (const h of [createHandler({ playground: missing }), createHandler({ playground: null })]) {
      for (const path of ['/', '/playground', '/playground/', '/playground/app.js']) {
        const r = await get(h, path);
        expect(r.status).toBe(404);
        expect(r.headers.get('content-type')).toBe('application/json; charset=utf-8');
        const { error } = (await r.json()) as { error: string };
        expect(error).toMatch(
          /^the playground page is not built \((its folder holds no index\.html|this server was started without one)\): run `npm run playground -- --build-only` in the amdm checkout/,
        );
      }
    }
    expect(PLAYGROUND_BUILD_COMMAND).toBe('npm run playground -- --build-only');
    expect(() => createHandler({ playground: '' })).toThrow('playground must be a folder path or null, got ""');
  });

  it('defaults to the checkout’s playground/dist', () => {
    expect(PLAYGROUND_BUILD).toBe(join(projectRoot, 'playground', 'dist') + '/');
  });
});
