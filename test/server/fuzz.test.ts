/**
 * Property-based fuzzing of the request schema: random JSON, random bodies, and the fixture job
 * with fields replaced, dropped or added, sent with random methods, paths, formats and content
 * types. Every answer must be a result (200) or a JSON error `{ error, field? }` with a 4xx
 * status — never a 500, never a hang (each request has a deadline).
 */
import { rm } from 'node:fs/promises';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler, type AmdmHandler } from '../../src/server/handler.ts';
import { DEMO_REQUEST, FIXTURE_JOB } from '../helpers/server-requests.ts';
import { makeServerRoot } from '../helpers/server-scenarios.ts';

let root: string;
let h: AmdmHandler;
beforeAll(async () => {
  root = await makeServerRoot();
  // small limits keep accepted jobs short; queue 0: a request never waits
  h = createHandler({ modelRoots: [root], limits: { steps: 8, batch: 2, imageSide: 128 }, queue: 0 });
});
afterAll(async () => {
  await h?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

const DEADLINE_MS = 30_000;
const STATUSES = [200, 204, 400, 403, 404, 405, 413, 415, 429];

/** A JSON value of any shape, with the numbers and strings that break parsers. */
const jsonValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(-1, 0, 1.5, 1e308, -0, 2 ** 53, 1024, '', '..', '/etc', 'a\u0000b', '\ud800', null, [], {}),
);

const JOB_FIELDS = [...Object.keys(FIXTURE_JOB), 'threads', 'device', 'height', 'width', 'batch', 'target', 'rule'];

/** The fixture job with some fields replaced, dropped or added. */
const mutatedJob = fc
  .record({
    set: fc.array(fc.tuple(fc.constantFrom(...JOB_FIELDS, 'models[0]', 'extra'), jsonValue), { maxLength: 3 }),
    drop: fc.array(fc.constantFrom(...JOB_FIELDS), { maxLength: 2 }),
    steps: fc.integer({ min: 1, max: 4 }),
  })
  .map(({ set, drop, steps }) => {
    const job: Record<string, unknown> = { ...FIXTURE_JOB, steps, aggregateSteps: 1 };
    for (const [k, v] of set) {
      if (k === 'models[0]') job.models = [v, FIXTURE_JOB.models[1]];
      else job[k] = v;
    }
    for (const k of drop) delete job[k];
    return JSON.stringify(job);
  });

const body = fc.oneof(
  mutatedJob,
  jsonValue.map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200 }),
  fc.constant(JSON.stringify({ ...DEMO_REQUEST, steps: 4, s: 2 })),
);

const anyRequest = fc.record({
  method: fc.constantFrom('POST', 'GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'),
  path: fc.constantFrom('/v1/generate', '/v1/demo', '/health', '/nope', '/v1/generate/x', '/%2e%2e/'),
  format: fc.constantFrom('', '?format=json', '?format=png', '?format=events', '?format=gif'),
  type: fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', null),
  body,
});

/** Mostly well-formed POSTs, so that the bodies reach the schema and the model folders. */
const request = fc.oneof(
  {
    weight: 3,
    arbitrary: anyRequest.map((r) => ({ ...r, method: 'POST', path: '/v1/generate', type: 'application/json' })),
  },
  {
    weight: 1,
    arbitrary: anyRequest.map((r) => ({ ...r, method: 'POST', path: '/v1/demo', type: 'application/json' })),
  },
  { weight: 1, arbitrary: anyRequest },
);

async function send(r: {
  method: string;
  path: string;
  format: string;
  type: string | null;
  body: string;
}): Promise<Response> {
  const headers: Record<string, string> = r.type === null ? {} : { 'content-type': r.type };
  const withBody = r.method !== 'GET' && r.method !== 'HEAD';
  const req = new Request(`http://localhost${r.path}${r.format}`, {
    method: r.method,
    headers,
    body: withBody ? new TextEncoder().encode(r.body) : undefined,
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`no answer in ${DEADLINE_MS} ms`)), DEADLINE_MS);
  });
  try {
    return await Promise.race([h(req), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

describe('fuzzing the request schema', () => {
  it('every request gets a result or a JSON 4xx error, never a 500 or a hang', async () => {
    const tally = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const res = await send(r);
        tally.set(res.status, (tally.get(res.status) ?? 0) + 1);
        expect(STATUSES, `${res.status} for ${JSON.stringify(r)}`).toContain(res.status);
        const type = res.headers.get('content-type') ?? '';
        if (res.status === 200 || res.status === 204) {
          if (type.startsWith('text/event-stream')) {
            const text = await res.text();
            expect(text).toMatch(/event: (result|error)\n/);
            expect(text).not.toMatch(/"status":500/);
          } else await res.arrayBuffer();
          return;
        }
        if (r.method === 'HEAD') return void expect(await res.text()).toBe('');
        expect(type).toBe('application/json; charset=utf-8');
        const json = (await res.json()) as { error: unknown; field?: unknown };
        expect(typeof json.error).toBe('string');
        expect(json.field === undefined || typeof json.field === 'string').toBe(true);
        expect(json.error as string).not.toContain(root);
      }),
      { numRuns: 400 },
    );
    console.log(
      `fuzz: answers by status ${JSON.stringify(Object.fromEntries([...tally].sort((a, b) => a[0] - b[0])))}`,
    );
    expect(h.stats()).toMatchObject({ running: 0, queued: 0 });
  }, 300_000);
});
