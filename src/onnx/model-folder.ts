/**
 * Load an SD-family model folder in optimum's layout (sources M§6):
 * model_index.json, scheduler/scheduler_config.json, tokenizer/…, text_encoder/model.onnx,
 * unet/model.onnx (external weights `model.onnx_data` or `weights.pb` are resolved by
 * onnxruntime beside the model file), vae_decoder/model.onnx, and an optional amdm.json
 * (manifest.ts) mapping UNet input names to roles.
 *
 * Shapes (latent channels and size, text width) come from the session metadata, not constants.
 */
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ScheduleConfig } from '../core/schedule.ts';
import { parseManifest, STANDARD_UNET_INPUTS, type AmdmManifest, type GraphEntry, type Role } from './manifest.ts';
import { scheduleConfigFromJson } from './scheduler-config.ts';
import { describeInfo, openSession, type OnnxSession, type SessionOptions, type TensorInfo } from './session.ts';

export const COMPONENTS = ['text_encoder', 'unet', 'vae_decoder'] as const;
export type Component = (typeof COMPONENTS)[number];

export const TOKENIZER_FILES = [
  'vocab.json',
  'merges.txt',
  'special_tokens_map.json',
  'tokenizer_config.json',
] as const;

export interface LoadModelFolderOptions extends SessionOptions {
  /** Which sessions to open (default all three). The unet is always opened. */
  components?: readonly Component[];
}

export type TokenizerFiles = { readonly dir: string } & Readonly<Record<(typeof TOKENIZER_FILES)[number], string>>;

export interface UnetModel {
  readonly session: OnnxSession;
  readonly file: string;
  /** role → declared input (every graph input has exactly one role). */
  readonly roles: ReadonlyMap<Role, TensorInfo>;
  readonly latent: TensorInfo;
  readonly timestep: TensorInfo;
  readonly text: TensorInfo;
  readonly output: TensorInfo;
  readonly latentChannels: number;
  /** null when the graph declares a symbolic height/width. */
  readonly latentHeight: number | null;
  readonly latentWidth: number | null;
  readonly textWidth: number;
  /** null when the sequence dim is symbolic. */
  readonly textLength: number | null;
}

export interface TextEncoderModel {
  readonly session: OnnxSession;
  readonly file: string;
  readonly ids: TensorInfo;
  readonly lastHiddenState: TensorInfo;
  readonly pooled: TensorInfo | null;
  readonly width: number;
}

export interface VaeDecoderModel {
  readonly session: OnnxSession;
  readonly file: string;
  readonly latent: TensorInfo;
  readonly image: TensorInfo;
  readonly latentChannels: number;
}

export interface ModelFolder {
  readonly dir: string;
  readonly modelIndex: Readonly<Record<string, unknown>>;
  readonly schedule: ScheduleConfig;
  /** Absolute paths of the tokenizer files (null only when loaded without the text encoder and absent). */
  readonly tokenizer: TokenizerFiles | null;
  readonly manifest: AmdmManifest | null;
  readonly unet: UnetModel;
  readonly textEncoder: TextEncoderModel | null;
  readonly vaeDecoder: VaeDecoderModel | null;
  /** Open one of the manifest's extra graphs (`graphs.<name>`). */
  openGraph(name: string): Promise<UnetModel>;
  /** Release every session this folder opened. */
  release(): Promise<void>;
}

async function isFile(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isFile(),
    () => false,
  );
}

async function readJson(dir: string, rel: string, required: true): Promise<unknown>;
async function readJson(dir: string, rel: string, required: false): Promise<unknown | undefined>;
async function readJson(dir: string, rel: string, required: boolean): Promise<unknown> {
  const p = join(dir, rel);
  if (!(await isFile(p))) {
    if (!required) return undefined;
    throw new Error(`model folder ${dir} is missing ${rel}`);
  }
  const text = await readFile(p, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new SyntaxError(`${join(dir, rel)} is not valid JSON: ${(e as Error).message}`);
  }
}

