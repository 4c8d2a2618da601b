/** The three families through the SD pipeline (AMDM over InteractDiffusion, MIGC, IP-Adapter). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { groundedFamilyModels } from '../helpers/family-models.ts';
import { decodePNG } from '../../src/image/png.ts';
import { generateSd, type SdModelSpec } from '../../src/sd/pipeline.ts';
import '../../src/sd/families/index.ts';

let root: string;
let models: SdModelSpec[];
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'amdm-families-pipe-'));
  models = await groundedFamilyModels(root);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('families in the pipeline', () => {
  it('AMDM over the three: T calls for the target, s for the others; a PNG comes out', async () => {
    const r = await generateSd({
      models,
      prompt: 'a man feeding a cat',
      steps: 6,
      aggregateSteps: 3,
      weights: [0.5, 0.65],
    });
    expect(r.calls).toEqual([6, 3, 3]);
    const img = await decodePNG(r.target.png[0]);
    expect([img.width, img.height]).toEqual([64, 64]);
  });
  it('with s = 0 the other models do not change the target', async () => {
    const a = await generateSd({
      models,
      prompt: 'a man feeding a cat',
      steps: 4,
      aggregateSteps: 0,
      weights: [0.5, 0.65],
    });
    const b = await generateSd({ models: models.slice(0, 1), prompt: 'a man feeding a cat', steps: 4 });
    expect(Array.from(a.target.latents)).toEqual(Array.from(b.target.latents));
  });
  it("MIGC switches graphs at the run's step MIGCsteps when its window starts late (not at its own call count)", async () => {
    // MIGC joins at step 2 of 6 and stays to step 4. With migcSteps 2 its graph runs at step 2
    // only and the plain graph at steps 3 and 4; with migcSteps 5 at every step it joins. A
    // family counting its own calls would take step 2 for step 0 and run MIGC at all three.
    const run = (migcSteps: number) =>
      generateSd({
        models: [models[0], { ...models[1], conditions: { ...(models[1].conditions as object), migcSteps } }],
        prompt: 'a man feeding a cat',
        steps: 6,
        aggregateSteps: 5,
        windows: [[2, 5]],
        weights: [0.5],
      });
    const [late, always, early] = [await run(2), await run(5), await run(4)];
    expect(late.calls).toEqual([6, 3]);
    expect(maxAbsDiff(late.target.latents, always.target.latents)).toBeGreaterThan(1e-6);
    // migcSteps 4 and 5 differ only at step 5, outside the window: the same image
    expect(Array.from(early.target.latents)).toEqual(Array.from(always.target.latents));
  });
  it('a folder of the wrong kind fails while loading, naming the model', async () => {
    const wrong = [models[0], { ...models[1], folder: models[0].folder }];
    await expect(generateSd({ models: wrong, prompt: 'p', steps: 2 })).rejects.toThrow(/models\[1\].*"family": "migc"/);
  });
});

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
