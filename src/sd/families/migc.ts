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
import type { Denoiser } from '../../core/types.ts';
import { gaussianRng } from '../../core/rng.ts';
import { checkFloat32, checkInt, describe } from '../../core/validate.ts';
import type { ModelFolder, UnetModel } from '../../onnx/model-folder.ts';
import { createUnetDenoiser, type ConstantInput, type UnetDenoiser } from '../../onnx/unet-denoiser.ts';
import { registerFamily, type FamilyContext, type ModelFamily } from '../family.ts';
import { boxSchema, checkBoxes, checkPhrases, type Box } from './boxes.ts';
import { checkDim, checkManifestFamily, checkRoles } from './folder-check.ts';

/** SAC pads instances to 28 (`number_pro = 30` minus two): at most 28 instances. */
export const MIGC_MAX_INSTANCES = 28;
/** Default MIGCsteps of `interactmigc_inference` and infer800.py. */
export const MIGC_DEFAULT_STEPS = 20;
/** Pixels per latent cell (SD's VAE factor): the masks are drawn at 8h × 8w. */
export const VAE_FACTOR = 8;

export const MIGC_ROLES = ['instance_embeddings', 'instance_boxes', 'guidance_mask', 'supplement_mask'] as const;
export const MIGC_OPTIONAL_ROLES = ['instance_pooler', 'prompt_pooler', 'sac_perm', 'switch'] as const;
/** Name of the plain SD graph in amdm.json's `graphs` (two-file layout). */
export const MIGC_PLAIN_GRAPH = 'plain';

/** Validate phrases and boxes: equal counts n with 1 ≤ n ≤ 28. Returns n. */
export function checkMigcInstances(phrases: unknown, boxes: unknown): number {
  const p = checkPhrases('phrases', phrases);
  const b = checkBoxes('boxes', boxes);
  if (p.length !== b.length)
    throw new RangeError(
      `phrases and boxes must have the same length (one box per instance), got phrases ${p.length}, boxes ${b.length}`,
    );
  if (p.length < 1 || p.length > MIGC_MAX_INSTANCES)
    throw new RangeError(
      `the number of instances must be in [1, ${MIGC_MAX_INSTANCES}] (MIGC's SAC limit), got ${p.length}`,
    );
  return p.length;
}

/** The texts MIGC encodes: [caption, phrase₁ … phraseₙ]. */
export function migcPromptList(caption: string, phrases: readonly string[]): string[] {
  if (typeof caption !== 'string') throw new TypeError(`caption must be a string, got ${describe(caption)}`);
  return [caption, ...checkPhrases('phrases', phrases)];
}

/**
 * Bilinear resize of `channels` planes [inH, inW] → [outH, outW] as PyTorch's
 * `F.interpolate(mode='bilinear', align_corners=False)` without antialias: output pixel d reads
 * source coordinate max(0, (in/out)·(d + ½) − ½) and interpolates its two neighbours.
 */
export function resizeBilinear(
  src: Float32Array,
  channels: number,
  inH: number,
  inW: number,
  outH: number,
  outW: number,
): Float32Array {
  for (const [k, v] of Object.entries({ channels, inH, inW, outH, outW })) checkInt(k, v, 1, 1 << 16);
  checkFloat32('src', src, channels * inH * inW);
  const axis = (inSize: number, outSize: number) => {
    const scale = inSize / outSize;
    const i0 = new Int32Array(outSize);
    const i1 = new Int32Array(outSize);
    const l1 = new Float64Array(outSize);
    for (let d = 0; d < outSize; d++) {
      const s = Math.max(0, scale * (d + 0.5) - 0.5);
      const f = Math.floor(s);
      i0[d] = f;
      i1[d] = f < inSize - 1 ? f + 1 : f;
      l1[d] = s - f;
    }
    return { i0, i1, l1 };
  };
  const ys = axis(inH, outH);
  const xs = axis(inW, outW);
  const out = new Float32Array(channels * outH * outW);
  for (let c = 0; c < channels; c++) {
    const base = c * inH * inW;
    for (let y = 0; y < outH; y++) {
      const r0 = base + ys.i0[y] * inW;
      const r1 = base + ys.i1[y] * inW;
      const wy = ys.l1[y];
      for (let x = 0; x < outW; x++) {
        const wx = xs.l1[x];
        const a = src[r0 + xs.i0[x]] * (1 - wx) + src[r0 + xs.i1[x]] * wx;
        const b = src[r1 + xs.i0[x]] * (1 - wx) + src[r1 + xs.i1[x]] * wx;
        out[(c * outH + y) * outW + x] = a * (1 - wy) + b * wy;
      }
    }
  }
  return out;
}

