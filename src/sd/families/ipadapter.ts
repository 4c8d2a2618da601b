/**
 * IP-Adapter (tencent-ailab/IP-Adapter, SD 1.5, 4 tokens; sources M§5) as ONNX graphs: the
 * image-token builder and the `ipadapter` model family.
 *
 *   pixel_values  = CLIPImageProcessor()(reference image)           [1, 3, 224, 224] (clip-image.ts)
 *   image_embeds  = image_encoder(pixel_values)                     [1, E]   (CLIPVisionModelWithProjection)
 *   ip_tokens     = image_proj(image_embeds)                        [1, T, D] (Linear → reshape → LayerNorm)
 *   uncond tokens = image_proj(zeros_like(image_embeds))            (LayerNorm of the bias, not zeros)
 *   encoder_hidden_states = cat([text77, ip_tokens], dim=1)         [2B, 77 + T, D], rows [neg; pos]
 * and the UNet's decoupled cross-attention adds scale · attention over the last T tokens. The
 * scale is an input (`scale` role) when the export made it one; otherwise it is baked in.
 *
 * Folder (docs/models.md): the SD folder with the IP UNet as `unet`, plus
 * image_encoder/model.onnx (pixel_values → image_embeds) and image_proj/model.onnx
 * (image_embeds → ip_tokens); amdm.json declares "family": "ipadapter".
 */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z, type ZodType } from 'zod';
import { checkFloat32, checkInt } from '../../core/validate.ts';
import { decodePNG } from '../../image/png.ts';
import type { ModelFolder } from '../../onnx/model-folder.ts';
import {
  describeInfo,
  makeTensor,
  openSession,
  outputFloat32,
  type OnnxSession,
  type SessionOptions,
} from '../../onnx/session.ts';
import { createUnetDenoiser } from '../../onnx/unet-denoiser.ts';
import { encodePromptPair, registerFamily, type FamilyContext, type ModelFamily } from '../family.ts';
import { CLIP_IMAGE_SIZE, clipImagePreprocess } from './clip-image.ts';
import { checkManifestFamily, checkRoles } from './folder-check.ts';

export const IP_IMAGE_ENCODER_FILE = 'image_encoder/model.onnx';
export const IP_IMAGE_PROJ_FILE = 'image_proj/model.onnx';
/** `IPAdapter.generate`'s default scale. */
export const IP_DEFAULT_SCALE = 1.0;

export interface IpAdapterEncoders {
  readonly encoder: OnnxSession;
  readonly proj: OnnxSession;
  /** Side of the square pixel_values the encoder takes (224 for CLIP ViT-H/14). */
  readonly imageSize: number;
  release(): Promise<void>;
}

/** Open image_encoder/model.onnx and image_proj/model.onnx of an IP-Adapter folder. */
export async function openIpAdapterEncoders(
  dir: string,
  session: Pick<SessionOptions, 'device' | 'backend'> = {},
): Promise<IpAdapterEncoders> {
  const open = async (rel: string) => {
    const p = join(dir, rel);
    if (!existsSync(p)) throw new Error(`IP-Adapter folder ${dir} is missing ${rel}`);
    return openSession(p, { device: session.device, backend: session.backend });
  };
  const encoder = await open(IP_IMAGE_ENCODER_FILE);
  let proj: OnnxSession;
  try {
    proj = await open(IP_IMAGE_PROJ_FILE);
  } catch (e) {
    await encoder.release();
    throw e;
  }
  const pv = encoder.input('pixel_values');
  encoder.output('image_embeds');
  proj.input('image_embeds');
  proj.output('ip_tokens');
  if (pv.shape.length !== 4)
    throw new RangeError(
      `${IP_IMAGE_ENCODER_FILE}: pixel_values is ${describeInfo(pv)}; expected [batch, 3, size, size]`,
    );
  const side = pv.shape[2];
  const imageSize = typeof side === 'number' && side > 0 ? side : CLIP_IMAGE_SIZE;
  return {
    encoder,
    proj,
    imageSize,
    async release() {
      await Promise.all([encoder.release(), proj.release()]);
    },
  };
}