export async function loadModelFolder(dir: string, opts: LoadModelFolderOptions = {}): Promise<ModelFolder> {
  if (typeof dir !== 'string' || dir === '')
    throw new TypeError(`dir must be a non-empty folder path, got ${JSON.stringify(dir)}`);
  const root = resolve(dir);
  const st = await stat(root).catch(() => null);
  if (!st?.isDirectory()) throw new Error(`model folder ${root} does not exist or is not a folder`);
  const components = opts.components ?? COMPONENTS;
  for (const c of components) {
    if (!(COMPONENTS as readonly string[]).includes(c)) {
      throw new RangeError(
        `components must hold only ${COMPONENTS.map((x) => `'${x}'`).join(', ')}, got ${JSON.stringify(c)}`,
      );
    }
  }
  const modelIndex = await readJson(root, 'model_index.json', true);
  if (modelIndex === null || typeof modelIndex !== 'object' || Array.isArray(modelIndex)) {
    throw new TypeError(`${join(root, 'model_index.json')} must hold a JSON object`);
  }
  const schedule = scheduleConfigFromJson(
    await readJson(root, 'scheduler/scheduler_config.json', true),
    join(root, 'scheduler/scheduler_config.json'),
  );
  const tokenizer = await tokenizerFiles(root, components);
  const manifestJson = await readJson(root, 'amdm.json', false);
  const manifest = manifestJson === undefined ? null : parseManifest(manifestJson, join(root, 'amdm.json'));
  const sessions = new FolderSessions(root, opts);
  try {
    const models = await openComponents(sessions, components, manifest);
    return Object.freeze({
      dir: root,
      modelIndex: modelIndex as Record<string, unknown>,
      schedule,
      tokenizer,
      manifest,
      ...models,
      async openGraph(name: string) {
        const entry = manifest?.graphs?.[name];
        if (!entry) {
          const names = Object.keys(manifest?.graphs ?? {});
          throw new RangeError(
            `amdm.json has no graph named '${name}'; graphs: ${names.length ? names.join(', ') : '(none)'}`,
          );
        }
        const file = entry.file ?? `${name}/model.onnx`;
        return unetModel(await sessions.open(file), file, entry);
      },
      release: () => sessions.releaseAll(),
    });
  } catch (e) {
    await sessions.releaseAll();
    throw e;
  }
}

/** The tokenizer's files; required with the text encoder, else reported only when all are present. */
async function tokenizerFiles(root: string, components: readonly Component[]): Promise<TokenizerFiles | null> {
  const tokDir = join(root, 'tokenizer');
  const tokenizer = { dir: tokDir } as TokenizerFiles;
  for (const f of TOKENIZER_FILES) {
    const p = join(tokDir, f);
    if (!(await isFile(p))) {
      if (components.includes('text_encoder')) throw new Error(`model folder ${root} is missing tokenizer/${f}`);
      return null;
    }
    (tokenizer as Record<string, string>)[f] = p;
  }
  return tokenizer;
}

/** The sessions a folder opens, so that a failure or `release` closes every one of them. */
class FolderSessions {
  readonly #root: string;
  readonly #opts: SessionOptions;
  readonly #opened: OnnxSession[] = [];

  constructor(root: string, opts: SessionOptions) {
    this.#root = root;
    this.#opts = opts;
  }

