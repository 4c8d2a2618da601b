/**
 * noise 'torch': model k starts from torch.randn under manual_seed(seed + k) (the stream itself is
 * checked against the real torch in python/tests/test_torch_noise.py), and saveLatents' .npy file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleAMDM } from '../../src/core/sampler.ts';
import { torchRandn } from '../../src/core/torch-rng.ts';
import { npyFloat32 } from '../../src/jobs/npy.ts';
import { parseJob } from '../../src/jobs/job-schema.ts';
import { generateSd } from '../../src/sd/pipeline.ts';
import { tmpFolders } from '../onnx/tmp-folders.ts';

const tmp = tmpFolders();
let A: string;
let B: string;

beforeAll(async () => {
  A = await tmp.sdTiny({ seed: 1 });
  B = await tmp.sdTiny({ seed: 2 });
});
afterAll(() => tmp.cleanup());

describe("noise 'torch'", () => {
  const base = { prompt: 'a red square', negativePrompt: 'blurry', steps: 4, seed: 9, aggregateSteps: 2 };

  it('equals AMDM started from torchRandn(seed + k) for model k, and differs from the default noise', async () => {
    const torchRun = await generateSd({ ...base, models: [{ folder: A }, { folder: B }], noise: 'torch' });
    const amdmRun = await generateSd({ ...base, models: [{ folder: A }, { folder: B }] });
    expect(torchRun.target.latents).not.toEqual(amdmRun.target.latents);
    // the same run with the latents given to the pipeline's custom-sampler hook
    const given = await generateSd({
      ...base,
      models: [{ folder: A }, { folder: B }],
      sampler: async (c) =>
        sampleAMDM({
          models: c.models,
          target: c.target,
          steps: c.steps,
          aggregateSteps: 2,
          shape: c.shape,
          schedule: c.schedule,
          latents: [0, 1].map((k) => torchRandn(9 + k, [1, ...c.shape])),
        }),
    });
    expect(torchRun.target.latents).toEqual(given.target.latents);
  });

  it('is refused with a custom sampler, and unknown values are refused by the job schema', async () => {
    await expect(
      generateSd({
        ...base,
        models: [{ folder: A }],
        noise: 'torch',
        sampler: async () => ({ latents: new Float32Array(256), calls: [0], timesteps: [] }),
      }),
    ).rejects.toThrow(/noise 'torch'.*custom sampler/);
    expect(() => parseJob({ prompt: 'x', models: [{ folder: 'm' }], noise: 'numpy' })).toThrow(/noise/);
    expect(parseJob({ prompt: 'x', models: [{ folder: 'm' }] }).noise).toBe('amdm');
  });
});

describe('npyFloat32', () => {
  it('writes the NumPy 1.0 header (64-byte aligned) and the values little-endian', () => {
    const f = npyFloat32(new Float32Array([1, -2.5, 3, 0.25, 5, 6]), [2, 3]);
    const header = Buffer.from(f.subarray(10, 10 + (f[8] | (f[9] << 8)))).toString('latin1');
    expect(Buffer.from(f.subarray(0, 8)).toString('latin1')).toBe('\x93NUMPY\x01\x00');
    expect(header).toMatch(/^\{'descr': '<f4', 'fortran_order': False, 'shape': \(2, 3\), \} *\n$/);
    expect((10 + header.length) % 64).toBe(0);
    const values = new Float32Array(f.buffer.slice(10 + header.length));
    expect(Array.from(values)).toEqual([1, -2.5, 3, 0.25, 5, 6]);
    expect(() => npyFloat32(new Float32Array(5), [2, 3])).toThrow(/shape \[2, 3\] holds 6 values, got 5/);
  });
});
