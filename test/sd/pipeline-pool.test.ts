/**
 * The model pool (pipeline-pool.ts): each folder loaded once per pool, conditions bound per
 * pipeline, the same bits as a pipeline that loads its own folders; and the sessions a family
 * opens beyond the folder's (MIGC's plain graph, IP-Adapter's image encoders) opened once per
 * loaded folder, not per run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { groundedFamilyModels } from '../helpers/family-models.ts';
import { generateSd, prepareSdPipeline, type SdModelSpec } from '../../src/sd/pipeline.ts';
import { createSdModelPool } from '../../src/sd/pipeline-pool.ts';
import '../../src/sd/families/index.ts';

let root: string;
let models: SdModelSpec[];
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'amdm-pool-'));
  models = await groundedFamilyModels(root);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const run = { prompt: 'a man feeding a cat', steps: 5, aggregateSteps: 3, weights: [0.5, 0.65], seed: 7 };
/** The same three models with other boxes and phrases (the conditions of another prompt). */
const otherConditions = (): SdModelSpec[] => [
  {
    ...models[0],
    conditions: {
      subjects: ['cat'],
      objects: ['man'],
      actions: ['watching'],
      subjectBoxes: [[0.1, 0.1, 0.6, 0.7]],
      objectBoxes: [[0.4, 0.3, 0.9, 1]],
    },
  },
  {
    ...models[1],
    conditions: {
      phrases: ['cat', 'man'],
      boxes: [
        [0.1, 0.1, 0.6, 0.7],
        [0.4, 0.3, 0.9, 1],
      ],
    },
  },
  models[2],
];

/** Counts onnxruntime sessions created while `f` runs. */
async function sessionsCreated(f: () => Promise<unknown>): Promise<number> {
  const cls = ort.InferenceSession as unknown as { create: (...a: unknown[]) => Promise<unknown> };
  const create0 = cls.create;
  let n = 0;
  cls.create = (...a: unknown[]) => {
    n++;
    return create0.apply(cls, a);
  };
  try {
    await f();
  } finally {
    cls.create = create0;
  }
  return n;
}

describe('createSdModelPool', () => {
  it('binds conditions per pipeline with the same bits as generateSd, loading each folder once', async () => {
    const pool = createSdModelPool();
    try {
      for (const specs of [models, otherConditions(), models]) {
        const expected = await generateSd({ models: specs, ...run });
        const pipe = await pool.prepare({ models: specs });
        const got = await pipe.run(run);
        await pipe.release();
        expect(Buffer.from(got.target.latents.buffer)).toEqual(Buffer.from(expected.target.latents.buffer));
        expect(Buffer.from(got.target.png[0])).toEqual(Buffer.from(expected.target.png[0]));
        expect(got.calls).toEqual([5, 3, 3]);
        expect(pipe.models.map((m) => m.conditions)).toEqual(specs.map((s) => s.conditions));
      }
      expect(pool.folders).toBe(3);
    } finally {
      await pool.release();
    }
  });

  it('opens no session after the first pipeline (folders, plain graph, image encoders kept)', async () => {
    const pool = createSdModelPool();
    try {
      const once = async (specs: SdModelSpec[]) => {
        const pipe = await pool.prepare({ models: specs });
        await pipe.run(run);
        await pipe.release();
      };
      // 3 UNets, 3 text encoders, 3 VAEs, MIGC's plain graph, IP-Adapter's encoder and projection
      expect(await sessionsCreated(() => once(models))).toBe(12);
      expect(await sessionsCreated(() => once(otherConditions()))).toBe(0);
    } finally {
      await pool.release();
    }
  });

  it('a pipeline that loads its own folders opens the families’ sessions on its first run only', async () => {
    const pipe = await prepareSdPipeline({ models });
    try {
      expect(await sessionsCreated(() => pipe.run(run))).toBe(3);
      expect(await sessionsCreated(() => pipe.run(run))).toBe(0);
    } finally {
      await pipe.release();
    }
  });

  it('rejects session options per pipeline and any use after release', async () => {
    const pool = createSdModelPool();
    expect(() => pool.prepare({ models, session: { intraOpNumThreads: 1 } } as never)).toThrow(
      /session: a pooled pipeline uses the pool/,
    );
    await pool.release();
    await expect(pool.prepare({ models })).rejects.toThrow(/models\[0\].*the model pool was released/);
  });
});
