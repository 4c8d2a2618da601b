/**
 * A UNet session in a worker thread (worker-session.ts, `unetWorkers` of the SD pipeline): the same
 * images bit for bit as on the main thread, only the target's UNet calls left on the main thread,
 * the other models' calls of an aggregated step in flight together, and the option checked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { groundedFamilyModels } from '../helpers/family-models.ts';
import { generateSd, prepareSdPipeline, type SdModelSpec } from '../../src/sd/pipeline.ts';
import { createSdModelPool } from '../../src/sd/pipeline-pool.ts';
import { workerRunStats } from '../../src/onnx/worker-session.ts';
import '../../src/sd/families/index.ts';

let root: string;
let models: SdModelSpec[];
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'amdm-unet-workers-'));
  models = await groundedFamilyModels(root);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const run = { prompt: 'a man feeding a cat', steps: 5, aggregateSteps: 3, weights: [0.5, 0.65], seed: 3 };

describe('unetWorkers', () => {
  it('gives the same latents and PNG as the main thread, for every model', async () => {
    const a = await generateSd({ models, ...run, decodeAll: true });
    const b = await generateSd({ models, ...run, decodeAll: true, unetWorkers: true });
    expect(b.calls).toEqual([5, 3, 3]);
    for (let k = 0; k < 3; k++) {
      expect(Buffer.from(b.models![k].latents.buffer)).toEqual(Buffer.from(a.models![k].latents.buffer));
      expect(Buffer.from(b.models![k].png[0])).toEqual(Buffer.from(a.models![k].png[0]));
    }
  }, 60_000);

  it("the other models' UNet calls leave the main thread (its onnxruntime runs the target's, the text encoders, VAE, image encoders)", async () => {
    const proto = (ort.InferenceSession as unknown as { prototype: unknown }).prototype as {
      run: (...a: unknown[]) => Promise<unknown>;
    };
    const run0 = proto.run;
    let mainRuns = 0;
    proto.run = function (this: unknown, ...a: unknown[]) {
      mainRuns++;
      return run0.apply(this, a);
    };
    const counted = async (unetWorkers: boolean) => {
      mainRuns = 0;
      const r = await generateSd({ models, ...run, unetWorkers });
      return { mainRuns, unetCalls: r.totalCalls };
    };
    try {
      const here = await counted(false);
      const there = await counted(true);
      expect(here.unetCalls).toBe(11);
      expect(here.mainRuns - there.mainRuns).toBe(3 + 3);
    } finally {
      proto.run = run0;
    }
  }, 60_000);

  it("starts the other models' calls of an aggregated step together (both in flight at once)", async () => {
    const pipe = await prepareSdPipeline({ models, unetWorkers: true });
    try {
      workerRunStats({ reset: true });
      await pipe.run({ ...run, aggregateSteps: 0 });
      expect(workerRunStats().peakInFlight).toBe(0);
      workerRunStats({ reset: true });
      await pipe.run(run);
      expect(workerRunStats()).toEqual({ inFlight: 0, peakInFlight: 2 });
    } finally {
      await pipe.release();
    }
  }, 60_000);

  it('a list of models: only those UNets in worker threads, the others after the target on this thread', async () => {
    const a = await generateSd({ models, ...run, decodeAll: true });
    const pipe = await prepareSdPipeline({ models, unetWorkers: [2], decodeAll: true });
    try {
      workerRunStats({ reset: true });
      const b = await pipe.run(run);
      expect(workerRunStats().peakInFlight).toBe(1);
      for (let k = 0; k < 3; k++) expect(Buffer.from(b.models![k].png[0])).toEqual(Buffer.from(a.models![k].png[0]));
    } finally {
      await pipe.release();
    }
  }, 60_000);

  it('keeps the same bits when the batch grows and shrinks (the shared slots are replaced, then reused)', async () => {
    // MIGC takes batch 1 only: InteractDiffusion ← IP-Adapter
    const two = [models[0], models[2]];
    const here = await prepareSdPipeline({ models: two });
    const there = await prepareSdPipeline({ models: two, unetWorkers: true });
    try {
      for (const batch of [1, 2, 1]) {
        const a = await here.run({ ...run, weights: [0.65], batch });
        const b = await there.run({ ...run, weights: [0.65], batch });
        expect(b.target.png.length).toBe(batch);
        for (let i = 0; i < batch; i++) expect(Buffer.from(b.target.png[i])).toEqual(Buffer.from(a.target.png[i]));
      }
    } finally {
      await Promise.all([here.release(), there.release()]);
    }
  }, 60_000);

  it('is a boolean or a list of non-target models, and not for a pooled pipeline', async () => {
    await expect(prepareSdPipeline({ models, unetWorkers: 1 as never })).rejects.toThrow(
      'unetWorkers must be a boolean or an array of model indices, got 1',
    );
    await expect(prepareSdPipeline({ models, unetWorkers: [0] })).rejects.toThrow(
      'unetWorkers[0] must not be the target (0): its UNet runs on this thread',
    );
    await expect(prepareSdPipeline({ models, unetWorkers: [1, 3] })).rejects.toThrow(/unetWorkers\[1\]/);
    await expect(prepareSdPipeline({ models, unetWorkers: [1, 1] })).rejects.toThrow(
      'unetWorkers must list each model once, got [1, 1]',
    );
    const pool = createSdModelPool();
    await expect(pool.prepare({ models, unetWorkers: true } as never)).rejects.toThrow(
      /unetWorkers: a pooled pipeline runs its UNets on this thread/,
    );
    await pool.release();
  });
});
