/**
 * MiniMIG scenes as the inputs of the mini-zoo's model folders: each family's prompt (the caption
 * variant it was trained on) and conditions, style references as PNG, and generated RGBA images
 * back to the evaluator's [−1, 1] tensors. Shared by `amdm zoo calibrate` and `amdm zoo jobs`.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodePNG } from '../../image/png.ts';
import { rgbaFromChw } from '../../jobs/minimig-image.ts';
import {
  boxXyxy,
  caption,
  instancePhrase,
  renderStyle,
  type CaptionVariant,
  type Scene,
  type Style,
} from '../../toy/minimig/index.ts';

/**
 * The zoo's families and the caption variant each was trained on (its prompt at inference).
 * InteractDiffusion-mini sees colour words in its caption and phrases (as the real one sees the
 * COCO-MIG prompt): without them no model can draw a "looking at" subject in its colour, which the
 * strict relation test asks for (EXPERIMENTS.md, "InteractDiffusion-mini under the strict relation
 * tests"); it stays weaker than MIGC-mini at binding colours to places.
 */
export const ZOO_CAPTIONS: Readonly<Record<string, CaptionVariant>> = Object.freeze({
  sd: 'full',
  interactdiffusion: 'full',
  migc: 'noaction',
  ipadapter: 'nostyle',
});

export interface ZooModelSpec {
  folder: string;
  kind: string;
  name: string;
  prompt: string;
  conditions?: Record<string, unknown>;
}

/**
 * The model spec of `kind` for `scene` (its caption variant and conditions), or null when the
 * family cannot take the scene: InteractDiffusion needs at least one interaction triplet.
 * `styleImage`: path of the style reference PNG (IP-Adapter only).
 */
export function zooModelSpec(
  kind: string,
  scene: Scene,
  folder: string,
  name: string,
  styleImage?: string,
): ZooModelSpec | null {
  const variant = ZOO_CAPTIONS[kind];
  if (variant === undefined)
    throw new RangeError(
      `kind must be one of ${Object.keys(ZOO_CAPTIONS).join(', ')} (the zoo's families), got '${kind}'`,
    );
  const spec: ZooModelSpec = { folder, kind, name, prompt: caption(scene, variant) };
  const inst = scene.instances;
  switch (kind) {
    case 'interactdiffusion':
      if (scene.relations.length === 0) return null;
      spec.conditions = {
        subjects: scene.relations.map((r) => instancePhrase(inst[r.subject])),
        objects: scene.relations.map((r) => instancePhrase(inst[r.object])),
        actions: scene.relations.map((r) => r.action),
        subjectBoxes: scene.relations.map((r) => boxXyxy(inst[r.subject].box)),
        objectBoxes: scene.relations.map((r) => boxXyxy(inst[r.object].box)),
      };
      break;
    case 'migc':
      spec.conditions = { phrases: inst.map((i) => instancePhrase(i)), boxes: inst.map((i) => boxXyxy(i.box)) };
      break;
    case 'ipadapter':
      if (styleImage === undefined)
        throw new RangeError("styleImage must name the style reference PNG for kind 'ipadapter'");
      spec.conditions = { image: styleImage };
      break;
  }
  return spec;
}

/** The style as a 32×32 RGBA PNG (a style reference when its phase differs from the scene's). */
export async function stylePng(style: Style): Promise<Uint8Array> {
  return encodePNG(rgbaFromChw(renderStyle(style)));
}

export { unitImageFromRgba } from '../../jobs/minimig-image.ts';

/** A zoo folder's family (amdm.json "family", 'sd' without a manifest). */
export async function folderKind(folder: string): Promise<string> {
  const text = await readFile(join(folder, 'amdm.json'), 'utf8').catch(() => null);
  if (text === null) return 'sd';
  const family = (JSON.parse(text) as { family?: unknown }).family;
  return typeof family === 'string' ? family : 'sd';
}

/** vae_decoder/config.json's scaling_factor, or undefined (the pipeline's SD default). */
export async function folderScalingFactor(folder: string): Promise<number | undefined> {
  const text = await readFile(join(folder, 'vae_decoder', 'config.json'), 'utf8').catch(() => null);
  if (text === null) return undefined;
  const f = (JSON.parse(text) as { scaling_factor?: unknown }).scaling_factor;
  return typeof f === 'number' && f > 0 ? f : undefined;
}