/**
 * Image tokens of one preprocessed image (`pixel_values` [3, S, S]) and the unconditional tokens
 * (projection of zero embeddings): each [T, D] flattened.
 */
export async function ipImageTokens(
  enc: IpAdapterEncoders,
  pixelValues: Float32Array,
): Promise<{ tokens: Float32Array; uncondTokens: Float32Array; count: number; width: number }> {
  const S = enc.imageSize;
  checkFloat32('pixelValues', pixelValues, 3 * S * S);
  const pv = enc.encoder.input('pixel_values');
  const embeds = outputFloat32(
    await enc.encoder.run({ [pv.name]: makeTensor(pv, pixelValues, [1, 3, S, S]) }),
    'image_embeds',
  );
  const ie = enc.proj.input('image_embeds');
  const project = async (v: Float32Array) => {
    const r = await enc.proj.run({ [ie.name]: makeTensor(ie, v, [1, v.length]) });
    return { data: outputFloat32(r, 'ip_tokens'), dims: r.ip_tokens.dims };
  };
  const cond = await project(embeds);
  const uncond = await project(new Float32Array(embeds.length));
  if (cond.dims.length !== 3)
    throw new RangeError(
      `${IP_IMAGE_PROJ_FILE}: ip_tokens has dims [${cond.dims.join(', ')}]; expected [1, tokens, width]`,
    );
  return { tokens: cond.data, uncondTokens: uncond.data, count: cond.dims[1], width: cond.dims[2] };
}

/** cat([text, tokens], dim = 1) for one row: [L·D] and [T·D] → [(L+T)·D] (sources M§5). */
export function concatTokens(text: Float32Array, tokens: Float32Array, width: number): Float32Array {
  checkInt('width', width, 1);
  checkFloat32('text', text);
  checkFloat32('tokens', tokens);
  if (text.length % width !== 0 || tokens.length % width !== 0) {
    throw new RangeError(`text (${text.length}) and tokens (${tokens.length}) must hold whole rows of width ${width}`);
  }
  const out = new Float32Array(text.length + tokens.length);
  out.set(text, 0);
  out.set(tokens, text.length);
  return out;
}

export interface IpAdapterConditions {
  /** Path of the reference (style) image, a PNG. Relative: against the working folder here, against the job file's folder in a job file (`amdm generate`). */
  image: string;
  /** IP-Adapter scale (default 1.0; AMDM's demos use 0.8). Needs a UNet input with role `scale`. */
  scale?: number;
}

export const ipAdapterConditionSchema = z.strictObject({
  image: z.string().min(1, 'image must name a PNG file (the style reference)'),
  scale: z.number().min(0).max(10).optional(),
}) as unknown as ZodType<IpAdapterConditions>;

/** Throw unless `image` names an existing file. */
export function checkStyleImage(image: string): string {
  const p = resolve(image);
  if (!existsSync(p) || !statSync(p).isFile())
    throw new RangeError(`conditions.image: the style image ${p} does not exist or is not a file`);
  return p;
}

/** Check the folder for kind 'ipadapter': manifest family, roles, the encoder files. */
export function checkIpAdapterFolder(folder: ModelFolder, c?: IpAdapterConditions): Set<string> {
  checkManifestFamily(folder, 'ipadapter');
  const roles = checkRoles(folder.unet, 'ipadapter', [], ['scale']);
  for (const f of [IP_IMAGE_ENCODER_FILE, IP_IMAGE_PROJ_FILE]) {
    if (!existsSync(join(folder.dir, f))) throw new Error(`IP-Adapter folder ${folder.dir} is missing ${f}`);
  }
  const L = folder.unet.textLength;
  if (L !== null && L <= 77) {
    throw new RangeError(
      `${folder.unet.file}: text input '${folder.unet.text.name}' is ${describeInfo(folder.unet.text)}; an IP-Adapter UNet takes 77 text tokens plus the image tokens`,
    );
  }
  if (c?.scale !== undefined && c.scale !== IP_DEFAULT_SCALE && !roles.has('scale')) {
    throw new RangeError(
      `conditions.scale: ${folder.unet.file} has no input with role 'scale' (the scale is baked into the export), so scale ${c.scale} cannot be applied`,
    );
  }
  return roles;
}

