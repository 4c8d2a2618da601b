/**
 * The mini-zoo runner in the page's worker (built as zoo.js, loaded on the first zoo run): the
 * library reads the model files served beside the page (zoo/, listed in zoo/files.json) through
 * the page's file system (zoo/vfs.ts) and runs them on onnxruntime-web, whose .wasm is served
 * beside zoo.js. Loaded models stay loaded between runs (the server's pipeline cache).
 */
import { createPipelineCache } from '../../src/server/pipelines.ts';
import type { Settings } from './settings.ts';
import { mountServed, prefetch, putFile } from './zoo/vfs.ts';
import { runZoo, type ZooEnv, type ZooResult, type ZooRunOptions } from './zoo-run.ts';

/** Where the served model folders appear to the library. */
const ROOT = '/zoo';
/** Where the page keeps the style references it makes. */
const REFS = '/refs';
/** Model sets kept loaded: each model alone and one AMDM set, with room for a changed choice. */
const PIPELINES = 6;

const env: ZooEnv = {
  root: ROOT,
  backend: 'web',
  pipelines: createPipelineCache(PIPELINES),
  putStyleImage: async (name, png) => {
    putFile(`${REFS}/${name}`, png);
    return `${REFS}/${name}`;
  },
};

let mounted: Promise<void> | null = null;

async function mount(): Promise<void> {
  const base = new URL('zoo/', import.meta.url);
  const list = new URL('files.json', base);
  const r = await fetch(list);
  if (!r.ok)
    throw new Error(
      `the mini-zoo's file list ${list} could not be fetched (HTTP ${r.status}); build the page with npm run playground`,
    );
  mountServed(ROOT, base, ((await r.json()) as { files: Record<string, number> }).files);
}

export async function runZooInPage(settings: Settings, opts: ZooRunOptions): Promise<ZooResult> {
  mounted ??= mount().catch((e) => {
    mounted = null;
    throw e;
  });
  await mounted;
  // the target's files first, then the others': fetched while the target loads and samples
  void prefetch([settings.zooTarget, ...settings.zooOthers].map((m) => `${ROOT}/${m}`));
  return runZoo(settings, env, opts);
}
