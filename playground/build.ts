/**
 * Builds the playground into a static folder: index.html, style.css, app.js (the page) and
 * worker.js (the sampler), bundled by esbuild for browsers, with source maps. The folder has
 * no server logic; any static file server can serve it. Written atomically (writeFolderAtomic).
 */
import { readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { writeFolderAtomic } from '../src/cli/output-folder.ts';

export const PLAYGROUND_SOURCE = dirname(fileURLToPath(import.meta.url));
export const PLAYGROUND_DIST = join(PLAYGROUND_SOURCE, 'dist');

const STATIC_FILES = ['index.html', 'style.css'];

export interface BuildResult {
  dir: string;
  /** Relative path → size in bytes. */
  files: Record<string, number>;
}

/** Bundles the page and the worker and writes the folder `outDir` (default playground/dist). */
export async function buildPlayground(outDir: string = PLAYGROUND_DIST): Promise<BuildResult> {
  const dir = resolve(outDir);
  const built = await esbuild.build({
    entryPoints: { app: join(PLAYGROUND_SOURCE, 'src', 'main.ts'), worker: join(PLAYGROUND_SOURCE, 'src', 'worker.ts') },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    sourcemap: 'linked',
    outdir: dir,
    write: false,
    logLevel: 'silent',
    legalComments: 'linked',
  });
  const files = new Map<string, Uint8Array | string>();
  for (const f of built.outputFiles) files.set(relative(dir, f.path), f.contents);
  for (const name of STATIC_FILES) files.set(name, await readFile(join(PLAYGROUND_SOURCE, name)));
  await writeFolderAtomic(dir, files, { command: 'playground build', writes: /^(index\.html|style\.css|(app|worker)\.js(\.map)?)$/ });
  return { dir, files: Object.fromEntries([...files].map(([k, v]) => [k, typeof v === 'string' ? Buffer.byteLength(v) : v.byteLength])) };
}
