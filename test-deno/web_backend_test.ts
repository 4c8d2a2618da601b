// onnxruntime-web under Deno without --allow-ffi (no native addon): backend 'auto' falls back to
// 'web' and says so, and the closed-form ONNX experts and a generated SD folder give the latents
// of the pure-JS experts and the same image as under Node (test/onnx/backends.test.ts checks
// node against web; test/helpers/server-requests.ts holds the image's bytes).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSchedule } from '../src/core/schedule.ts';
import { sampleAMDM } from '../src/core/sampler.ts';
import { shapesExpertDenoiser } from '../src/onnx/export-gmm.ts';
import { openSession } from '../src/onnx/session.ts';
import { runJob } from '../src/jobs/generate.ts';
import { parseJob } from '../src/jobs/job-schema.ts';
import { makePromptSet } from '../src/toy/shapes/prompts.ts';
import { makeWorld } from '../src/toy/shapes/world.ts';
import { sdTinyFiles } from '../fixtures/sd-tiny.ts';
import { needs } from './permissions.ts';
import { FIXTURE_JOB, FIXTURE_JOB_PNG_SHA256, sha256, writeModelRoot } from '../test/helpers/server-requests.ts';

const gate = await needs('web_backend_test.ts', ['write', 'env', 'sys']);

function check(cond: boolean, message: string): void {
  if (!cond) throw new Error(message);
}

Deno.test({ name: "backend 'auto' without --allow-ffi runs onnxruntime-web and says why", ...gate }, async () => {
  const messages: string[] = [];
  const s = await openSession(sdTinyFiles().get('vae_decoder/model.onnx')!, { onFallback: (m) => messages.push(m) });
  await s.release();
  const ffi = (await Deno.permissions.query({ name: 'ffi' })).state === 'granted';
  check(s.backend === (ffi ? 'node' : 'web'), `backend ${s.backend} with ffi ${ffi}`);
  if (!ffi) check(messages.length === 1 && messages[0].startsWith("backend 'auto': onnxruntime-node could not be loaded ("), `messages ${messages}`);
});

Deno.test({ name: "closed-form ONNX experts through backend 'web' match the JS experts (≤ 1e-4)", ...gate }, async () => {
  const world = makeWorld();
  const schedule = makeSchedule();
  const [prompt] = makePromptSet(world, { seed: 5, count: 1, levels: [2] });
  const run = async (backend: 'js' | 'onnx') => {
    const layout = await shapesExpertDenoiser(world, prompt, 'layout', schedule, backend, { backend: 'web' });
    const attribute = await shapesExpertDenoiser(world, prompt, 'attribute', schedule, backend, { backend: 'web' });
    try {
      return await sampleAMDM({ models: [layout, attribute], steps: 12, aggregateSteps: 4, shape: [3, world.height, world.width], seed: 3, batch: 2, schedule });
    } finally {
      await layout.release();
      await attribute.release();
    }
  };
  const js = await run('js');
  const web = await run('onnx');
  let worst = 0;
  for (let i = 0; i < js.latents.length; i++) worst = Math.max(worst, Math.abs(js.latents[i] - web.latents[i]));
  check(worst <= 1e-4, `max |Δ| = ${worst}`);
});

Deno.test({ name: "a generated SD job through backend 'web' gives the image Node gives", ...gate }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'amdm-deno-web-'));
  try {
    await writeModelRoot(root);
    const job = parseJob({ ...FIXTURE_JOB, backend: 'web', models: FIXTURE_JOB.models.map((m) => ({ folder: join(root, m.folder) })) });
    const run = await runJob(job);
    check(sha256(run.files[0].data as Uint8Array) === FIXTURE_JOB_PNG_SHA256, `PNG sha256 ${sha256(run.files[0].data as Uint8Array)}`);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
