/**
 * Runs of the text encoder and the VAE decoder with inputs cast per declared dtype and outputs
 * read as float32. Prompt handling (tokenizing, padding) and image conversion (÷ 0.18215,
 * (x/2 + 0.5)·255) belong to the SD layer; these only feed the graphs.
 */
import type { TextEncoderModel, VaeDecoderModel } from './model-folder.ts';
import { makeTensor, outputFloat32 } from './session.ts';

export interface TextEncoding {
  /** last_hidden_state, [batch, sequence, width]. */
  hidden: Float32Array;
  /** pooler_output [batch, width], or null when the graph has none. */
  pooled: Float32Array | null;
  sequence: number;
  width: number;
}

/** Run the text encoder on `batch` rows of token ids (batch·sequence ids, row-major). */
export async function encodeTokenIds(
  textEncoder: TextEncoderModel,
  ids: ArrayLike<number>,
  batch: number,
): Promise<TextEncoding> {
  if (!Number.isInteger(batch) || batch < 1)
    throw new RangeError(`batch must be an integer >= 1, got ${String(batch)}`);
  if (ids === null || typeof ids !== 'object' || typeof ids.length !== 'number')
    throw new TypeError('ids must be an array of token ids');
  if (ids.length === 0 || ids.length % batch !== 0) {
    throw new RangeError(
      `ids must hold batch·sequence ids (a positive multiple of batch = ${batch}), got ${ids.length}`,
    );
  }
  const sequence = ids.length / batch;
  const result = await textEncoder.session.run({
    [textEncoder.ids.name]: makeTensor(textEncoder.ids, ids, [batch, sequence]),
  });
  const hidden = outputFloat32(result, textEncoder.lastHiddenState.name);
  if (hidden.length !== batch * sequence * textEncoder.width) {
    throw new RangeError(
      `${textEncoder.file}: last_hidden_state has ${hidden.length} values, expected ${batch}·${sequence}·${textEncoder.width}`,
    );
  }
  const pooled = textEncoder.pooled ? outputFloat32(result, textEncoder.pooled.name) : null;
  return { hidden, pooled, sequence, width: textEncoder.width };
}

/**
 * Run the VAE decoder on `batch` latents [batch, C, h, w] (already divided by the scaling
 * factor). `latentSize` is needed only when the graph's height/width are symbolic and the
 * latent is not square.
 */
export async function decodeLatents(
  vae: VaeDecoderModel,
  latents: Float32Array,
  batch: number,
  latentSize?: readonly [number, number],
): Promise<{ image: Float32Array; dims: number[] }> {
  if (!Number.isInteger(batch) || batch < 1)
    throw new RangeError(`batch must be an integer >= 1, got ${String(batch)}`);
  if (!(latents instanceof Float32Array)) throw new TypeError('latents must be a Float32Array');
  const C = vae.latentChannels;
  const per = latents.length / batch / C;
  let h: number;
  let w: number;
  if (latentSize) [h, w] = latentSize;
  else if (typeof vae.latent.shape[2] === 'number' && typeof vae.latent.shape[3] === 'number')
    [h, w] = [vae.latent.shape[2], vae.latent.shape[3]];
  else h = w = Math.round(Math.sqrt(per));
  if (latents.length !== batch * C * h * w) {
    throw new RangeError(`latents must have length batch·${C}·${h}·${w} = ${batch * C * h * w}, got ${latents.length}`);
  }
  const result = await vae.session.run({ [vae.latent.name]: makeTensor(vae.latent, latents, [batch, C, h, w]) });
  const image = outputFloat32(result, vae.image.name);
  return { image, dims: [...result[vae.image.name].dims] };
}
