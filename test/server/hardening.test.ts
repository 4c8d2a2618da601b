/**
 * What no request may do to the server: raise the operator's thread, backend or device
 * settings, start jobs from another site or through a foreign Host name, get an answer that is
 * not JSON, or go uncounted. In-process requests to the fetch handler, and raw sockets on
 * loopback for what node:http refuses before the handler sees it.
 */
import { connect } from 'node:net';
import { availableParallelism } from 'node:os';
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler, type AmdmHandler, type HandlerOptions } from '../../src/server/handler.ts';
import { listen } from '../../src/server/listen.ts';
import { FIXTURE_JOB } from '../helpers/server-requests.ts';
import { makeServerRoot } from '../helpers/server-scenarios.ts';

let root: string;
const handlers: AmdmHandler[] = [];
beforeAll(async () => {
  root = await makeServerRoot();
});
afterAll(async () => {
  await Promise.all(handlers.map((h) => h.close()));
  if (root) await rm(root, { recursive: true, force: true });
});

function handler(opts: HandlerOptions = {}): AmdmHandler {
  const h = createHandler({ modelRoots: [root], ...opts });
  handlers.push(h);
  return h;
}

const JSON_TYPE = { 'content-type': 'application/json' };

function post(h: AmdmHandler, path: string, body: unknown, headers: Record<string, string> = JSON_TYPE, init = {}) {
  return h(
    new Request(`http://localhost:8787${path}`, {
      method: 'POST',
      headers,
      body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
      ...init,
    }),
  );
}

async function expectError(r: Response, status: number, field: string | undefined, message: string | RegExp) {
  const text = await r.text();
  expect(r.status, text).toBe(status);
  const json = JSON.parse(text) as { error: string; field?: string };
  expect(json.field).toBe(field);
  if (typeof message === 'string') expect(json.error).toBe(message);
  else expect(json.error).toMatch(message);
}

describe('a job cannot raise the operator’s settings (threads, backend, device)', () => {
  it('threads above the server’s are a 400 naming threads; the default cap is the number of cores', async () => {
    const h = handler();
    const cores = availableParallelism();
    await expectError(
      await post(h, '/v1/generate', { ...FIXTURE_JOB, threads: 1024 }),
      400,
      'threads',
      `threads: must be ≤ ${cores} on this server (amdm serve --threads), got 1024`,
    );
    const two = handler({ session: { threads: 2 } });
    await expectError(
      await post(two, '/v1/generate', { ...FIXTURE_JOB, threads: 3 }),
      400,
      'threads',
      'threads: must be ≤ 2 on this server (amdm serve --threads), got 3',
    );
    const ok = await post(two, '/v1/generate', { ...FIXTURE_JOB, threads: 1 });
    expect(ok.status).toBe(200);
    await ok.arrayBuffer();
  });

  it('a backend or device other than the server’s is a 400 naming it; web only where the operator chose it', async () => {
    const h = handler();
    await expectError(
      await post(h, '/v1/generate', { ...FIXTURE_JOB, backend: 'web' }),
      400,
      'backend',
      "backend: this server runs backend 'node' (amdm serve --backend); a job may name 'node' or 'auto', got 'web'",
    );
    await expectError(
      await post(h, '/v1/generate', { ...FIXTURE_JOB, device: 'cuda' }),
      400,
      'device',
      "device: this server runs on 'cpu' (amdm serve --device); a job may name 'cpu', got 'cuda'",
    );
    const health = (await (await h(new Request('http://localhost/health'))).json()) as { session: unknown };
    expect(health.session).toEqual({ device: 'cpu', backend: 'node', threads: 0, maxThreads: availableParallelism() });
    expect(() => createHandler({ session: { threads: 2000 } })).toThrow(
      "session.threads must be an integer in [0, 1024] (0: onnxruntime's default), got 2000",
    );
  });
});

