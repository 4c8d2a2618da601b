/**
 * Cold start and warm latency of the HTTP server, in-process on loopback:
 *   import     loading the server modules (what a function's cold start pays first)
 *   first      the first request of a kind (fixture job: loading its ONNX folders)
 *   warm       the median of the next requests (folders already loaded)
 * for the demo request and the fixture job of test/helpers/server-requests.ts.
 *
 *   npx tsx bench/serve-latency.ts [--runs 5] [--backend node|web]
 *   node_modules/.bin/deno run -A bench/serve-latency.ts [--runs 5] [--backend node|web]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import process from 'node:process';
import { DEMO_REQUEST, FIXTURE_JOB, writeModelRoot } from '../test/helpers/server-requests.ts';
import { markdownTable } from '../src/jobs/table.ts';

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { runs: { type: 'string', default: '5' }, backend: { type: 'string', default: 'node' } },
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new RangeError(`--runs must be an integer ≥ 1, got ${values.runs}`);
if (values.backend !== 'node' && values.backend !== 'web')
  throw new RangeError(`--backend must be node or web, got ${values.backend}`);

const root = await mkdtemp(join(tmpdir(), 'amdm-bench-serve-'));
await writeModelRoot(root);
const t0 = performance.now();
const { listen } = await import('../src/server/listen.ts');
const server = await listen({
  port: 0,
  modelRoots: [root],
  limits: { demoSamples: 64 },
  session: { backend: values.backend },
});
const importMs = performance.now() - t0;

async function timed(path: string, body: unknown): Promise<number> {
  const t = performance.now();
  const r = await fetch(new URL(path, server.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await r.arrayBuffer();
  if (r.status !== 200) throw new Error(`${path} answered ${r.status}`);
  return performance.now() - t;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const rows: [string, number, number][] = [];
for (const [name, path, body] of [
  ['demo (2 prompts × 1 sample, 8 steps)', '/v1/demo', DEMO_REQUEST],
  [
    `fixture job (2 sd-tiny folders, 6 steps, backend ${values.backend})`,
    '/v1/generate',
    { ...FIXTURE_JOB, backend: values.backend },
  ],
] as const) {
  const first = await timed(path, body);
  const warm: number[] = [];
  for (let i = 0; i < runs; i++) warm.push(await timed(path, body));
  rows.push([name, first, median(warm)]);
}
await server.close();
await rm(root, { recursive: true, force: true });

const runtime = typeof (globalThis as { Deno?: unknown }).Deno === 'object' ? 'Deno' : `Node ${process.version}`;
console.log(`${runtime}: server modules imported and listening in ${importMs.toFixed(0)} ms`);
console.log(
  markdownTable(
    ['request', 'first (ms)', 'warm median (ms)'],
    rows.map(([n, f, w]) => [n, f.toFixed(0), w.toFixed(0)]),
  ),
);
