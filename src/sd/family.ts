/**
 * Model families: the plug-in point of the SD pipeline.
 *
 * A family turns (a loaded model folder, a prompt, family-specific conditions) into a core
 * `Denoiser` with classifier-free guidance inside. The pipeline does everything else: it
 * tokenizes and encodes text (sharing text-encoder sessions between folders), runs AMDM/DDIM
 * over the denoisers of all models, and decodes the target's latents.
 *
 * A family declares
 *   - `kind`: the name a job file uses (`models[i].kind`), lower-case;
 *   - `conditionSchema`: a zod schema of `models[i].conditions` (the job schema reports its
 *     issues under `models[i].conditions.…`);
 *   - `checkFolder` (optional): checks of the loaded folder against the conditions that must
 *     fail before any model runs (a missing input role, a wrong box count, …);
 *   - `createDenoiser`: builds the denoiser; `release()` on it, when present, is called after
 *     the run;
 *   - `releaseFolder` (optional): frees what the family kept for a folder across runs.
 *
 * Families register themselves with `registerFamily` when their module is imported; the plain
 * text-only `sd` family (standard SD 1.x UNet: latent, timestep, text) is built in.
 */
import { z, type ZodType } from 'zod';
import type { Denoiser } from '../core/types.ts';
import { REQUIRED_ROLES } from '../onnx/manifest.ts';
import type { ModelFolder } from '../onnx/model-folder.ts';
import { createUnetDenoiser } from '../onnx/unet-denoiser.ts';
import type { ClipTokenizer } from './clip-tokenizer.ts';

/** Text encoder outputs for `rows` texts. */
export interface PromptEncoding {
  /** last_hidden_state, [rows, length, width]. */
  readonly hidden: Float32Array;
  /** pooler_output [rows, width], or null when the text encoder has none. */
  readonly pooled: Float32Array | null;
  readonly rows: number;
  /** Tokens per text (77 for SD). */
  readonly length: number;
  readonly width: number;
}

/** What the pipeline hands a family for one model. */
export interface FamilyContext {
  /** The loaded folder (unet, and text encoder unless shared from another folder). */
  readonly folder: ModelFolder;
  /** The folder's CLIP tokenizer. */
  readonly tokenizer: ClipTokenizer;
  /**
   * Encode texts with this folder's text encoder: each padded/truncated to the tokenizer's
   * maxLength (77) with its pad id (49407 for SD), as `tokenizer(…, padding="max_length")`.
   */
  encodeText(texts: readonly string[]): Promise<PromptEncoding>;
  /** CFG scale g (ε = ε_u + g(ε_c − ε_u), sources M§2.7); 1 disables the uncond half. */
  readonly guidance: number;
  /** Text of the unconditional half. */
  readonly negativePrompt: string;
  /** Samples per model. */
  readonly batch: number;
  /** The run's seed (for families that draw anything themselves). */
  readonly seed: number;
  /** [height, width] of the latent. */
  readonly latentSize: readonly [number, number];
  /** Display name of the model (job `models[i].name`). */
  readonly name: string;
  /**
   * The timesteps the run visits, in order, when the pipeline knows them (AMDM's own loop): a
   * step-dependent family (MIGC) finds the run's step index of t there, which counting its own
   * calls gets wrong when the model's window starts after step 0.
   */
  readonly timesteps?: readonly number[];
}

export type FamilyDenoiser = Denoiser & { release?(): void | Promise<void> };

export interface ModelFamily<C = unknown> {
  readonly kind: string;
  /** One line for `--help` and error messages. */
  readonly description: string;
  readonly conditionSchema: ZodType<C>;
  /** Throw (naming the field) when the folder cannot take these conditions. */
  checkFolder?(folder: ModelFolder, conditions: C): void;
  createDenoiser(ctx: FamilyContext, prompt: string, conditions: C): Promise<FamilyDenoiser>;
  /**
   * Frees what the family kept for a loaded folder across runs (sessions it opened itself);
   * the pipeline calls it once when it releases the folder.
   */
  releaseFolder?(folder: ModelFolder): Promise<void>;
}

