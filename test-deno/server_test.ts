// The HTTP handler under Deno (srvx → Deno.serve): the same loopback scenarios as
// test/server/handler.test.ts, the same PNG bytes. Needs --allow-net --allow-read --allow-write
// --allow-env --allow-sys, and --allow-ffi for the fixture jobs (backend 'node'). The server
// modules are imported inside the test: some of their packages read the environment on load.
import { rm } from 'node:fs/promises';
import { needs } from './permissions.ts';

const gate = await needs('server_test.ts', ['net', 'write', 'env', 'sys', 'ffi']);

Deno.test({ name: 'amdm serve on loopback (Deno)', ...gate }, async (t) => {
  const { listen } = await import('../src/server/listen.ts');
  const { makeServerRoot, SERVER_SCENARIOS, TEST_SERVER } = await import('../test/helpers/server-scenarios.ts');
  const root = await makeServerRoot();
  const server = await listen({ ...TEST_SERVER, modelRoots: [root] });
  try {
    for (const s of SERVER_SCENARIOS) await t.step(s.name, () => s.run({ url: server.url, root }));
  } finally {
    await server.close();
    await rm(root, { recursive: true, force: true });
  }
});