describe('cross-site requests and foreign Host names are refused', () => {
  it('a POST without application/json is 415, whatever else it carries', async () => {
    const h = handler();
    const body = new TextEncoder().encode(JSON.stringify(FIXTURE_JOB));
    await expectError(
      await post(h, '/v1/generate', body, {}),
      415,
      'content-type',
      'content-type must be application/json, got none',
    );
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/jsonp',
    ])
      await expectError(
        await post(h, '/v1/demo', '{}', { 'content-type': type }),
        415,
        'content-type',
        `content-type must be application/json, got ${JSON.stringify(type)}`,
      );
  });

  it('Host: localhost, *.localhost and IP addresses answer; another name is 403 unless allowed', async () => {
    const h = handler();
    const health = (host: string, hh: AmdmHandler = h) =>
      hh(new Request('http://localhost/health', { headers: { host } }));
    for (const host of ['localhost:8787', '127.0.0.1:8787', '[::1]:8787', 'app.localhost', '10.0.0.2'])
      expect((await health(host)).status, host).toBe(200);
    await expectError(
      await health('attacker.example:8787'),
      403,
      'host',
      'host: this server does not answer as "attacker.example" (a DNS-rebinding guard); its operator can allow it with amdm serve --allow-host attacker.example',
    );
    const allowed = handler({ allowHosts: ['amdm.lan'] });
    expect((await health('amdm.lan:8787', allowed)).status).toBe(200);
    expect((await health('other.lan', allowed)).status).toBe(403);
    expect((await health('other.lan', handler({ allowHosts: ['*'] }))).status).toBe(200);
    expect(() => createHandler({ allowHosts: ['a b'] })).toThrow('allowHosts: "a b" is not valid');
  });

  it('a cross-origin request is 403 unless --allow-origin lists it; preflights answer accordingly', async () => {
    const h = handler({ allowOrigins: ['https://app.example'] });
    await expectError(
      await post(h, '/v1/demo', {}, { ...JSON_TYPE, origin: 'https://evil.example' }),
      403,
      'origin',
      'origin: requests from "https://evil.example" are not allowed (a cross-site guard); its operator can allow them with amdm serve --allow-origin https://evil.example',
    );
    await expectError(await post(h, '/v1/demo', {}, { ...JSON_TYPE, origin: 'null' }), 403, 'origin', /"null"/);
    // the server's own origin (the playground page) and an allowed one
    const same = await post(
      h,
      '/v1/demo?format=json',
      { prompts: 1, samples: 1, steps: 4, s: 2, gridPrompts: 0 },
      {
        ...JSON_TYPE,
        origin: 'http://localhost:8787',
      },
    );
    expect(same.status).toBe(200);
    expect(same.headers.get('access-control-allow-origin')).toBeNull();
    await same.arrayBuffer();
    // the same host behind a TLS proxy (the server sees http, the page is https)
    const proxied = await h(
      new Request('http://localhost/health', { headers: { host: 'amdm.localhost', origin: 'https://amdm.localhost' } }),
    );
    expect(proxied.status).toBe(200);
    expect(proxied.headers.get('access-control-allow-origin')).toBeNull();
    const health = await h(new Request('http://localhost/health', { headers: { origin: 'https://app.example' } }));
    expect(health.status).toBe(200);
    expect(health.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(health.headers.get('vary')).toBe('origin');
    const preflight = (origin: string) =>
      h(
        new Request('http://localhost/v1/generate', {
          method: 'OPTIONS',
          headers: {
            origin,
            'access-control-request-method': 'POST',
            'access-control-request-headers': 'content-type',
          },
        }),
      );
    const ok = await preflight('https://app.example');
    expect(ok.status).toBe(204);
    expect(Object.fromEntries(ok.headers)).toMatchObject({
      'access-control-allow-origin': 'https://app.example',
      'access-control-allow-methods': 'POST',
      'access-control-allow-headers': 'content-type',
    });
    await expectError(await preflight('https://evil.example'), 403, 'origin', /evil\.example/);
    expect(() => createHandler({ allowOrigins: ['https://a.example/path'] })).toThrow(
      'allowOrigins: "https://a.example/path" is not valid',
    );
  });
});