/**
 * MIGC's guidance masks (sources M§4.4): per box a mask at image resolution
 * [imageH, imageW] with the rows int(imageH·y0) … int(imageH·y1) − 1 and columns
 * int(imageW·x0) … int(imageW·x1) − 1 set to 1 (Python `int` truncation), the supplement
 * 1 − clip(Σ masks, 0, 1), then both resized bilinearly to [latentH, latentW].
 */
export function migcMasks(
  boxes: readonly Box[],
  latentSize: readonly [number, number],
  imageSize: readonly [number, number] = [latentSize[0] * VAE_FACTOR, latentSize[1] * VAE_FACTOR],
): { guidance: Float32Array; supplement: Float32Array } {
  const b = checkBoxes('boxes', boxes);
  const [h, w] = latentSize;
  const [H, W] = imageSize;
  checkInt('latentSize[0]', h, 1, 1 << 14);
  checkInt('latentSize[1]', w, 1, 1 << 14);
  checkInt('imageSize[0]', H, 1, 1 << 16);
  checkInt('imageSize[1]', W, 1, 1 << 16);
  const n = b.length;
  const full = new Float32Array(n * H * W);
  const cover = new Uint8Array(H * W);
  b.forEach(([x0, y0, x1, y1], k) => {
    const r0 = Math.trunc(H * y0);
    const r1 = Math.trunc(H * y1);
    const c0 = Math.trunc(W * x0);
    const c1 = Math.trunc(W * x1);
    for (let r = r0; r < r1; r++) {
      for (let c = c0; c < c1; c++) {
        full[(k * H + r) * W + c] = 1;
        cover[r * W + c] = 1;
      }
    }
  });
  const supplementFull = new Float32Array(H * W);
  for (let i = 0; i < H * W; i++) supplementFull[i] = 1 - cover[i];
  return {
    guidance: n === 0 ? new Float32Array(0) : resizeBilinear(full, n, H, W, h, w),
    supplement: resizeBilinear(supplementFull, 1, H, W, h, w),
  };
}

/**
 * The SAC instance permutation (replaces `torch.randperm(size)`): a Fisher–Yates shuffle driven
 * by the core seeded generator (stream 0x5AC), so the same seed gives the same permutation.
 */
