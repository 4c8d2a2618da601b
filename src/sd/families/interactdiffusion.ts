/**
 * InteractDiffusion (HF `interactdiffusion/diffusers-v1-2`) as an ONNX UNet: the input builder
 * and the `interactdiffusion` model family.
 *
 * Inputs (sources M§3.2, the official `pipeline_stable_diffusion_interactdiffusion.py`
 * and AMDM's copy in `interactmigc.py`):
 *   E = text_encoder(tokenizer(subjects + objects + actions, padding=True)).pooler_output  [3n, D]
 *   subject_boxes, object_boxes [30, 4]  zeros; [:n] = xyxy boxes in [0, 1]
 *   subject/object/action embeddings [30, D]  zeros; [:n] = E[0:n], E[n:2n], E[2n:3n]
 *   masks [30]  zeros; [:n] = 1
 * and for CFG the rows are doubled with `masks[:B] = 0`: the unconditional half keeps the same
 * boxes and embeddings but all-zero masks, so the model replaces every slot by its learned null
 * features (it still runs the gated fusers; it is not a plain SD pass).
 * An optional `action_boxes` input gets `get_between_box(subject, object)` (M§3.1) for graphs
 * that take it instead of deriving it inside.
 *
 * amdm.json roles (ONNX export contract, M§3.4; docs/models.md): latent, timestep, text,
 * subject_boxes, object_boxes, masks, subject_embeddings, object_embeddings, action_embeddings,
 * and optionally action_boxes. Rows: [2B, 30, 4], [2B, 30], [2B, 30, D].
 */
import { z, type ZodType } from 'zod';
import type { ModelFolder } from '../../onnx/model-folder.ts';
import { createUnetDenoiser, type ConditionInput } from '../../onnx/unet-denoiser.ts';
import { checkFloat32, checkInt } from '../../core/validate.ts';
import { encodePromptPair, registerFamily, type FamilyContext, type ModelFamily } from '../family.ts';
import { betweenBox, boxSchema, checkBoxes, checkPhrases, type Box } from './boxes.ts';
import { checkDim, checkManifestFamily, checkRoles, encodePooled } from './folder-check.ts';

/** `max_objs` of the official pipeline: the slot count of every grounding input. */
export const INTERACT_MAX_OBJS = 30;

export const INTERACT_ROLES = [
  'subject_boxes',
  'object_boxes',
  'masks',
  'subject_embeddings',
  'object_embeddings',
  'action_embeddings',
] as const;
export const INTERACT_OPTIONAL_ROLES = ['action_boxes'] as const;

/** n interaction triplets ⟨subject, action, object⟩ with one box for subject and object each. */
export interface InteractTriplets {
  subjects: readonly string[];
  objects: readonly string[];
  actions: readonly string[];
  subjectBoxes: readonly Box[];
  objectBoxes: readonly Box[];
}

/** Validate triplets: equal counts n of phrases and boxes, 1 ≤ n ≤ 30, valid boxes. Returns n. */
export function checkInteractTriplets(t: InteractTriplets, maxObjs = INTERACT_MAX_OBJS): number {
  if (t === null || typeof t !== 'object')
    throw new TypeError('triplets must be an object { subjects, objects, actions, subjectBoxes, objectBoxes }');
  const subjects = checkPhrases('subjects', t.subjects);
  checkPhrases('objects', t.objects);
  checkPhrases('actions', t.actions);
  checkBoxes('subjectBoxes', t.subjectBoxes);
  checkBoxes('objectBoxes', t.objectBoxes);
  const n = subjects.length;
  const counts = {
    subjects: n,
    objects: t.objects.length,
    actions: t.actions.length,
    subjectBoxes: t.subjectBoxes.length,
    objectBoxes: t.objectBoxes.length,
  };
  if (Object.values(counts).some((c) => c !== n)) {
    throw new RangeError(
      `subjects, objects, actions, subjectBoxes and objectBoxes must have the same length (one per interaction triplet), got ` +
        Object.entries(counts)
          .map(([k, v]) => `${k} ${v}`)
          .join(', '),
    );
  }
  if (n < 1 || n > maxObjs)
    throw new RangeError(`the number of interaction triplets must be in [1, ${maxObjs}] (max_objs), got ${n}`);
  return n;
}

