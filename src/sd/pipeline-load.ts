/**
 * Loading of the SD pipeline's model folders (`prepareSdPipeline`): each spec's family and
 * conditions checked before a file is opened, then every folder loaded with its tokenizer, prompt
 * encoder and VAE, text-encoder and VAE sessions shared between folders with the same file (same
 * real path or same bytes), and one latent shape and one noise schedule checked across models.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ScheduleConfig } from '../core/schedule.ts';
import { describe } from '../core/validate.ts';
import { describeInfo, type OnnxSession, type SessionOptions } from '../onnx/session.ts';
import {
  checkDecoderTakesLatents,
  loadModelFolder,
  type Component,
  type ModelFolder,
  type TextEncoderModel,
  type VaeDecoderModel,
} from '../onnx/model-folder.ts';
import type { ClipTokenizer } from './clip-tokenizer.ts';
import { loadClipTokenizer } from './clip-tokenizer-files.ts';
import { getFamily, type ModelFamily } from './family.ts';
import type { LoadedModel, SdModelSpec } from './pipeline-types.ts';
import { promptEncoder, type PromptEncoder } from './text.ts';

/** A file identity for sharing sessions: same real path, or same size and SHA-256. */
export function fileIdentities(): (path: string) => Promise<number | null> {
  const known: { real: string; size: number; hash: Promise<string> | null }[] = [];
  const hashOf = (e: { real: string; hash: Promise<string> | null }) =>
    (e.hash ??= new Promise<string>((res, rej) => {
      const h = createHash('sha256');
      createReadStream(e.real)
        .on('data', (c) => h.update(c))
        .on('error', rej)
        .on('end', () => res(h.digest('hex')));
    }));
  return async (path) => {
    const st = await stat(path).catch(() => null);
    if (!st?.isFile()) return null;
    const real = await realpath(path);
    const hit = known.findIndex((e) => e.real === real);
    if (hit >= 0) return hit;
    const entry = { real, size: st.size, hash: null };
    for (let id = 0; id < known.length; id++) {
      if (known[id].size === st.size && (await hashOf(known[id])) === (await hashOf(entry))) return id;
    }
    known.push(entry);
    return known.length - 1;
  };
}

function parseConditions(family: ModelFamily, value: unknown, where: string): unknown {
  const r = family.conditionSchema.safeParse(value ?? {});
  if (!r.success) {
    throw new RangeError(
      r.error.issues
        .map(
          (i) =>
            `${where}.conditions${i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}: ${i.message}`,
        )
        .join('; '),
    );
  }
  return r.data;
}

function sameSchedule(a: ScheduleConfig, b: ScheduleConfig): string | null {
  for (const k of Object.keys(a) as (keyof ScheduleConfig)[])
    if (a[k] !== b[k]) return `${k}: ${String(b[k])} vs ${String(a[k])}`;
  return null;
}

function checkTextWidth(encoder: TextEncoderModel, folder: ModelFolder): void {
  if (encoder.width !== folder.unet.textWidth) {
    throw new RangeError(
      `${encoder.file} (shared) produces last_hidden_state of width ${encoder.width} but ${folder.unet.file} expects ${folder.unet.text.name} of width ${folder.unet.textWidth}`,
    );
  }
}

function latentShape(folder: ModelFolder, size: readonly [number, number] | undefined): [number, number, number] {
  const u = folder.unet;
  const h = u.latentHeight ?? size?.[0];
  const w = u.latentWidth ?? size?.[1];
  if (h === undefined || w === undefined) {
    throw new RangeError(
      `${u.file} in ${folder.dir} declares latent ${describeInfo(u.latent)} with a symbolic height/width; give the latent size (height/width)`,
    );
  }
  if (size && (size[0] !== h || size[1] !== w)) {
    throw new RangeError(
      `latent size [${size.join(', ')}] differs from the declared latent ${describeInfo(u.latent)} of ${u.file} in ${folder.dir}`,
    );
  }
  return [u.latentChannels, h, w];
}