const registry = new Map<string, ModelFamily>();

/** Register a family under its kind; a kind is registered once unless `replace` is set. */
export function registerFamily<C>(family: ModelFamily<C>, opts: { replace?: boolean } = {}): void {
  if (family === null || typeof family !== 'object') throw new TypeError('family must be a ModelFamily object');
  if (typeof family.kind !== 'string' || !/^[a-z][a-z0-9_-]*$/.test(family.kind)) {
    throw new RangeError(
      `family.kind must be a lower-case name (letters, digits, _ or -), got ${JSON.stringify(family.kind)}`,
    );
  }
  if (!family.conditionSchema || typeof (family.conditionSchema as ZodType).safeParse !== 'function') {
    throw new TypeError(`family '${family.kind}': conditionSchema must be a zod schema`);
  }
  if (typeof family.createDenoiser !== 'function')
    throw new TypeError(`family '${family.kind}': createDenoiser must be a function`);
  if (family.checkFolder !== undefined && typeof family.checkFolder !== 'function') {
    throw new TypeError(`family '${family.kind}': checkFolder must be a function when given`);
  }
  if (family.releaseFolder !== undefined && typeof family.releaseFolder !== 'function') {
    throw new TypeError(`family '${family.kind}': releaseFolder must be a function when given`);
  }
  if (registry.has(family.kind) && !opts.replace) {
    throw new RangeError(
      `a model family of kind '${family.kind}' is already registered (pass { replace: true } to replace it)`,
    );
  }
  registry.set(family.kind, family as ModelFamily);
}

/** The family of a kind; the error lists the registered kinds. */
export function getFamily(kind: string): ModelFamily {
  const f = registry.get(kind);
  if (!f)
    throw new RangeError(`unknown model kind ${JSON.stringify(kind)}; registered kinds: ${familyKinds().join(', ')}`);
  return f;
}

/** Registered kinds, sorted. */
export function familyKinds(): string[] {
  return [...registry.keys()].sort();
}

/** Encode the prompt (1 row, broadcast to the batch) and, with CFG, the negative prompt. */
export async function encodePromptPair(
  ctx: FamilyContext,
  prompt: string,
): Promise<{ cond: Float32Array; uncond?: Float32Array }> {
  if (ctx.guidance === 1) return { cond: (await ctx.encodeText([prompt])).hidden };
  const e = await ctx.encodeText([ctx.negativePrompt, prompt]);
  const row = e.length * e.width;
  return { uncond: e.hidden.slice(0, row), cond: e.hidden.slice(row, 2 * row) };
}

/** The unet's input roles beyond latent, timestep and text. */
export function extraRoles(folder: ModelFolder): string[] {
  return [...folder.unet.roles.keys()].filter((r) => !(REQUIRED_ROLES as readonly string[]).includes(r));
}

/** `sd`: a standard SD 1.x UNet conditioned by text only (no conditions). */
export const sdFamily: ModelFamily<Record<string, never>> = Object.freeze({
  kind: 'sd',
  description: 'plain SD 1.x UNet (sample, timestep, encoder_hidden_states): text only',
  conditionSchema: z.strictObject({}) as unknown as ZodType<Record<string, never>>,
  checkFolder(folder: ModelFolder) {
    const extra = extraRoles(folder);
    if (extra.length > 0) {
      throw new RangeError(
        `kind 'sd' feeds only latent, timestep and text, but ${folder.unet.file} in ${folder.dir} also has inputs with roles ${extra.join(', ')}; ` +
          `use the model kind that fills them (registered kinds: ${familyKinds().join(', ')})`,
      );
    }
  },
  async createDenoiser(ctx: FamilyContext, prompt: string) {
    const { cond, uncond } = await encodePromptPair(ctx, prompt);
    return createUnetDenoiser({
      unet: ctx.folder.unet,
      cond,
      uncond,
      guidance: ctx.guidance,
      latentSize: ctx.latentSize,
      textLength: ctx.folder.unet.textLength === null ? cond.length / ctx.folder.unet.textWidth : undefined,
      name: ctx.name,
    });
  },
});

registerFamily(sdFamily);
