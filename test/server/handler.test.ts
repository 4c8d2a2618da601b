/** The HTTP handler under Node: real requests on loopback (scenarios shared with Deno). */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJob } from '../../src/jobs/generate.ts';
import { parseJob } from '../../src/jobs/job-schema.ts';
import { createHandler } from '../../src/server/handler.ts';
import { listen, type RunningServer } from '../../src/server/listen.ts';
import { FIXTURE_JOB, FIXTURE_JOB_PNG_SHA256, sha256 } from '../helpers/server-requests.ts';
import { makeServerRoot, SERVER_SCENARIOS, TEST_SERVER, type ServerContext } from '../helpers/server-scenarios.ts';

let server: RunningServer;
let ctx: ServerContext;
beforeAll(async () => {
  const root = await makeServerRoot();
  server = await listen({ ...TEST_SERVER, modelRoots: [root] });
  ctx = { url: server.url, root };
});
afterAll(async () => {
  await server?.close();
  if (ctx) await rm(ctx.root, { recursive: true, force: true });
});

describe('amdm serve on loopback (Node)', () => {
  for (const s of SERVER_SCENARIOS) it(s.name, () => s.run(ctx), 60_000);

  it('answers the bytes that generate computes for the same job', async () => {
    const job = parseJob({
      ...FIXTURE_JOB,
      models: FIXTURE_JOB.models.map((m) => ({ folder: `${ctx.root}/${m.folder}` })),
    });
    const run = await runJob(job);
    expect(sha256(run.files[0].data as Uint8Array)).toBe(FIXTURE_JOB_PNG_SHA256);
  });

  it('takes windows, weight schedules and spatial maps through the job schema; a bad one is a 400 naming the field', async () => {
    const post = (body: unknown) =>
      fetch(new URL('/v1/generate?format=json', server.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const r = await post({
      ...FIXTURE_JOB,
      saveTrace: true,
      windows: [[1, 4]],
      weights: { kind: 'cosine', from: 1, to: 0.5 },
      spatial: [{ boxes: [[0, 0, 0.5, 1]], feather: 2 }],
      spatialDeviation: true,
    });
    expect(r.status).toBe(200);
    const j = (await r.json()) as { trace: { steps: { weights?: number[] }[] }; resolved: { calls: number[] } };
    expect(j.resolved.calls).toEqual([6, 3]);
    expect(j.trace.steps.map((t) => t.weights)).toEqual([undefined, [1], [0.75], [0.5], undefined, undefined]);
    const bad = await post({ ...FIXTURE_JOB, spatial: [{ boxes: [[0, 0, 0.5, 1]], feather: -1 }] });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toBe(
      'job: spatial[0].feather: Too small: expected number to be >=0',
    );
  });

  it('a server without model roots runs the demo only; bad options name the option', async () => {
    const h = createHandler();
    const r = await h(
      new Request('http://localhost/v1/generate', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(FIXTURE_JOB),
      }),
    );
    expect(r.status).toBe(403);
    expect(((await r.json()) as { error: string }).error).toBe(
      'models[0].folder: this server has no model roots configured, so no job can name a model',
    );
    expect(() => createHandler({ concurrency: 0 })).toThrow('concurrency must be an integer ≥ 1, got 0');
    expect(() => createHandler({ limits: { steps: 1.5 } })).toThrow('limits.steps must be an integer ≥ 1, got 1.5');
    await expect(createHandler({ modelRoots: ['/nonexistent/amdm'] }).ready()).rejects.toThrow(
      'modelRoots[0]: /nonexistent/amdm is not a folder',
    );
    await h.close();
  });
});
