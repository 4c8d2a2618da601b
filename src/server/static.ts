/**
 * Files of one folder by URL path, for GET and HEAD: the built playground page, which the
 * handler serves under /playground/ and `npm run playground` serves on its own. The path is
 * decoded; one that leaves the folder (by '..' or through a link) is refused, and a path ending
 * in '/' serves that folder's index.html. The answer says what to send; each caller words it.
 */
import { readFile, realpath } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';

/** Content types by file extension (anything else is application/octet-stream). */
export const CONTENT_TYPES: Readonly<Record<string, string>> = Object.freeze({
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.json': 'application/json; charset=utf-8',
  '.onnx': 'application/octet-stream',
  // WebAssembly.instantiateStreaming needs this type
  '.wasm': 'application/wasm',
});

export type StaticFile =
  | { readonly status: 200; readonly body: Uint8Array; readonly type: string }
  | { readonly status: 400 | 403 | 404; readonly message: string };

function inside(root: string, p: string): boolean {
  return p === root || p.startsWith(root + sep);
}

/** The file at URL path `urlPath` (percent-encoded, '/'-separated) in the folder `root`. */
export async function readStaticFile(root: string, urlPath: string): Promise<StaticFile> {
  let path: string;
  try {
    path = decodeURIComponent(urlPath);
  } catch {
    return { status: 400, message: 'bad path' };
  }
  if (path.includes('\0')) return { status: 400, message: 'bad path' };
  const base = resolve(root);
  const file = resolve(join(base, path === '' || path.endsWith('/') ? `${path}/index.html` : path));
  if (!inside(base, file)) return { status: 403, message: 'outside the served folder' };
  const real = await realpath(file).catch(() => null);
  if (real === null) return { status: 404, message: `not found: ${path}` };
  if (!inside(await realpath(base), real)) return { status: 403, message: 'outside the served folder' };
  try {
    return {
      status: 200,
      body: await readFile(real),
      type: CONTENT_TYPES[extname(real)] ?? 'application/octet-stream',
    };
  } catch {
    return { status: 404, message: `not found: ${path}` }; // a folder, or unreadable
  }
}
