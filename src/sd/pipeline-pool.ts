/**
 * A pool of loaded model folders, for callers that run many pipelines over the same folders
 * (experiments: every prompt binds its own conditions, the folders stay the same). Each folder
 * is loaded once per pool — UNet, text encoder, VAE decoder (those present), tokenizer — and
 * every pipeline prepared from the pool uses it; a pipeline's `release` frees nothing of the
 * pool. Preparing a pipeline from the pool does every check `prepareSdPipeline` does (the
 * conditions, the family's folder check, one latent shape and one schedule) without loading.
 *
 *   const pool = createSdModelPool({ session: { intraOpNumThreads: 1 } });
 *   for (const p of prompts) {
 *     const pipe = await pool.prepare({ models: specsFor(p) });   // binds p's conditions
 *     const r = await pipe.run({ prompt: p.text, seed: p.seed });
 *     await pipe.release();
 *   }
 *   await pool.release();
 *
 * A run gives the same bits as through `prepareSdPipeline`: the sessions are the same files
 * with the same options, and text encoders / VAE decoders are shared between folders exactly as
 * there (pipeline-load.ts).
 */
import { existsSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { describe } from '../core/validate.ts';
import { loadModelFolder, type Component, type ModelFolder } from '../onnx/model-folder.ts';
import type { SessionOptions } from '../onnx/session.ts';
import type { ClipTokenizer } from './clip-tokenizer.ts';
import { familyKinds, getFamily } from './family.ts';
import { fileIdentities, folderTokenizer, type FolderSource } from './pipeline-load.ts';
import { preparePipelineFrom } from './pipeline.ts';
import type { SdPipeline, SdPipelineOptions } from './pipeline-types.ts';

export interface SdModelPoolOptions {
  /**
   * onnxruntime options of every session the pool opens (default: spinning off, as several
   * UNets take turns on the same cores).
   */
  session?: SessionOptions;
}

export interface SdModelPool {
  /** A pipeline over the pool's folders (loading only folders the pool has not loaded yet). */
  prepare(opts: Omit<SdPipelineOptions, 'session' | 'unetWorkers'>): Promise<SdPipeline>;
  /** Folders loaded so far. */
  readonly folders: number;
  /** Frees every folder; pipelines prepared from the pool must not run afterwards. */
  release(): Promise<void>;
}

interface Entry {
  folder: ModelFolder;
  tokenizer: ClipTokenizer;
  components: ReadonlySet<Component>;
}

export function createSdModelPool(opts: SdModelPoolOptions = {}): SdModelPool {
  if (opts === null || typeof opts !== 'object')
    throw new TypeError(`options must be an object, got ${describe(opts)}`);
  const session: SessionOptions = { allowSpinning: false, ...opts.session };
  const entries = new Map<string, Promise<Entry>>();
  /** Folders replaced by a load with more components (pipelines may still hold them). */
  const retired: ModelFolder[] = [];
  let released = false;

  const source: FolderSource = {
    async open(dir, components) {
      if (released) throw new Error('the model pool was released');
      const key = await realpath(dir).catch(() => dir);
      let entry = entries.get(key);
      if (
        entry === undefined ||
        !(await entry.then(
          (e) => components.every((c) => e.components.has(c)),
          () => true,
        ))
      ) {
        const before = await entry?.catch(() => undefined);
        if (before) retired.push(before.folder);
        entry = loadEntry(dir, components, before, session);
        entries.set(key, entry);
        entry.catch(() => entries.delete(key));
      }
      const { folder, tokenizer } = await entry;
      return { folder, tokenizer };
    },
    // a pooled folder outlives its pipelines
    done: async () => {},
    textEncoderId: fileIdentities(),
    vaeId: fileIdentities(),
  };

  return Object.freeze({
    prepare(o: Omit<SdPipelineOptions, 'session' | 'unetWorkers'>) {
      if (o === null || typeof o !== 'object') throw new TypeError(`options must be an object, got ${describe(o)}`);
      if ('session' in o && (o as SdPipelineOptions).session !== undefined)
        throw new RangeError(
          'session: a pooled pipeline uses the pool’s session options (createSdModelPool({ session }))',
        );
      return preparePipelineFrom(o, source);
    },
    get folders() {
      return entries.size;
    },
    async release() {
      released = true;
      const loaded = await Promise.all([...entries.values()].map((e) => e.catch(() => null)));
      entries.clear();
      await releaseFolders([...loaded.flatMap((e) => (e ? [e.folder] : [])), ...retired.splice(0)]);
    },
  });
}

/** A folder with every component it has (so that later pipelines load nothing), and its tokenizer. */
async function loadEntry(
  dir: string,
  need: readonly Component[],
  before: Entry | undefined,
  session: SessionOptions,
): Promise<Entry> {
  const present = (['text_encoder', 'vae_decoder'] as const).filter((c) => existsSync(join(dir, c, 'model.onnx')));
  const components = [...new Set<Component>(['unet', ...present, ...need, ...(before?.components ?? [])])];
  const folder = await loadModelFolder(dir, { ...session, components });
  try {
    return {
      folder,
      tokenizer: before?.tokenizer ?? (await folderTokenizer(folder)),
      components: new Set(components),
    };
  } catch (e) {
    await folder.release();
    throw e;
  }
}

/** Releases each folder, after what any family kept for it (a family that never ran on it keeps nothing). */
async function releaseFolders(folders: readonly ModelFolder[]): Promise<void> {
  await Promise.all(
    folders.map(async (f) => {
      try {
        for (const kind of familyKinds()) await getFamily(kind).releaseFolder?.(f);
      } finally {
        await f.release();
      }
    }),
  );
}
