/**
 * MIGC (limuloo/MIGC, as vendored by AMDM) as ONNX graphs: the input builder, the per-step
 * switch between the MIGC graph and the plain SD graph, and the `migc` model family.
 *
 * Inputs (sources M§4.1, M§4.4; `migc_pipeline.py` `_encode_prompt` and
 * `MIGCProcessor.__call__`):
 *   prompt = [caption, phrase₁ … phraseₙ], each tokenized to 77 (max_length) and encoded:
 *     encoder_hidden_states = cat([neg, caption, phrase₁ … phraseₙ])   [n+2, 77, D]
 *     embeds_pooler          = pooler_output of [caption, phrase₁ …]     [n+1, 1, D]
 *   boxes reordered to [x0, x1, y0, y1] (`in_box.append([b[0], b[2], b[1], b[3]])`);
 *   guidance masks: per box a full-resolution mask (8h × 8w for an h × w latent: 512² for SD)
 *     with mask[int(H·y0):int(H·y1), int(W·x0):int(W·x1)] = 1, and the supplement mask
 *     1 − clip(Σ masks, 0, 1), both resized to h × w by bilinear interpolation
 *     (`F.interpolate(mode='bilinear')`, align_corners=False, no antialias);
 *   SAC's `torch.randperm(28)` becomes an input `sac_perm`, drawn here from the run's seed, so
 *     a run is reproducible (the official code draws a fresh one on every call, from torch's RNG,
 *     which cannot be reproduced outside torch).
 * Per step i, MIGC runs while i ≤ MIGCsteps (`not_use_migc = ith > MIGCsteps`, M§4.3); later
 * steps are exactly the plain SD UNet fed [neg, caption]. NaiveFuser steps are not modelled.
 *
 * ONNX contract (docs/models.md): the MIGC graph is amdm.json's `unet`, with roles latent,
 * timestep, text (= [neg, caption], CFG rows [2, 77, D]), instance_embeddings [n, 77, D]
 * (the wrapper concatenates text and these into MIGC's [n+2, 77, D]), instance_pooler [n, 1, D]
 * or prompt_pooler [n+1, 1, D] (caption first), instance_boxes [n, 4], guidance_mask
 * [1, n, h, w], supplement_mask [1, 1, h, w], optionally sac_perm int64 [28]. Either the graph
 * also has a `switch` input (1 = MIGC, 0 = plain) or amdm.json declares the plain graph as
 * `graphs.plain` (two files).
 */
import { z, type ZodType } from 'zod';
import { checkInt } from '../../core/validate.ts';
import type { ModelFolder, UnetModel } from '../../onnx/model-folder.ts';
import { createUnetDenoiser, type ConstantInput, type UnetDenoiser } from '../../onnx/unet-denoiser.ts';
import { registerFamily, type FamilyContext, type ModelFamily } from '../family.ts';
import { boxSchema, type Box } from './boxes.ts';
import { checkDim, checkManifestFamily, checkRoles } from './folder-check.ts';
import {
  MIGC_MAX_INSTANCES,
  buildMigcInputs,
  checkMigcInstances,
  migcExtras,
  migcPromptList,
  type MigcInputs,
} from './migc-inputs.ts';
import { createMigcSwitchDenoiser } from './migc-switch.ts';

export { VAE_FACTOR, migcMasks, resizeBilinear } from './migc-masks.ts';
export {
  MIGC_MAX_INSTANCES,
  buildMigcInputs,
  checkMigcInstances,
  migcExtras,
  migcPromptList,
  sacPermutation,
  type MigcInputs,
} from './migc-inputs.ts';
export { createMigcSwitchDenoiser, migcActiveAt } from './migc-switch.ts';

/** Default MIGCsteps of `interactmigc_inference` and infer800.py. */
export const MIGC_DEFAULT_STEPS = 20;

export const MIGC_ROLES = ['instance_embeddings', 'instance_boxes', 'guidance_mask', 'supplement_mask'] as const;
export const MIGC_OPTIONAL_ROLES = ['instance_pooler', 'prompt_pooler', 'sac_perm', 'switch'] as const;
/** Name of the plain SD graph in amdm.json's `graphs` (two-file layout). */
export const MIGC_PLAIN_GRAPH = 'plain';

export interface MigcConditions {
  phrases: string[];
  boxes: Box[];
  /** MIGC's caption (default: the prompt). */
  caption?: string;
  /** Last 0-based step that runs MIGC (default 20; −1: never). */
  migcSteps?: number;
}

export const migcConditionSchema = z
  .strictObject({
    phrases: z.array(z.string().min(1, 'a phrase must be a non-empty string')).min(1).max(MIGC_MAX_INSTANCES),
    boxes: z.array(boxSchema).min(1).max(MIGC_MAX_INSTANCES),
    caption: z.string().optional(),
    migcSteps: z.number().int().min(-1).optional(),
  })
  .superRefine((c, ctx) => {
    if (c.boxes.length !== c.phrases.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['boxes'],
        message: `has ${c.boxes.length} boxes but phrases has ${c.phrases.length}: one box per instance`,
      });
    }
  }) as unknown as ZodType<MigcConditions>;

