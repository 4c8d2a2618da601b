/**
 * A bounded soak on loopback: 500 mixed requests from 8 clients at once (health and HEAD,
 * generate and demo runs, bad and oversized bodies, foreign Hosts and Origins, and runs the
 * client aborts mid-way) against one server. Afterwards nothing runs or waits, every request
 * is accounted for, the process's memory and OS thread count are back near their baseline
 * (taken after a warm-up that loads the models), and nothing was written to the model root or
 * the working folder.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, type RunningServer } from '../../src/server/listen.ts';
import { DEMO_REQUEST, FIXTURE_JOB } from '../helpers/server-requests.ts';
import { makeServerRoot } from '../helpers/server-scenarios.ts';

const REQUESTS = 500;
const CLIENTS = 8;
let server: RunningServer;
let root: string;

beforeAll(async () => {
  root = await makeServerRoot();
  server = await listen({ host: '127.0.0.1', port: 0, modelRoots: [root], concurrency: 2, queue: 4 });
});
afterAll(async () => {
  await server?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

/** OS threads of this process (Linux), else null. */
function threads(): number | null {
  try {
    return Number(/^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]);
  } catch {
    return null;
  }
}

const listing = (dir: string) => readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort().join('\n');
const json = { 'content-type': 'application/json' };
const SMALL_DEMO = { ...DEMO_REQUEST, gridPrompts: 0 };

/** Request `i` of the mix: what to send and the statuses it may get. */
function mix(i: number): { path: string; init: RequestInit; ok: number[]; abortMs?: number } {
  const post = (body: unknown, headers: Record<string, string> = json): RequestInit => ({
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  switch (i % 10) {
    case 0:
    case 1:
      return { path: '/health', init: { method: i % 2 ? 'HEAD' : 'GET' }, ok: [200] };
    case 2:
      return { path: '/v1/generate?format=json', init: post({ ...FIXTURE_JOB, seed: i }), ok: [200, 429] };
    case 3:
      return { path: '/v1/demo?format=json', init: post({ ...SMALL_DEMO, seed: i }), ok: [200, 429] };
    case 4:
      return { path: '/v1/generate', init: post('{"prompt": '), ok: [400] };
    case 5:
      return { path: '/v1/generate', init: post({ ...FIXTURE_JOB, threads: 4096 }), ok: [400] };
    case 6:
      return { path: '/v1/demo', init: post('{}', { 'content-type': 'text/plain' }), ok: [415] };
    case 7:
      return { path: '/v1/demo', init: post('{}', { ...json, origin: 'https://evil.example' }), ok: [403] };
    case 8:
      return { path: '/v1/generate', init: post({ ...FIXTURE_JOB, prompt: 'x'.repeat(2 << 20) }), ok: [413] };
    default:
      // a run the client gives up on: aborted while queued, while running, or after the answer
      return {
        path: '/v1/generate?format=events',
        init: post({ ...FIXTURE_JOB, steps: 40, seed: i }),
        ok: [200, 429],
        abortMs: 5 + ((i * 37) % 200),
      };
  }
}

async function one(i: number): Promise<string> {
  const { path, init, ok, abortMs } = mix(i);
  const client = new AbortController();
  const timer = abortMs === undefined ? undefined : setTimeout(() => client.abort(), abortMs);
  try {
    const r = await fetch(new URL(path, server.url), { ...init, signal: client.signal });
    expect(ok, `${path} #${i}: ${r.status}`).toContain(r.status);
    await r.arrayBuffer();
    return `${r.status}`;
  } catch (e) {
    if (client.signal.aborted) return 'aborted';
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

describe('soak', () => {
  it(`${REQUESTS} mixed requests, some aborted: the server returns to its baseline and writes nothing`, async () => {
    const rootBefore = listing(root);
    const cwdBefore = readdirSync('.').sort().join();
    // warm-up: the models are loaded once, then the baseline is taken
    for (let i = 0; i < 3; i++) await one(2);
    await one(3);
    global.gc?.();
    const baseline = { rss: process.memoryUsage().rss, threads: threads() };

    const outcomes = new Map<string, number>();
    let next = 0;
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (next < REQUESTS) {
          const o = await one(next++);
          outcomes.set(o, (outcomes.get(o) ?? 0) + 1);
        }
      }),
    );
    console.log(`soak: outcomes ${JSON.stringify(Object.fromEntries(outcomes))}`);

    let stats = server.handler.stats();
    for (let i = 0; i < 200 && (stats.running > 0 || stats.queued > 0); i++) {
      await new Promise((r) => setTimeout(r, 50));
      stats = server.handler.stats();
    }
    expect(stats).toMatchObject({ running: 0, queued: 0, failed: 0 });
    expect(outcomes.get('aborted') ?? 0).toBeGreaterThan(0);
    expect(stats.aborted).toBeGreaterThan(0);
    const after = { rss: process.memoryUsage().rss, threads: threads() };
    console.log(
      `soak: baseline ${JSON.stringify(baseline)}, after ${JSON.stringify(after)}, stats ${JSON.stringify(stats)}`,
    );
    if (baseline.threads !== null) expect(after.threads!).toBeLessThanOrEqual(baseline.threads + 4);
    // the loaded pipelines are the same ones; what grows is garbage the collector has not taken yet
    expect(after.rss - baseline.rss).toBeLessThan(256 * 2 ** 20);
    expect(listing(root)).toBe(rootBefore);
    expect(readdirSync('.').sort().join()).toBe(cwdBefore);
    expect(readdirSync(tmpdir()).filter((f) => f === `mat-debug-${process.pid}.log`)).toEqual([]);
  }, 600_000);
});