/** The texts to encode, in the official order: subjects, then objects, then actions. */
export function interactPhraseList(t: InteractTriplets): string[] {
  return [...t.subjects, ...t.objects, ...t.actions];
}

export interface InteractInputs {
  /** Number of triplets n. */
  readonly n: number;
  readonly slots: number;
  readonly width: number;
  /** [slots, 4] each. */
  readonly subjectBoxes: Float32Array;
  readonly objectBoxes: Float32Array;
  readonly actionBoxes: Float32Array;
  /** `[slots]`: 1 for the first n slots (conditional half). */
  readonly masks: Float32Array;
  /** `[slots]`: all zero (unconditional half). */
  readonly uncondMasks: Float32Array;
  /** [slots, width] each. */
  readonly subjectEmbeddings: Float32Array;
  readonly objectEmbeddings: Float32Array;
  readonly actionEmbeddings: Float32Array;
}

/**
 * Lay out one sample's grounding inputs (sources M§3.2). `pooled` holds the pooler_output
 * of `interactPhraseList(t)`: [3n, width].
 */
export function buildInteractInputs(
  t: InteractTriplets,
  pooled: Float32Array,
  width: number,
  slots = INTERACT_MAX_OBJS,
): InteractInputs {
  checkInt('width', width, 1);
  checkInt('slots', slots, 1, 4096);
  const n = checkInteractTriplets(t, slots);
  checkFloat32('pooled', pooled, 3 * n * width);
  const subjectBoxes = new Float32Array(slots * 4);
  const objectBoxes = new Float32Array(slots * 4);
  const actionBoxes = new Float32Array(slots * 4);
  const masks = new Float32Array(slots);
  const subjectEmbeddings = new Float32Array(slots * width);
  const objectEmbeddings = new Float32Array(slots * width);
  const actionEmbeddings = new Float32Array(slots * width);
  for (let i = 0; i < n; i++) {
    subjectBoxes.set(t.subjectBoxes[i], 4 * i);
    objectBoxes.set(t.objectBoxes[i], 4 * i);
    actionBoxes.set(betweenBox(t.subjectBoxes[i], t.objectBoxes[i]), 4 * i);
    masks[i] = 1;
    subjectEmbeddings.set(pooled.subarray(i * width, (i + 1) * width), i * width);
    objectEmbeddings.set(pooled.subarray((n + i) * width, (n + i + 1) * width), i * width);
    actionEmbeddings.set(pooled.subarray((2 * n + i) * width, (2 * n + i + 1) * width), i * width);
  }
  return {
    n,
    slots,
    width,
    subjectBoxes,
    objectBoxes,
    actionBoxes,
    masks,
    uncondMasks: new Float32Array(slots),
    subjectEmbeddings,
    objectEmbeddings,
    actionEmbeddings,
  };
}

/**
 * The UNet extras of each role present in `roles`: the conditional rows as built, the
 * unconditional rows identical except for all-zero masks (omitted when `cfg` is false).
 */
export function interactExtras(
  inputs: InteractInputs,
  roles: ReadonlySet<string>,
  cfg: boolean,
): Record<string, ConditionInput> {
  const row = (cond: Float32Array, uncond: Float32Array, rowDims: number[]): ConditionInput =>
    cfg ? { cond, uncond, rowDims } : { cond, rowDims };
  const S = inputs.slots;
  const all: Record<string, ConditionInput> = {
    subject_boxes: row(inputs.subjectBoxes, inputs.subjectBoxes, [S, 4]),
    object_boxes: row(inputs.objectBoxes, inputs.objectBoxes, [S, 4]),
    action_boxes: row(inputs.actionBoxes, inputs.actionBoxes, [S, 4]),
    masks: row(inputs.masks, inputs.uncondMasks, [S]),
    subject_embeddings: row(inputs.subjectEmbeddings, inputs.subjectEmbeddings, [S, inputs.width]),
    object_embeddings: row(inputs.objectEmbeddings, inputs.objectEmbeddings, [S, inputs.width]),
    action_embeddings: row(inputs.actionEmbeddings, inputs.actionEmbeddings, [S, inputs.width]),
  };
  const out: Record<string, ConditionInput> = {};
  for (const r of roles) if (r in all) out[r] = all[r];
  return out;
}