/** Each spec's family and parsed conditions: pure checks, before any file is opened. */
export function resolveFamilies(specs: readonly SdModelSpec[]): { family: ModelFamily; conditions: unknown }[] {
  return specs.map((s, i) => {
    const where = `models[${i}]`;
    if (s === null || typeof s !== 'object')
      throw new TypeError(`${where} must be an object { folder, kind?, conditions?, name?, prompt? }`);
    if (typeof s.folder !== 'string' || s.folder === '')
      throw new TypeError(`${where}.folder must be a non-empty folder path, got ${describe(s.folder)}`);
    if (s.name !== undefined && typeof s.name !== 'string')
      throw new TypeError(`${where}.name must be a string, got ${describe(s.name)}`);
    if (s.prompt !== undefined && typeof s.prompt !== 'string')
      throw new TypeError(`${where}.prompt must be a string, got ${describe(s.prompt)}`);
    let family: ModelFamily;
    try {
      family = getFamily(s.kind ?? 'sd');
    } catch (e) {
      throw new RangeError(`${where}.kind: ${(e as Error).message}`);
    }
    return { family, conditions: parseConditions(family, s.conditions, where) };
  });
}

export interface LoadedModels {
  /** Filled in model order as folders load (so `release` frees what a failed load opened). */
  readonly loaded: LoadedModel[];
  /** Distinct text-encoder / VAE sessions opened. */
  readonly textEncoders: number;
  readonly vaeDecoders: number;
  release(): Promise<void>;
}

/**
 * Where `loadModels` gets its folders: opened for one pipeline and freed with it (the default),
 * or kept across pipelines (`createSdModelPool`, pipeline-pool.ts).
 */
export interface FolderSource {
  /** The folder at `dir` with at least `components` open, and its CLIP tokenizer. */
  open(
    dir: string,
    components: readonly Component[],
    session: SessionOptions,
  ): Promise<{ folder: ModelFolder; tokenizer: ClipTokenizer }>;
  /** Called once per model when the pipeline is released. */
  done(model: LoadedModel): Promise<void>;
  /** File identities of text encoders and VAE decoders, for sharing their sessions. */
  readonly textEncoderId: (path: string) => Promise<number | null>;
  readonly vaeId: (path: string) => Promise<number | null>;
}

/** The default source: every folder opened for this pipeline and freed when it is released. */
export function perPipelineFolders(): FolderSource {
  return {
    async open(dir, components, session) {
      const folder = await loadModelFolder(dir, { ...session, components });
      try {
        return { folder, tokenizer: await folderTokenizer(folder) };
      } catch (e) {
        await folder.release();
        throw e;
      }
    },
    done: releaseLoaded,
    textEncoderId: fileIdentities(),
    vaeId: fileIdentities(),
  };
}

/** The folder's CLIP tokenizer (its tokenizer/ files). */
export async function folderTokenizer(folder: ModelFolder): Promise<ClipTokenizer> {
  if (!folder.tokenizer) throw new Error(`model folder ${folder.dir} is missing its tokenizer/ files`);
  return loadClipTokenizer(folder.tokenizer.dir);
}

/**
 * Loads every folder (UNet; text encoder and VAE only where no folder loaded before has the same
 * file; a VAE only for the target, or for every model with `decodeAll`). On a failure the folders
 * opened so far are released and the error names the model. A folder that comes with more
 * sessions open (a pool's) still shares the text encoder and VAE of an earlier folder with the
 * same file, so a pipeline runs the same sessions whatever its source.
 */
