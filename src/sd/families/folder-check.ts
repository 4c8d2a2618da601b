/**
 * Checks shared by the grounded families before any model runs: the folder's amdm.json names
 * the family (`"family": "<kind>"`), and its UNet graph has exactly the roles the family feeds.
 */
import { REQUIRED_ROLES } from '../../onnx/manifest.ts';
import type { ModelFolder, UnetModel } from '../../onnx/model-folder.ts';
import { describeInfo, type TensorInfo } from '../../onnx/session.ts';
import type { ClipTokenizer } from '../clip-tokenizer.ts';
import { encodeTokenIds } from '../../onnx/components.ts';
import type { FamilyContext } from '../family.ts';

/** Throw unless the folder's amdm.json declares `"family": kind`. */
export function checkManifestFamily(folder: ModelFolder, kind: string): void {
  const declared = folder.manifest?.family;
  if (declared !== kind) {
    throw new RangeError(
      `model kind '${kind}' needs a folder whose amdm.json declares "family": "${kind}", but ${folder.dir} ` +
        (folder.manifest === null
          ? 'has no amdm.json'
          : declared === undefined
            ? 'declares no family'
            : `declares "family": "${declared}"`) +
        ` (see docs/models.md for the ${kind} export contract)`,
    );
  }
}

/**
 * Throw unless `unet` has every role in `required`, and no extra role outside
 * `required ∪ optional`. Returns the roles present.
 */
export function checkRoles(
  unet: UnetModel,
  kind: string,
  required: readonly string[],
  optional: readonly string[] = [],
): Set<string> {
  const have = new Set([...unet.roles.keys()].filter((r) => !(REQUIRED_ROLES as readonly string[]).includes(r)));
  const missing = required.filter((r) => !have.has(r));
  const unknown = [...have].filter((r) => !required.includes(r) && !optional.includes(r));
  if (missing.length > 0 || unknown.length > 0) {
    throw new RangeError(
      `${unet.file}: kind '${kind}' feeds the roles ${[...required, ...optional.map((o) => `${o} (optional)`)].join(', ')}` +
        (missing.length ? `; the graph has no input with role ${missing.join(', ')}` : '') +
        (unknown.length ? `; it cannot fill the roles ${unknown.join(', ')}` : '') +
        ' (map the input names to roles in amdm.json)',
    );
  }
  return have;
}

/** Throw unless the declared dim `k` of `info` is symbolic or equal to `want`. */
export function checkDim(file: string, info: TensorInfo, k: number, want: number, what: string): void {
  const d = info.shape[k];
  if (typeof d === 'number' && d >= 0 && d !== want) {
    throw new RangeError(
      `${file}: input '${info.name}' is ${describeInfo(info)}, but ${what} needs dim ${k} = ${want}`,
    );
  }
}

/**
 * pooler_output of each text. With the folder's own text encoder the texts are tokenized as
 * `tokenizer(texts, padding=True)` (padded to the longest, InteractDiffusion's call, research
 * sources M§3.2); otherwise through the pipeline's 77-token encoder. Both give the same pooled
 * vectors: CLIP pools at the first EOS and attention is causal, so padding after it is unseen.
 */
export async function encodePooled(
  ctx: FamilyContext,
  texts: readonly string[],
): Promise<{ pooled: Float32Array; width: number }> {
  const textEncoder = ctx.folder.textEncoder;
  if (textEncoder !== null && textEncoder.pooled !== null) {
    const { ids } = (ctx.tokenizer as ClipTokenizer).encodeBatch(texts, { padding: 'longest' });
    const e = await encodeTokenIds(textEncoder, ids.flat(), texts.length);
    return { pooled: e.pooled!, width: e.width };
  }
  const e = await ctx.encodeText(texts);
  if (e.pooled === null)
    throw new RangeError(
      `the text encoder of ${ctx.folder.dir} has no pooler_output output; it is needed for phrase embeddings`,
    );
  return { pooled: e.pooled, width: e.width };
}