export interface InteractConditions {
  subjects: string[];
  objects: string[];
  actions: string[];
  subjectBoxes: Box[];
  objectBoxes: Box[];
}

const phrase = z.string().min(1, 'a phrase must be a non-empty string');

export const interactConditionSchema = z
  .strictObject({
    subjects: z.array(phrase).min(1).max(INTERACT_MAX_OBJS),
    objects: z.array(phrase).min(1).max(INTERACT_MAX_OBJS),
    actions: z.array(phrase).min(1).max(INTERACT_MAX_OBJS),
    subjectBoxes: z.array(boxSchema).min(1).max(INTERACT_MAX_OBJS),
    objectBoxes: z.array(boxSchema).min(1).max(INTERACT_MAX_OBJS),
  })
  .superRefine((c, ctx) => {
    const n = c.subjects.length;
    for (const k of ['objects', 'actions', 'subjectBoxes', 'objectBoxes'] as const) {
      if (c[k].length !== n) {
        ctx.addIssue({
          code: 'custom',
          path: [k],
          message: `has ${c[k].length} entries but subjects has ${n}: one per interaction triplet`,
        });
      }
    }
  }) as unknown as ZodType<InteractConditions>;

/** Roles of the folder's UNet after the family checks (manifest family, roles, slot dims). */
export function checkInteractFolder(folder: ModelFolder): Set<string> {
  checkManifestFamily(folder, 'interactdiffusion');
  const unet = folder.unet;
  const roles = checkRoles(unet, 'interactdiffusion', INTERACT_ROLES, INTERACT_OPTIONAL_ROLES);
  for (const r of roles) {
    const info = unet.roles.get(r)!;
    const rank = r === 'masks' ? 2 : 3;
    if (info.shape.length !== rank)
      throw new RangeError(
        `${unet.file}: input '${info.name}' (role ${r}) must have rank ${rank}, got [${info.shape.join(', ')}]`,
      );
    checkDim(unet.file, info, 1, INTERACT_MAX_OBJS, `role ${r} (max_objs slots)`);
    if (r.endsWith('_boxes')) checkDim(unet.file, info, 2, 4, `role ${r} (xyxy)`);
    if (r.endsWith('_embeddings')) checkDim(unet.file, info, 2, unet.textWidth, `role ${r} (text width)`);
  }
  return roles;
}

export const interactDiffusionFamily: ModelFamily<InteractConditions> = Object.freeze({
  kind: 'interactdiffusion',
  description: 'InteractDiffusion UNet: ⟨subject, action, object⟩ triplets with subject/object boxes (max 30)',
  conditionSchema: interactConditionSchema,
  checkFolder(folder: ModelFolder, conditions: InteractConditions) {
    checkInteractFolder(folder);
    checkInteractTriplets(conditions);
  },
  async createDenoiser(ctx: FamilyContext, prompt: string, conditions: InteractConditions) {
    const roles = checkInteractFolder(ctx.folder);
    checkInteractTriplets(conditions);
    const { cond, uncond } = await encodePromptPair(ctx, prompt);
    const { pooled, width } = await encodePooled(ctx, interactPhraseList(conditions));
    const inputs = buildInteractInputs(conditions, pooled, width);
    const unet = ctx.folder.unet;
    return createUnetDenoiser({
      unet,
      cond,
      uncond,
      guidance: ctx.guidance,
      latentSize: ctx.latentSize,
      textLength: unet.textLength === null ? cond.length / unet.textWidth : undefined,
      extras: interactExtras(inputs, roles, ctx.guidance !== 1),
      name: ctx.name,
    });
  },
});

registerFamily(interactDiffusionFamily, { replace: true });