// Over 60 lines: one loop over the folders that must release every folder opened so far when any of them fails.
export async function loadModels(
  specs: readonly SdModelSpec[],
  families: readonly { family: ModelFamily; conditions: unknown }[],
  o: {
    target: number;
    decodeAll: boolean;
    session?: SessionOptions;
    source?: FolderSource;
    unetWorkers?: readonly number[];
  },
): Promise<LoadedModels> {
  const source = o.source ?? perPipelineFolders();
  const unetWorkers: OnnxSession[] = [];
  const encoders = new Map<number, PromptEncoder>();
  const vaes = new Map<number, VaeDecoderModel>();
  const loaded: LoadedModel[] = [];
  const release = async () => {
    await Promise.all(unetWorkers.splice(0).map((w) => w.release()));
    await Promise.all(loaded.splice(0).map((m) => source.done(m)));
  };
  try {
    for (let i = 0; i < specs.length; i++) {
      const spec = specs[i];
      const where = `models[${i}]${spec.name ? ` (${spec.name})` : ''}`;
      try {
        const encoderFile = await source.textEncoderId(join(spec.folder, 'text_encoder/model.onnx'));
        const needVae = o.decodeAll || i === o.target;
        const vaeFile = needVae ? await source.vaeId(join(spec.folder, 'vae_decoder/model.onnx')) : null;
        const sharedEncoder = encoderFile === null ? undefined : encoders.get(encoderFile);
        const components: Component[] = ['unet'];
        if (sharedEncoder === undefined) components.push('text_encoder');
        if (needVae && (vaeFile === null || !vaes.has(vaeFile))) components.push('vae_decoder');
        // several UNet sessions take turns on the same cores: idle spinning thread pools would
        // compete with the running one (BENCHMARKS.md, ONNX path), so spinning is off by default
        const session = { allowSpinning: specs.length > 1 ? false : undefined, ...o.session };
        const opened = await source.open(spec.folder, components, session);
        const { tokenizer } = opened;
        let folder = opened.folder;
        if (o.unetWorkers?.includes(i)) {
          const { onFallback: _, ...workerSession } = session;
          // loaded only when asked for: there is no node:worker_threads in a browser (the playground)
          const { inWorkerThread } = await import('../onnx/worker-session.ts');
          const remote = await inWorkerThread(folder.unet.session, join(folder.dir, folder.unet.file), workerSession);
          unetWorkers.push(remote);
          folder = Object.freeze({ ...folder, unet: Object.freeze({ ...folder.unet, session: remote }) });
        }
        const name = spec.name ?? folder.dir.split(/[\\/]/).pop()!;
        const model = { index: i, spec, name, folder, ...families[i], tokenizer } as LoadedModel;
        loaded.push(model);
        if (sharedEncoder !== undefined) {
          model.encoder = sharedEncoder;
          checkTextWidth(model.encoder.model, folder);
        } else {
          if (!folder.textEncoder) throw new Error(`model folder ${folder.dir} was loaded without its text encoder`);
          // the text encoder's own length (77): a UNet may take more tokens (IP-Adapter appends image
          // tokens after the 77 text tokens), which its family adds
          model.encoder = promptEncoder(folder.textEncoder, model.tokenizer);
          encoders.set(encoderFile!, model.encoder);
        }
        model.vae = needVae ? sharedVae(folder, vaes, vaeFile!) : null;
        if (model.vae) checkDecoderTakesLatents(model.vae, folder.unet);
        families[i].family.checkFolder?.(folder, families[i].conditions);
      } catch (e) {
        const err = e as Error;
        err.message = `${where}: ${err.message}`;
        throw err;
      }
    }
  } catch (e) {
    await release();
    throw e;
  }
  return { loaded, textEncoders: encoders.size, vaeDecoders: vaes.size, release };
}

/** A loaded model's folder, after what its family kept for it. */
export async function releaseLoaded(m: LoadedModel): Promise<void> {
  try {
    await m.family.releaseFolder?.(m.folder);
  } finally {
    await m.folder.release();
  }
}

/** The folder's own VAE (remembered under its file identity), or the one loaded before from the same file. */
function sharedVae(folder: ModelFolder, vaes: Map<number, VaeDecoderModel>, id: number): VaeDecoderModel {
  if (folder.vaeDecoder && !vaes.has(id)) {
    vaes.set(id, folder.vaeDecoder);
    return folder.vaeDecoder;
  }
  const vae = vaes.get(id)!;
  if (vae.latentChannels !== folder.unet.latentChannels) {
    throw new RangeError(
      `vae_decoder/model.onnx takes ${vae.latentChannels} latent channels but ${folder.unet.file} has ${folder.unet.latentChannels}`,
    );
  }
  return vae;
}

/** The target's latent [C, H, W], checked equal across models. */
export function sharedLatentShape(
  loaded: readonly LoadedModel[],
  target: number,
  latentSize: readonly [number, number] | undefined,
): [number, number, number] {
  const shapes = loaded.map((m) => latentShape(m.folder, latentSize));
  const s0 = shapes[target];
  shapes.forEach((s, i) => {
    if (s.some((d, k) => d !== s0[k])) {
      throw new RangeError(
        `models[${i}] (${loaded[i].name}) has latent [${s.join(', ')}] (${describeInfo(loaded[i].folder.unet.latent)}) but the target models[${target}] (${loaded[target].name}) has [${s0.join(', ')}]; AMDM needs one latent shape across models`,
      );
    }
  });
  return s0;
}

/** The target's scheduler config, checked equal across models. */
export function sharedScheduleConfig(loaded: readonly LoadedModel[], target: number): ScheduleConfig {
  const config = loaded[target].folder.schedule;
  loaded.forEach((m, i) => {
    const diff = sameSchedule(config, m.folder.schedule);
    if (diff) {
      throw new RangeError(
        `models[${i}] (${m.name}) has a different noise schedule than the target (${diff}) in scheduler/scheduler_config.json; AMDM needs one shared schedule`,
      );
    }
  });
  return config;
}
