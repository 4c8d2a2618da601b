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