/** Check the folder for kind 'migc'; returns the MIGC graph's roles and how steps switch. */
export function checkMigcFolder(
  folder: ModelFolder,
  n?: number,
): { roles: Set<string>; layout: 'switch' | 'two-graphs' } {
  checkManifestFamily(folder, 'migc');
  const unet = folder.unet;
  const roles = checkRoles(unet, 'migc', MIGC_ROLES, MIGC_OPTIONAL_ROLES);
  if (!roles.has('instance_pooler') && !roles.has('prompt_pooler')) {
    throw new RangeError(
      `${unet.file}: kind 'migc' needs an input with role instance_pooler [n, 1, D] or prompt_pooler [n+1, 1, D]`,
    );
  }
  const hasPlain = folder.manifest?.graphs?.[MIGC_PLAIN_GRAPH] !== undefined;
  if (roles.has('switch') === hasPlain) {
    throw new RangeError(
      `${folder.dir}: a 'migc' folder switches to the plain UNet after MIGCsteps either through a 'switch' input of the unet graph ` +
        `or through a second graph "graphs.${MIGC_PLAIN_GRAPH}" in amdm.json — exactly one of the two` +
        (hasPlain ? ' (it has both)' : ' (it has neither)'),
    );
  }
  if (n !== undefined) {
    const dims: Record<string, [number, number]> = {
      instance_embeddings: [0, n],
      instance_pooler: [0, n],
      prompt_pooler: [0, n + 1],
      instance_boxes: [0, n],
      guidance_mask: [1, n],
    };
    for (const [r, [k, want]] of Object.entries(dims)) {
      const info = unet.roles.get(r);
      if (info)
        checkDim(unet.file, info, k, want, `${n} instances (this graph was exported for a fixed instance count)`);
    }
    const perm = unet.roles.get('sac_perm');
    if (perm && perm.type !== 'int64' && perm.type !== 'int32')
      throw new TypeError(
        `${unet.file}: input '${perm.name}' (role sac_perm) must be int64 or int32, got ${perm.type}`,
      );
  }
  return { roles, layout: hasPlain ? 'two-graphs' : 'switch' };
}

export const migcFamily: ModelFamily<MigcConditions> = Object.freeze({
  kind: 'migc',
  description: 'MIGC: instance phrases with boxes (max 28); MIGC graph for steps ≤ migcSteps, then the plain SD UNet',
  conditionSchema: migcConditionSchema,
  checkFolder(folder: ModelFolder, c: MigcConditions) {
    const n = checkMigcInstances(c.phrases, c.boxes);
    checkMigcFolder(folder, n);
  },
  async createDenoiser(ctx: FamilyContext, prompt: string, c: MigcConditions) {
    const n = checkMigcInstances(c.phrases, c.boxes);
    const { roles, layout } = checkMigcFolder(ctx.folder, n);
    if (ctx.batch !== 1)
      throw new RangeError(
        `kind 'migc' supports batch 1 only (MIGC's processor uses rows 0 and 1), got batch ${ctx.batch}`,
      );
    if (ctx.guidance === 1)
      throw new RangeError(
        "kind 'migc' needs classifier-free guidance (guidance != 1): MIGC's processor expects [uncond, cond] rows",
      );
    const migcSteps = checkInt('conditions.migcSteps', c.migcSteps ?? MIGC_DEFAULT_STEPS, -1);
    const e = await ctx.encodeText([ctx.negativePrompt, ...migcPromptList(c.caption ?? prompt, c.phrases)]);
    if (e.pooled === null)
      throw new RangeError(
        `the text encoder of ${ctx.folder.dir} has no pooler_output output; MIGC needs the phrase poolers`,
      );
    const inputs = buildMigcInputs({
      phrases: c.phrases,
      boxes: c.boxes,
      hidden: e.hidden,
      pooled: e.pooled,
      length: e.length,
      width: e.width,
      latentSize: ctx.latentSize,
      seed: ctx.seed,
    });
    const timesteps = ctx.timesteps;
    const { migc, plain } = await migcAndPlain(ctx, inputs, roles, layout, e.length);
    // The plain graph's session is one of the folder's sessions: folder.release() frees it.
    return createMigcSwitchDenoiser({ migc, plain, migcSteps, timesteps, name: ctx.name });
  },
});

/** The MIGC graph's denoiser and the plain SD graph's: one graph with its `switch` input set, or two graphs. */
async function migcAndPlain(
  ctx: FamilyContext,
  inputs: MigcInputs,
  roles: ReadonlySet<string>,
  layout: 'switch' | 'two-graphs',
  textLength: number,
): Promise<{ migc: UnetDenoiser; plain: UnetDenoiser }> {
  const unet = ctx.folder.unet;
  const make = (u: UnetModel, extras: Record<string, ConstantInput>, suffix: string): UnetDenoiser =>
    createUnetDenoiser({
      unet: u,
      cond: inputs.caption,
      uncond: inputs.negative,
      guidance: ctx.guidance,
      latentSize: ctx.latentSize,
      textLength: u.textLength === null ? textLength : undefined,
      extras,
      name: `${ctx.name}${suffix}`,
    });
  const base = migcExtras(inputs, roles, ctx.latentSize);
  if (layout === 'switch')
    return {
      migc: make(unet, { ...base, switch: { value: 1 } }, ''),
      plain: make(unet, { ...base, switch: { value: 0 } }, ' (plain)'),
    };
  const migc = make(unet, base, '');
  return { migc, plain: make(await plainGraph(ctx.folder), {}, ' (plain)') };
}

/**
 * The plain SD graph of a two-graph folder, opened once per loaded folder and kept for the
 * folder's life (its session is one of the folder's: folder.release() frees it). Opening a
 * session per run would cost more than the run itself on small models.
 */
const plainGraphs = new WeakMap<ModelFolder, Promise<UnetModel>>();
function plainGraph(folder: ModelFolder): Promise<UnetModel> {
  let g = plainGraphs.get(folder);
  if (g === undefined) {
    g = folder.openGraph(MIGC_PLAIN_GRAPH);
    plainGraphs.set(folder, g);
    g.catch(() => plainGraphs.delete(folder));
  }
  return g;
}

registerFamily(migcFamily, { replace: true });