  /** A session on the folder's file `rel`; an error naming the file when it is missing. */
  async open(rel: string): Promise<OnnxSession> {
    const p = join(this.#root, rel);
    if (!(await isFile(p))) throw new Error(`model folder ${this.#root} is missing ${rel}`);
    const s = await openSession(p, this.#opts);
    this.#opened.push(s);
    return s;
  }

  async releaseAll(): Promise<void> {
    await Promise.all(this.#opened.splice(0).map((s) => s.release()));
  }
}

/** The UNet (amdm.json's or the standard file) and the components asked for, checked against it. */
async function openComponents(
  sessions: FolderSessions,
  components: readonly Component[],
  manifest: AmdmManifest | null,
): Promise<Pick<ModelFolder, 'unet' | 'textEncoder' | 'vaeDecoder'>> {
  const unetEntry = manifest?.unet;
  const unetFile = unetEntry?.file ?? 'unet/model.onnx';
  const unet = unetModel(await sessions.open(unetFile), unetFile, unetEntry);
  let textEncoder: TextEncoderModel | null = null;
  if (components.includes('text_encoder')) {
    const file = 'text_encoder/model.onnx';
    textEncoder = textEncoderModel(await sessions.open(file), file);
    if (textEncoder.width !== unet.textWidth) {
      throw new RangeError(
        `${file} produces last_hidden_state of width ${textEncoder.width} but ${unetFile} expects ${unet.text.name} of width ${unet.textWidth}`,
      );
    }
  }
  let vaeDecoder: VaeDecoderModel | null = null;
  if (components.includes('vae_decoder')) {
    const file = 'vae_decoder/model.onnx';
    vaeDecoder = vaeDecoderModel(await sessions.open(file), file);
    if (vaeDecoder.latentChannels !== unet.latentChannels) {
      throw new RangeError(
        `${file} takes ${vaeDecoder.latentChannels} latent channels but ${unetFile} has ${unet.latentChannels}`,
      );
    }
  }
  return { unet, textEncoder, vaeDecoder };
}

/** Resolve roles (from amdm.json or the standard names) and shapes of a UNet graph. */
export function unetModel(session: OnnxSession, file: string, entry?: GraphEntry): UnetModel {
  const roles = unetRoles(session, file, entry);
  const latent = roles.get('latent')!;
  const timestep = roles.get('timestep')!;
  const text = roles.get('text')!;
  if (latent.type !== 'float32' && latent.type !== 'float16') {
    throw new TypeError(
      `${file}: latent input '${latent.name}' is ${describeInfo(latent)}; expected float32 or float16`,
    );
  }
  if (latent.shape.length !== 4 || typeof latent.shape[1] !== 'number') {
    throw new RangeError(
      `${file}: latent input '${latent.name}' is ${describeInfo(latent)}; expected [batch, channels, height, width] with a fixed channel count`,
    );
  }
  if (text.type !== 'float32' && text.type !== 'float16') {
    throw new TypeError(`${file}: text input '${text.name}' is ${describeInfo(text)}; expected float32 or float16`);
  }
  if (text.shape.length !== 3 || typeof text.shape[2] !== 'number') {
    throw new RangeError(
      `${file}: text input '${text.name}' is ${describeInfo(text)}; expected [batch, sequence, width] with a fixed width`,
    );
  }
  if (timestep.shape.length > 1) {
    throw new RangeError(
      `${file}: timestep input '${timestep.name}' is ${describeInfo(timestep)}; expected a scalar [] or a 1-D tensor`,
    );
  }
  const num = (d: number | string | undefined) => (typeof d === 'number' && d > 0 ? d : null);
  return Object.freeze({
    session,
    file,
    roles,
    latent,
    timestep,
    text,
    output: unetOutput(session, file, entry),
    latentChannels: latent.shape[1] as number,
    latentHeight: num(latent.shape[2]),
    latentWidth: num(latent.shape[3]),
    textWidth: text.shape[2] as number,
    textLength: num(text.shape[1]),
  });
}

/** Each input's role: amdm.json's map (every input mapped), or the standard diffusers names. */
function unetRoles(session: OnnxSession, file: string, entry: GraphEntry | undefined): Map<Role, TensorInfo> {
  const have = () => session.inputs.map((i) => `${i.name} ${describeInfo(i)}`).join(', ');
  const roles = new Map<Role, TensorInfo>();
  if (entry) {
    for (const [name, role] of Object.entries(entry.inputs)) {
      const info = session.inputs.find((i) => i.name === name);
      if (!info)
        throw new RangeError(
          `amdm.json maps input '${name}' (role ${role}) but ${file} has no such input; it has: ${have()}`,
        );
      roles.set(role, info);
    }
    const unmapped = session.inputs.filter((i) => !(i.name in entry.inputs));
    if (unmapped.length > 0) {
      throw new RangeError(
        `${file} has inputs without a role in amdm.json: ${unmapped.map((i) => i.name).join(', ')} (the graph has: ${have()})`,
      );
    }
    return roles;
  }
  const unknown = session.inputs.filter((i) => !(i.name in STANDARD_UNET_INPUTS));
  const missing = Object.keys(STANDARD_UNET_INPUTS).filter((n) => !session.inputs.some((i) => i.name === n));
  if (unknown.length > 0 || missing.length > 0) {
    throw new RangeError(
      `${file} has inputs ${have()}; without an amdm.json the UNet inputs must be the standard ` +
        `sample, timestep, encoder_hidden_states` +
        (missing.length ? ` (missing: ${missing.join(', ')})` : '') +
        (unknown.length ? ` (unknown: ${unknown.map((i) => i.name).join(', ')})` : '') +
        `. Add an amdm.json that maps each input name to a role.`,
    );
  }
  for (const i of session.inputs) roles.set(STANDARD_UNET_INPUTS[i.name], i);
  return roles;
}

/** The noise prediction: amdm.json's output, else 'out_sample', else the only output; float32 or float16. */
function unetOutput(session: OnnxSession, file: string, entry: GraphEntry | undefined): TensorInfo {
  const outName = entry?.output ?? (session.outputs.some((o) => o.name === 'out_sample') ? 'out_sample' : undefined);
  let output: TensorInfo;
  if (outName !== undefined) output = session.output(outName);
  else if (session.outputs.length === 1) output = session.outputs[0];
  else {
    throw new RangeError(
      `${file} has outputs ${session.outputs.map((o) => o.name).join(', ')} and none is 'out_sample'; name the noise prediction in amdm.json (unet.output)`,
    );
  }
  if (output.type !== 'float32' && output.type !== 'float16') {
    throw new TypeError(`${file}: output '${output.name}' is ${describeInfo(output)}; expected float32 or float16`);
  }
  return output;
}

export function textEncoderModel(session: OnnxSession, file: string): TextEncoderModel {
  const ids = session.input('input_ids');
  if (ids.type !== 'int32' && ids.type !== 'int64') {
    throw new TypeError(`${file}: input 'input_ids' is ${describeInfo(ids)}; expected int32 or int64`);
  }
  const lastHiddenState = session.output('last_hidden_state');
  if (lastHiddenState.shape.length !== 3 || typeof lastHiddenState.shape[2] !== 'number') {
    throw new RangeError(
      `${file}: output 'last_hidden_state' is ${describeInfo(lastHiddenState)}; expected [batch, sequence, width] with a fixed width`,
    );
  }
  const pooled = session.outputs.find((o) => o.name === 'pooler_output') ?? null;
  return Object.freeze({ session, file, ids, lastHiddenState, pooled, width: lastHiddenState.shape[2] as number });
}

export function vaeDecoderModel(session: OnnxSession, file: string): VaeDecoderModel {
  const latent = session.input('latent_sample');
  const image = session.output('sample');
  if (latent.shape.length !== 4 || typeof latent.shape[1] !== 'number') {
    throw new RangeError(
      `${file}: input 'latent_sample' is ${describeInfo(latent)}; expected [batch, channels, height, width] with fixed channels`,
    );
  }
  return Object.freeze({ session, file, latent, image, latentChannels: latent.shape[1] as number });
}

/**
 * Throws unless the decoder takes the UNet's latents: the same channels and, where both graphs
 * declare them, the same height and width (otherwise the run would fail at the first decode
 * with onnxruntime's own message).
 */
export function checkDecoderTakesLatents(vae: VaeDecoderModel, unet: UnetModel): void {
  const [h, w] = [vae.latent.shape[2], vae.latent.shape[3]];
  const differs = (a: number | string, b: number | null) => typeof a === 'number' && a >= 0 && b !== null && a !== b;
  if (vae.latentChannels !== unet.latentChannels || differs(h, unet.latentHeight) || differs(w, unet.latentWidth)) {
    throw new RangeError(
      `${vae.file} takes latents ${describeInfo(vae.latent)} but ${unet.file} makes ${describeInfo(unet.latent)}; ` +
        'the UNet and the decoder must come from one export',
    );
  }
}