export function sacPermutation(seed: number, size = MIGC_MAX_INSTANCES): number[] {
  checkInt('size', size, 1, 1 << 16);
  const rng = gaussianRng(seed, 0x5ac);
  const p = Array.from({ length: size }, (_, i) => i);
  for (let i = size - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

export interface MigcInputs {
  readonly n: number;
  readonly length: number;
  readonly width: number;
  /** [n+2, length, width]: [neg, caption, phrase₁ … phraseₙ], MIGC's `encoder_hidden_states`. */
  readonly encoderHiddenStates: Float32Array;
  /** [length, width] rows of the CFG text input: negative and caption. */
  readonly negative: Float32Array;
  readonly caption: Float32Array;
  /** [n, length, width]. */
  readonly instanceEmbeddings: Float32Array;
  /** [n+1, 1, width] (caption first, `embeds_pooler`), and its last n rows [n, 1, width]. */
  readonly promptPooler: Float32Array;
  readonly instancePooler: Float32Array;
  /** [n, 4] in MIGC's order x0, x1, y0, y1. */
  readonly instanceBoxes: Float32Array;
  /** [1, n, h, w] and [1, 1, h, w]. */
  readonly guidanceMask: Float32Array;
  readonly supplementMask: Float32Array;
  /** [28]. */
  readonly sacPerm: number[];
}

/**
 * Lay out MIGC's inputs from the encodings of [negative, caption, phrase₁ … phraseₙ]:
 * `hidden` [n+2, length, width] and `pooled` [n+2, width].
 */
export function buildMigcInputs(opts: {
  phrases: readonly string[];
  boxes: readonly Box[];
  hidden: Float32Array;
  pooled: Float32Array;
  length: number;
  width: number;
  latentSize: readonly [number, number];
  seed: number;
}): MigcInputs {
  const n = checkMigcInstances(opts.phrases, opts.boxes);
  const L = checkInt('length', opts.length, 1);
  const D = checkInt('width', opts.width, 1);
  const row = L * D;
  checkFloat32('hidden', opts.hidden, (n + 2) * row);
  checkFloat32('pooled', opts.pooled, (n + 2) * D);
  const instanceBoxes = new Float32Array(4 * n);
  opts.boxes.forEach((b, k) => instanceBoxes.set([b[0], b[2], b[1], b[3]], 4 * k));
  const { guidance, supplement } = migcMasks(opts.boxes, opts.latentSize);
  return {
    n,
    length: L,
    width: D,
    encoderHiddenStates: opts.hidden,
    negative: opts.hidden.subarray(0, row),
    caption: opts.hidden.subarray(row, 2 * row),
    instanceEmbeddings: opts.hidden.subarray(2 * row),
    promptPooler: opts.pooled.subarray(D),
    instancePooler: opts.pooled.subarray(2 * D),
    instanceBoxes,
    guidanceMask: guidance,
    supplementMask: supplement,
    sacPerm: sacPermutation(opts.seed),
  };
}

/** The MIGC graph's constant inputs for the roles it has. */
export function migcExtras(
  inputs: MigcInputs,
  roles: ReadonlySet<string>,
  latentSize: readonly [number, number],
): Record<string, ConstantInput> {
  const { n, length: L, width: D } = inputs;
  const [h, w] = latentSize;
  const all: Record<string, ConstantInput> = {
    instance_embeddings: { value: inputs.instanceEmbeddings, dims: [n, L, D] },
    instance_pooler: { value: inputs.instancePooler, dims: [n, 1, D] },
    prompt_pooler: { value: inputs.promptPooler, dims: [n + 1, 1, D] },
    instance_boxes: { value: inputs.instanceBoxes, dims: [n, 4] },
    guidance_mask: { value: inputs.guidanceMask, dims: [1, n, h, w] },
    supplement_mask: { value: inputs.supplementMask, dims: [1, 1, h, w] },
    sac_perm: { value: inputs.sacPerm, dims: [inputs.sacPerm.length] },
  };
  const out: Record<string, ConstantInput> = {};
  for (const r of roles) if (r in all) out[r] = all[r];
  return out;
}

/** Whether step i (0-based) runs the MIGC graph: `ith ≤ MIGCsteps` (sources M§4.3). */
export function migcActiveAt(step: number, migcSteps: number): boolean {
  return step <= migcSteps;
}

/**
 * A denoiser that runs `migc` at steps i ≤ migcSteps and `plain` afterwards. The step index is
 * the position of t in `timesteps` when given; otherwise it is counted: the first call and any
 * call with a larger t than the last start at step 0, each smaller t is the next step, and calls
 * with the same t stay on the same step.
 */
export function createMigcSwitchDenoiser(opts: {
  migc: Denoiser;
  plain: Denoiser;
  migcSteps: number;
  timesteps?: readonly number[];
  name?: string;
  onSwitch?: (step: number, graph: 'migc' | 'plain') => void;
}): Denoiser & { readonly step: number } {
  const { migc, plain, timesteps } = opts;
  if (!migc || typeof migc.eps !== 'function') throw new TypeError('migc must be a Denoiser');
  if (!plain || typeof plain.eps !== 'function') throw new TypeError('plain must be a Denoiser');
  const migcSteps = checkInt('migcSteps', opts.migcSteps, -1);
  if (timesteps !== undefined && (!Array.isArray(timesteps) || timesteps.some((t) => typeof t !== 'number'))) {
    throw new TypeError('timesteps must be an array of numbers');
  }
  let lastT: number | null = null;
  let step = 0;
  return {
    name: opts.name ?? 'migc',
    get step() {
      return step;
    },
    eps(x: Float32Array, t: number, batch: number) {
      if (timesteps !== undefined) {
        const i = timesteps.indexOf(t);
        if (i < 0) throw new RangeError(`t = ${t} is not one of the run's timesteps [${timesteps.join(', ')}]`);
        step = i;
      } else {
        if (lastT === null || t > lastT) step = 0;
        else if (t < lastT) step++;
        lastT = t;
      }
      const useMigc = migcActiveAt(step, migcSteps);
      opts.onSwitch?.(step, useMigc ? 'migc' : 'plain');
      return (useMigc ? migc : plain).eps(x, t, batch);
    },
  };
}

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
    const unet = ctx.folder.unet;
    const make = (u: UnetModel, extras: Record<string, ConstantInput>, suffix: string): UnetDenoiser =>
      createUnetDenoiser({
        unet: u,
        cond: inputs.caption,
        uncond: inputs.negative,
        guidance: ctx.guidance,
        latentSize: ctx.latentSize,
        textLength: u.textLength === null ? e.length : undefined,
        extras,
        name: `${ctx.name}${suffix}`,
      });
    const base = migcExtras(inputs, roles, ctx.latentSize);
    let migc: UnetDenoiser;
    let plain: UnetDenoiser;
    if (layout === 'switch') {
      migc = make(unet, { ...base, switch: { value: 1 } }, '');
      plain = make(unet, { ...base, switch: { value: 0 } }, ' (plain)');
    } else {
      migc = make(unet, base, '');
      plain = make(await ctx.folder.openGraph(MIGC_PLAIN_GRAPH), {}, ' (plain)');
    }
    const timesteps = (ctx as FamilyContext & { timesteps?: readonly number[] }).timesteps;
    // The plain graph's session is one of the folder's sessions: folder.release() frees it.
    return createMigcSwitchDenoiser({ migc, plain, migcSteps, timesteps, name: ctx.name });
  },
});

registerFamily(migcFamily, { replace: true });
