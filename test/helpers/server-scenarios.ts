/**
 * Real requests to a running handler on loopback, as runtime-neutral scenarios: vitest runs
 * them under Node (test/server/handler.test.ts) and Deno.test under Deno
 * (test-deno/server_test.ts), against the same server settings. Each asserts values and
 * messages and throws with what it got.
 */
import { mkdtemp, readdir, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ListenOptions } from '../../src/server/listen.ts';
import {
  DEMO_PNG_SHA256,
  DEMO_REQUEST,
  FIXTURE_JOB,
  FIXTURE_JOB_PNG_SHA256,
  sha256,
  writeModelRoot,
} from './server-requests.ts';

export interface ServerContext {
  url: string;
  root: string;
}

/** One job at a time, none waiting (so a second is refused), small bodies. */
export const TEST_SERVER: Omit<ListenOptions, 'modelRoots'> = {
  host: '127.0.0.1',
  port: 0,
  concurrency: 1,
  queue: 0,
  limits: { bodyBytes: 4096, steps: 400 },
};

/** The model root: fixtures `a` and `b`, and `escape`, a link to a folder outside the root. */
export async function makeServerRoot(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'amdm-serve-root-'));
  await writeModelRoot(root);
  const outside = await mkdtemp(join(tmpdir(), 'amdm-serve-outside-'));
  await writeModelRoot(outside);
  await symlink(join(outside, 'a'), join(root, 'escape'));
  return root;
}

function check(cond: boolean, message: string): void {
  if (!cond) throw new Error(message);
}

const post = (ctx: ServerContext, path: string, body: unknown, init: RequestInit = {}) =>
  fetch(new URL(path, ctx.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...init,
  });

async function expectError(r: Response, status: number, field: string | undefined, message: RegExp): Promise<void> {
  const text = await r.text();
  check(r.status === status, `expected status ${status}, got ${r.status}: ${text}`);
  const json = JSON.parse(text) as { error: string; field?: string };
  check(json.field === field, `expected field ${field}, got ${json.field}: ${text}`);
  check(message.test(json.error), `expected the error to match ${message}, got ${json.error}`);
}

/** PNG signature and the IHDR size. */
function pngSize(b: Uint8Array): [number, number] {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  check(
    sig.every((v, i) => b[i] === v),
    'the answer is not a PNG',
  );
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return [dv.getUint32(16), dv.getUint32(20)];
}

/** Server-sent events as { event, data } until the stream ends or `stop` says so (the stream stays open then). */
async function readEvents(r: Response, stop: (e: { event: string; data: unknown }) => boolean = () => false) {
  const events: { event: string; data: unknown }[] = [];
  const reader = r.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buf += value;
    let cut;
    while ((cut = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
      const e = { event, data: JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? 'null') };
      events.push(e);
      if (stop(e)) {
        reader.releaseLock();
        return events;
      }
    }
  }
  return events;
}

async function health(ctx: ServerContext) {
  const r = await fetch(new URL('/health', ctx.url));
  check(r.status === 200, `health answered ${r.status}`);
  return (await r.json()) as { running: number; queued: number; completed: number; aborted: number; pipelines: number };
}

