/**
 * A `FamilyContext` over one loaded model folder, for callers that drive families without the
 * pipeline (the COCO-MIG runner, tests, notebooks): the folder's own tokenizer and text encoder,
 * every text padded/truncated to 77 tokens as `tokenizer(…, padding="max_length")`.
 */
import { encodeTokenIds } from '../../onnx/components.ts';
import type { ModelFolder } from '../../onnx/model-folder.ts';
import type { ClipTokenizer } from '../clip-tokenizer.ts';
import { loadClipTokenizer } from '../clip-tokenizer-files.ts';
import type { FamilyContext } from '../family.ts';
import { AMDM_DEFAULTS } from '../../core/defaults.ts';

export interface StandaloneContextOptions {
  guidance?: number;
  negativePrompt?: string;
  batch?: number;
  seed?: number;
  name?: string;
  /** The run's timesteps (lets MIGC find the step index of t exactly). */
  timesteps?: readonly number[];
  /** A tokenizer already loaded (default: the folder's tokenizer/ files). */
  tokenizer?: ClipTokenizer;
  /** [height, width] of the latent when the UNet declares them symbolic. */
  latentSize?: readonly [number, number];
}

export type StandaloneContext = FamilyContext;

export async function standaloneContext(
  folder: ModelFolder,
  opts: StandaloneContextOptions = {},
): Promise<StandaloneContext> {
  if (!folder.textEncoder) throw new RangeError(`model folder ${folder.dir} was loaded without its text encoder`);
  if (!opts.tokenizer && !folder.tokenizer) throw new RangeError(`model folder ${folder.dir} has no tokenizer/ files`);
  const tokenizer = opts.tokenizer ?? (await loadClipTokenizer(folder.tokenizer!.dir));
  const textEncoder = folder.textEncoder;
  const h = folder.unet.latentHeight ?? opts.latentSize?.[0];
  const w = folder.unet.latentWidth ?? opts.latentSize?.[1];
  if (h === undefined || w === undefined)
    throw new RangeError(`${folder.unet.file} declares a symbolic latent height/width; pass latentSize`);
  const length = 77;
  return {
    folder,
    tokenizer,
    async encodeText(texts: readonly string[]) {
      const ids = texts.flatMap((t) =>
        tokenizer.encode(t, { padding: 'max_length', truncation: true, maxLength: length }),
      );
      const e = await encodeTokenIds(textEncoder, ids, texts.length);
      return { hidden: e.hidden, pooled: e.pooled, rows: texts.length, length: e.sequence, width: e.width };
    },
    guidance: opts.guidance ?? AMDM_DEFAULTS.guidance,
    negativePrompt: opts.negativePrompt ?? '',
    batch: opts.batch ?? AMDM_DEFAULTS.batch,
    seed: opts.seed ?? AMDM_DEFAULTS.seed,
    latentSize: [h, w],
    name: opts.name ?? folder.dir.split(/[\\/]/).pop()!,
    ...(opts.timesteps ? { timesteps: opts.timesteps } : {}),
  };
}
