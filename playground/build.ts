/**
 * Builds the playground into a static folder: index.html, style.css, app.js (the page),
 * worker.js (the sampler) and, for the mini-zoo world, zoo.js (the library's ONNX pipeline on
 * onnxruntime-web, loaded by the worker on the first zoo run), onnxruntime-web's .wasm and a copy
 * of the zoo's model folders (zoo/<model>/…, listed with their sizes in zoo/files.json). Bundled by
 * esbuild for browsers, with source maps. The folder has no server logic and needs nothing from
 * the internet; any static file server can serve it. Written atomically (writeFolderAtomic).
 *
 * app.js and worker.js may import no Node module (esbuild's browser platform fails the build).
 * zoo.js runs library modules written for Node: the few Node modules they import are replaced by
 * the browser versions in src/zoo/node/ (a file system over the served files, POSIX paths, the
 * browser's PNG codec), onnxruntime-node by a stub that fails to load, and onnxruntime-web is its
 * WASM-only build. Any other Node module still fails the build.
 */
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { writeFolderAtomic } from '../src/io/output-folder.ts';
import { ZOO_MODEL_NAMES } from './src/zoo-settings.ts';

export const PLAYGROUND_SOURCE = dirname(fileURLToPath(import.meta.url));
export const PLAYGROUND_DIST = join(PLAYGROUND_SOURCE, 'dist');
/** The mini-zoo's model folders, copied into the build. */
export const ZOO_SOURCE = join(PLAYGROUND_SOURCE, '..', 'models', 'mini-zoo');
/** onnxruntime-web's WebAssembly file for its WASM-only build (single-threaded here, no WebGPU). */
export const ORT_WASM = 'ort-wasm-simd-threaded.wasm';

const STATIC_FILES = ['index.html', 'style.css'];
const WRITES = /^(index\.html|style\.css|(app|worker|zoo)\.js(\.map|\.LEGAL\.txt)?|ort-wasm-simd-threaded\.wasm|zoo)$/;

export interface BuildResult {
  dir: string;
  /** Relative path → size in bytes. */
  files: Record<string, number>;
}

const BROWSER: esbuild.BuildOptions = {
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  sourcemap: 'linked',
  write: false,
  logLevel: 'silent',
  legalComments: 'linked',
};

/** The Node modules the library imports, as zoo.js gets them in the browser (see the file comment). */
function browserReplacements(): esbuild.Plugin {
  const shim = (file: string) => join(PLAYGROUND_SOURCE, 'src', 'zoo', 'node', file);
  const shims: Record<string, string> = {
    'node:fs/promises': 'fs-promises.ts',
    'node:fs': 'fs.ts',
    'node:path': 'path.ts',
    'node:crypto': 'crypto.ts',
    'onnxruntime-node': 'onnxruntime-node.ts',
  };
  const png = join(PLAYGROUND_SOURCE, '..', 'src', 'image', 'png.ts');
  const workerSession = join(PLAYGROUND_SOURCE, '..', 'src', 'onnx', 'worker-session.ts');
  return {
    name: 'amdm-browser-replacements',
    setup(build) {
      build.onResolve({ filter: /^(node:(fs|fs\/promises|path|crypto)|onnxruntime-node)$/ }, (a) => ({
        path: shim(shims[a.path]),
      }));
      build.onResolve({ filter: /^onnxruntime-web$/ }, (a) =>
        build.resolve('onnxruntime-web/wasm', { kind: a.kind, resolveDir: a.resolveDir }),
      );
      build.onResolve({ filter: /\/image\/png\.ts$/ }, (a) =>
        resolve(a.resolveDir, a.path) === png ? { path: shim('png.ts') } : undefined,
      );
      build.onResolve({ filter: /\/onnx\/worker-session\.ts$/ }, (a) =>
        resolve(a.resolveDir, a.path) === workerSession ? { path: shim('worker-session.ts') } : undefined,
      );
    },
  };
}

/** Every file under `dir`, as paths relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(relative(dir, join(e.parentPath, e.name)));
  }
  return out.sort();
}

/** The zoo's model folders under zoo/, and zoo/files.json listing them with their sizes. */
async function zooFiles(files: Map<string, Uint8Array | string>): Promise<void> {
  const sizes: Record<string, number> = {};
  for (const model of ZOO_MODEL_NAMES) {
    const dir = join(ZOO_SOURCE, model);
    const rels = await filesUnder(dir).catch((): string[] => []);
    if (!rels.includes('unet/model.onnx'))
      throw new Error(
        `the playground's mini-zoo world needs ${dir} (a model folder with unet/model.onnx); it is missing`,
      );
    for (const rel of rels) {
      const bytes = await readFile(join(dir, rel));
      files.set(`zoo/${model}/${rel}`, bytes);
      sizes[`${model}/${rel}`] = bytes.byteLength;
    }
  }
  files.set('zoo/files.json', `${JSON.stringify({ files: sizes }, null, 1)}\n`);
}

/** Bundles the page, the worker and the zoo runner and writes the folder `outDir` (default playground/dist). */
export async function buildPlayground(outDir: string = PLAYGROUND_DIST): Promise<BuildResult> {
  const dir = resolve(outDir);
  const src = join(PLAYGROUND_SOURCE, 'src');
  const [page, zoo] = await Promise.all([
    esbuild.build({
      ...BROWSER,
      entryPoints: { app: join(src, 'main.ts'), worker: join(src, 'worker.ts') },
      outdir: dir,
    }),
    esbuild.build({
      ...BROWSER,
      entryPoints: { zoo: join(src, 'zoo-entry.ts') },
      outdir: dir,
      plugins: [browserReplacements()],
    }),
  ]);
  const files = new Map<string, Uint8Array | string>();
  for (const f of [...page.outputFiles!, ...zoo.outputFiles!]) files.set(relative(dir, f.path), f.contents);
  for (const name of STATIC_FILES) files.set(name, await readFile(join(PLAYGROUND_SOURCE, name)));
  files.set(ORT_WASM, await readFile(createRequire(import.meta.url).resolve(`onnxruntime-web/${ORT_WASM}`)));
  await zooFiles(files);
  await writeFolderAtomic(dir, files, { command: 'playground build', writes: WRITES });
  return {
    dir,
    files: Object.fromEntries(
      [...files].map(([k, v]) => [k, typeof v === 'string' ? Buffer.byteLength(v) : v.byteLength]),
    ),
  };
}