export const SERVER_SCENARIOS: readonly { name: string; run(ctx: ServerContext): Promise<void> }[] = [
  {
    name: 'a seeded job answers a 64×64 PNG with the same bytes in every runtime; a second request reuses the loaded models',
    async run(ctx) {
      for (let i = 0; i < 2; i++) {
        const r = await post(ctx, '/v1/generate', FIXTURE_JOB);
        check(
          r.status === 200 && r.headers.get('content-type') === 'image/png',
          `status ${r.status} ${r.headers.get('content-type')}`,
        );
        const png = new Uint8Array(await r.arrayBuffer());
        check(pngSize(png).join('×') === '64×64', `size ${pngSize(png).join('×')}`);
        check(sha256(png) === FIXTURE_JOB_PNG_SHA256, `PNG sha256 ${sha256(png)}, expected ${FIXTURE_JOB_PNG_SHA256}`);
      }
      check((await health(ctx)).pipelines === 1, 'the two requests should share one loaded pipeline');
    },
  },
  {
    name: 'format json: the image as base64, the trace, folders as the request named them',
    async run(ctx) {
      const r = await post(ctx, '/v1/generate?format=json', { ...FIXTURE_JOB, saveTrace: true });
      check(r.status === 200, `status ${r.status}`);
      const j = (await r.json()) as {
        images: { name: string; base64: string }[];
        trace: { steps: unknown[] };
        resolved: { models: { folder: string }[]; calls: number[] };
      };
      check(j.images.length === 1 && j.images[0].name === 'target.png', `images ${j.images.map((i) => i.name)}`);
      const png = Uint8Array.from(atob(j.images[0].base64), (c) => c.charCodeAt(0));
      check(sha256(png) === FIXTURE_JOB_PNG_SHA256, 'the JSON image differs from the PNG answer');
      check(j.trace.steps.length === 6, `trace of ${j.trace.steps.length} steps`);
      check(
        j.resolved.models.map((m) => m.folder).join() === 'a,b',
        `folders ${j.resolved.models.map((m) => m.folder)}`,
      );
      check(j.resolved.calls.join() === '6,3', `calls ${j.resolved.calls}`);
    },
  },
  {
    name: 'format events: ready, one step per sampler step, then the result',
    async run(ctx) {
      const events = await readEvents(await post(ctx, '/v1/generate?format=events', FIXTURE_JOB));
      const names = events.map((e) => e.event);
      check(names[0] === 'ready' && names.at(-1) === 'result', `events ${names.join(' ')}`);
      check(names.filter((n) => n === 'step').length === 6, `events ${names.join(' ')}`);
      const step = events[1].data as { step: number; t: number };
      check(step.step === 0 && typeof step.t === 'number', `first step ${JSON.stringify(step)}`);
    },
  },
  {
    name: 'the demo answers its grid with the same bytes in every runtime',
    async run(ctx) {
      const r = await post(ctx, '/v1/demo', DEMO_REQUEST);
      check(r.status === 200, `status ${r.status}: ${r.status === 200 ? '' : await r.text()}`);
      const png = new Uint8Array(await r.arrayBuffer());
      check(sha256(png) === DEMO_PNG_SHA256, `grid sha256 ${sha256(png)}, expected ${DEMO_PNG_SHA256}`);
    },
  },
  {
    name: 'bad JSON, a schema error, a wrong content type, an over-limit field: 4xx naming the field',
    async run(ctx) {
      await expectError(await post(ctx, '/v1/generate', '{"prompt": '), 400, 'body', /^body is not valid JSON/);
      await expectError(await post(ctx, '/v1/generate', { ...FIXTURE_JOB, steps: 0 }), 400, 'steps', /^job: steps: /);
      await expectError(
        await post(ctx, '/v1/generate', { ...FIXTURE_JOB, rule: 'cubic' }),
        400,
        'rule',
        /^job: rule: /,
      );
      await expectError(
        await post(ctx, '/v1/generate', { ...FIXTURE_JOB, steps: 401 }),
        400,
        'steps',
        /^steps: must be ≤ 400 on this server, got 401$/,
      );
      await expectError(await post(ctx, '/v1/demo', { s: 9, steps: 4 }), 400, 's', /^demo: s: must be ≤ steps$/);
      await expectError(
        await post(ctx, '/v1/generate', 'x', { headers: { 'content-type': 'text/plain' } }),
        415,
        'content-type',
        /must be application\/json/,
      );
      await expectError(
        await post(ctx, '/v1/generate?format=gif', FIXTURE_JOB),
        400,
        'format',
        /^format must be one of png, json, events/,
      );
      await expectError(
        await post(ctx, '/v1/generate', { ...FIXTURE_JOB, batch: 2 }),
        400,
        'format',
        /^format: png answers one image, this job makes 2/,
      );
    },
  },
  {
    name: 'a path outside the model roots is refused: .., absolute, a link out, a missing folder',
    async run(ctx) {
      const job = (folder: string) => ({ ...FIXTURE_JOB, models: [{ folder }] });
      await expectError(
        await post(ctx, '/v1/generate', job('../a')),
        400,
        'models[0].folder',
        /must be a path relative to a model root, without '\.\.'/,
      );
      await expectError(
        await post(ctx, '/v1/generate', job(join(ctx.root, 'a'))),
        400,
        'models[0].folder',
        /must be a path relative to a model root/,
      );
      await expectError(
        await post(ctx, '/v1/generate', job('escape')),
        400,
        'models[0].folder',
        /"escape" leads outside the model roots/,
      );
      await expectError(
        await post(ctx, '/v1/generate', job('nope')),
        400,
        'models[0].folder',
        /no folder "nope" in the model roots/,
      );
    },
  },
  {
    name: 'an oversized body is refused with 413',
    async run(ctx) {
      await expectError(
        await post(ctx, '/v1/generate', { ...FIXTURE_JOB, prompt: 'x'.repeat(5000) }),
        413,
        'body',
        /over this server's limit of 4096 bytes/,
      );
    },
  },
  {
    name: 'routes: health, 404, 405',
    async run(ctx) {
      const h = await health(ctx);
      check(h.running === 0 && h.queued === 0, `health ${JSON.stringify(h)}`);
      await expectError(await fetch(new URL('/nope', ctx.url)), 404, undefined, /^no route \/nope; routes: /);
      await expectError(
        await fetch(new URL('/v1/generate', ctx.url)),
        405,
        undefined,
        /^\/v1\/generate takes POST, got GET$/,
      );
    },
  },
  {
    name: 'over the concurrency limit a request gets 429; a client that goes away stops its run and leaves nothing behind',
    async run(ctx) {
      const before = await health(ctx);
      const filesBefore = (await readdir(ctx.root)).sort().join();
      const client = new AbortController();
      const slow = await post(
        ctx,
        '/v1/demo?format=events',
        { prompts: 2, samples: 4, steps: 400, s: 100, gridPrompts: 1 },
        { signal: client.signal },
      );
      // the first method is done: the job holds the only slot
      const seen = await readEvents(slow, (e) => e.event === 'progress');
      check(seen.at(-1)?.event === 'progress', `events ${seen.map((e) => e.event)}`);
      const busy = await post(ctx, '/v1/demo', DEMO_REQUEST);
      check(busy.headers.get('retry-after') === '5', `retry-after ${busy.headers.get('retry-after')}`);
      await expectError(
        busy,
        429,
        undefined,
        /^the server is busy: 1 job\(s\) running and 0 waiting \(limits 1 and 0\)/,
      );
      client.abort();
      let h = await health(ctx);
      for (let i = 0; i < 200 && (h.running > 0 || h.aborted === before.aborted); i++) {
        await new Promise((r) => setTimeout(r, 50));
        h = await health(ctx);
      }
      check(h.running === 0 && h.aborted === before.aborted + 1, `after the abort: ${JSON.stringify(h)}`);
      check(h.completed === before.completed, 'the aborted run must not count as completed');
      check((await readdir(ctx.root)).sort().join() === filesBefore, 'the server wrote into the model root');
      const again = await post(ctx, '/v1/demo?format=json', { ...DEMO_REQUEST, gridPrompts: 0 });
      check(again.status === 200, `after the abort a request answers ${again.status}`);
      await again.body?.cancel();
    },
  },
];