export const ipAdapterFamily: ModelFamily<IpAdapterConditions> = Object.freeze({
  kind: 'ipadapter',
  description: 'IP-Adapter UNet: a style reference image (PNG) as extra image tokens, with a scale',
  conditionSchema: ipAdapterConditionSchema,
  checkFolder(folder: ModelFolder, c: IpAdapterConditions) {
    checkIpAdapterFolder(folder, c);
    checkStyleImage(c.image);
  },
  async createDenoiser(ctx: FamilyContext, prompt: string, c: IpAdapterConditions) {
    const roles = checkIpAdapterFolder(ctx.folder, c);
    const image = await decodePNG(new Uint8Array(await readFile(checkStyleImage(c.image))));
    const enc = await folderEncoders(ctx.folder);
    const tok = await ipImageTokens(enc, clipImagePreprocess(image, { size: enc.imageSize, crop: enc.imageSize }));
    const unet = ctx.folder.unet;
    const pair = await encodePromptPair(ctx, prompt);
    // The text part is the 77-token encoding (ctx.encodeText pads to 77). Should a caller pad to
    // the UNet's whole sequence instead, its first 77 rows are the same (CLIP is causal and
    // pads after the EOS), so only those are kept.
    const first77 = (v: Float32Array) => (v.length > 77 * unet.textWidth ? v.slice(0, 77 * unet.textWidth) : v);
    const cond = first77(pair.cond);
    const uncond = pair.uncond && first77(pair.uncond);
    if (tok.width !== unet.textWidth)
      throw new RangeError(
        `${IP_IMAGE_PROJ_FILE} gives tokens of width ${tok.width} but ${unet.file} takes text width ${unet.textWidth}`,
      );
    const textCond = concatTokens(cond, tok.tokens, tok.width);
    const textUncond = uncond ? concatTokens(uncond, tok.uncondTokens, tok.width) : undefined;
    const length = textCond.length / tok.width;
    if (unet.textLength !== null && unet.textLength !== length) {
      throw new RangeError(
        `${unet.file} takes ${unet.textLength} text tokens but 77-token text + ${tok.count} image tokens make ${length}`,
      );
    }
    return createUnetDenoiser({
      unet,
      cond: textCond,
      uncond: textUncond,
      guidance: ctx.guidance,
      latentSize: ctx.latentSize,
      textLength: unet.textLength === null ? length : undefined,
      extras: roles.has('scale') ? { scale: { value: c.scale ?? IP_DEFAULT_SCALE } } : {},
      name: ctx.name,
    });
  },
  async releaseFolder(folder: ModelFolder) {
    const enc = encodersByFolder.get(folder);
    encodersByFolder.delete(folder);
    await (await enc?.catch(() => null))?.release();
  },
});

/**
 * The image encoder and projection of a loaded folder, opened on its first run and kept until
 * the pipeline releases the folder (`releaseFolder`): opening two sessions per run would cost
 * more than a run of the mini-zoo's models.
 */
const encodersByFolder = new WeakMap<ModelFolder, Promise<IpAdapterEncoders>>();
function folderEncoders(folder: ModelFolder): Promise<IpAdapterEncoders> {
  let enc = encodersByFolder.get(folder);
  if (enc === undefined) {
    enc = openIpAdapterEncoders(folder.dir, {
      device: folder.unet.session.device,
      backend: folder.unet.session.backend,
    });
    encodersByFolder.set(folder, enc);
    enc.catch(() => encodersByFolder.delete(folder));
  }
  return enc;
}

registerFamily(ipAdapterFamily, { replace: true });
