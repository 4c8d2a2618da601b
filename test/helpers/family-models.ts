/**
 * The three grounded family folders (InteractDiffusion ← MIGC + IP-Adapter) written under `root`
 * from fixtures/families.ts, with a man-feeding-a-cat layout and a style reference: the model
 * specs the family pipeline and the node/web backend tests both run.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFamilyFolder } from '../../fixtures/families.ts';
import { encodePNG } from '../../src/image/png.ts';
import { makeRGBA } from '../../src/image/raster.ts';
import type { SdModelSpec } from '../../src/sd/pipeline.ts';

export async function groundedFamilyModels(root: string): Promise<SdModelSpec[]> {
  const style = join(root, 'style.png');
  await writeFile(style, await encodePNG(makeRGBA(30, 20, [200, 60, 30, 255])));
  const boxes: [number, number, number, number][] = [
    [0, 0, 0.5, 1],
    [0.5, 0.2, 1, 0.9],
  ];
  return [
    {
      folder: await writeFamilyFolder(join(root, 'interact'), 'interactdiffusion'),
      kind: 'interactdiffusion',
      conditions: {
        subjects: ['man'],
        objects: ['cat'],
        actions: ['feeding'],
        subjectBoxes: [boxes[0]],
        objectBoxes: [boxes[1]],
      },
    },
    {
      folder: await writeFamilyFolder(join(root, 'migc'), 'migc'),
      kind: 'migc',
      conditions: { phrases: ['man', 'cat'], boxes, migcSteps: 2 },
    },
    {
      folder: await writeFamilyFolder(join(root, 'ip'), 'ipadapter'),
      kind: 'ipadapter',
      conditions: { image: style, scale: 0.8 },
    },
  ];
}