describe('protocol details', () => {
  it('HEAD answers as GET without a body; 405 names GET, HEAD', async () => {
    const h = handler();
    const r = await h(new Request('http://localhost/health', { method: 'HEAD' }));
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await r.text()).toBe('');
    await expectError(
      await h(new Request('http://localhost/health', { method: 'DELETE' })),
      405,
      undefined,
      '/health takes GET, HEAD, got DELETE',
    );
  });

  it('a request aborted while it waits for a slot counts as aborted', async () => {
    const h = handler({ concurrency: 1, queue: 1, limits: { steps: 400 } });
    const slow = new AbortController();
    const running = post(
      h,
      '/v1/demo?format=events',
      { prompts: 2, samples: 4, steps: 400, s: 100, gridPrompts: 1 },
      JSON_TYPE,
      {
        signal: slow.signal,
      },
    );
    const events = (await running).body!.getReader();
    await events.read(); // the first progress event: the job holds the slot
    const waiting = new AbortController();
    const queued = post(h, '/v1/demo', { prompts: 1, samples: 1, steps: 4, s: 2 }, JSON_TYPE, {
      signal: waiting.signal,
    });
    for (let i = 0; i < 100 && h.stats().queued === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(h.stats().queued).toBe(1);
    waiting.abort();
    await queued.catch(() => undefined);
    slow.abort();
    await events.cancel().catch(() => undefined);
    for (let i = 0; i < 200 && h.stats().running > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(h.stats()).toMatchObject({ running: 0, queued: 0, aborted: 2, completed: 0 });
  });

  it('requests that node:http refuses answer a JSON error too', async () => {
    const server = await listen({ host: '127.0.0.1', port: 0 });
    const port = Number(new URL(server.url).port);
    const raw = (text: string) =>
      new Promise<string>((done, fail) => {
        const s = connect(port, '127.0.0.1', () => s.end(text));
        let got = '';
        s.on('data', (d) => (got += String(d)));
        s.on('error', fail);
        s.on('close', () => done(got));
      });
    try {
      const cases: [string, number][] = [
        ['FOO /health HTTP/1.1\r\nHost: localhost\r\n\r\n', 400],
        ['POST /v1/demo HTTP/1.1\r\nHost: localhost\r\nContent-Length: abc\r\n\r\n', 400],
        [`GET /${'x'.repeat(20_000)} HTTP/1.1\r\nHost: localhost\r\n\r\n`, 431],
      ];
      for (const [request, status] of cases) {
        const answer = await raw(request);
        expect(answer.split('\r\n')[0]).toBe(
          `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}`,
        );
        expect(answer).toContain('content-type: application/json');
        expect(Object.keys(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)))).toEqual(['error']);
      }
    } finally {
      await server.close();
    }
  });
});

describe('long prompts', () => {
  it('a prompt the text encoder cuts is reported to the client: JSON warnings and the x-amdm-warnings header', async () => {
    const h = handler();
    const prompt = 'a red square left of a blue square '.repeat(12);
    const json = await post(h, '/v1/generate?format=json', { ...FIXTURE_JOB, prompt });
    expect(json.status).toBe(200);
    const body = (await json.json()) as { warnings: string[] };
    expect(body.warnings.length).toBeGreaterThan(0);
    expect(body.warnings[0]).toMatch(/77/);
    expect(JSON.parse(json.headers.get('x-amdm-warnings')!)).toEqual(body.warnings);
    const png = await post(h, '/v1/generate', { ...FIXTURE_JOB, prompt });
    expect(png.headers.get('content-type')).toBe('image/png');
    expect(JSON.parse(png.headers.get('x-amdm-warnings')!)).toEqual(body.warnings);
    await png.arrayBuffer();
    const short = await post(h, '/v1/generate?format=json', FIXTURE_JOB);
    expect(((await short.json()) as { warnings: string[] }).warnings).toEqual([]);
    expect(short.headers.get('x-amdm-warnings')).toBeNull();
  });

  it('a prompt (or a condition text) over --max-prompt characters is a 400 naming it, refused before it is tokenized', async () => {
    const h = handler({ limits: { promptChars: 100 } });
    await expectError(
      await post(h, '/v1/generate', { ...FIXTURE_JOB, prompt: 'x'.repeat(101) }),
      400,
      'prompt',
      "prompt: 101 characters is over this server's limit of 100 (the text encoder reads 77 tokens)",
    );
    await expectError(
      await post(h, '/v1/generate', {
        ...FIXTURE_JOB,
        models: [{ folder: 'a', prompt: 'y'.repeat(200) }, { folder: 'b' }],
      }),
      400,
      'models[0].prompt',
      /^models\[0\]\.prompt: 200 characters/,
    );
    const big = handler(); // the default limit, 4096 characters, with a 1 MiB prompt
    await expectError(
      await post(big, '/v1/generate', { ...FIXTURE_JOB, prompt: 'z'.repeat((1 << 20) - 400) }),
      400,
      'prompt',
      /^prompt: 1048176 characters is over this server's limit of 4096/,
    );
  });
});
