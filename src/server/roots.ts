/**
 * Model roots: the only folders a job may read from. A job names a model folder (or an
 * IP-Adapter style image) by a path relative to a root; it is resolved in each root in turn and
 * taken from the first root that holds it. The real path (symbolic links followed) must stay
 * inside that root, so neither `..` nor a link can reach anything else on the server; every
 * link inside a model folder must lead inside a root too. The files a folder's ONNX graphs name
 * (external data) are kept inside the graph's folder by onnxruntime itself (1.30 refuses a path
 * that escapes it; test/server/job-errors.test.ts).
 */
import { readdir, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { HttpError } from './errors.ts';

export interface ModelRoots {
  /**
   * The real path of `path` inside a root, or a 400 naming `field`. For a folder, every link
   * under it must also lead inside a root (the loaders open what the folder's files name).
   */
  resolve(path: string, field: string, kind: 'folder' | 'file'): Promise<string>;
  readonly roots: readonly string[];
}

function inside(root: string, p: string): boolean {
  const r = relative(root, p);
  return r === '' || (!r.startsWith(`..${sep}`) && r !== '..' && !isAbsolute(r));
}

/** Entries a model folder may hold (a larger folder is refused rather than walked). */
const MAX_ENTRIES = 10_000;

/** The first link under `dir` whose target is outside every root (or missing), else null. */
async function linkLeadingOut(dir: string, roots: readonly string[]): Promise<string | null> {
  const pending = [dir];
  let seen = 0;
  while (pending.length > 0) {
    const d = pending.pop()!;
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (++seen > MAX_ENTRIES) throw new RangeError(`over ${MAX_ENTRIES} entries`);
      const p = join(d, e.name);
      if (e.isSymbolicLink()) {
        const target = await realpath(p).catch(() => null);
        if (target === null || !roots.some((r) => inside(r, target))) return p;
      } else if (e.isDirectory()) pending.push(p);
    }
  }
  return null;
}

export async function modelRoots(roots: readonly string[]): Promise<ModelRoots> {
  if (!Array.isArray(roots)) throw new TypeError('modelRoots must be an array of folder paths');
  const real: string[] = [];
  for (const [i, r] of roots.entries()) {
    if (typeof r !== 'string' || r === '')
      throw new TypeError(`modelRoots[${i}] must be a non-empty folder path, got ${JSON.stringify(r)}`);
    const st = await stat(r).catch(() => null);
    if (!st?.isDirectory()) throw new RangeError(`modelRoots[${i}]: ${resolve(r)} is not a folder`);
    real.push(await realpath(r));
  }
  return {
    roots: real,
    async resolve(path, field, kind) {
      if (real.length === 0)
        throw new HttpError(403, `${field}: this server has no model roots configured, so no job can name a model`, {
          field,
        });
      if (
        typeof path !== 'string' ||
        path === '' ||
        isAbsolute(path) ||
        path.split(/[\\/]/).includes('..') ||
        path.includes('\0')
      ) {
        throw new HttpError(
          400,
          `${field} must be a path relative to a model root, without '..', got ${JSON.stringify(path)}`,
          { field },
        );
      }
      for (const root of real) {
        const p = await realpath(resolve(root, path)).catch(() => null);
        if (p === null) continue;
        if (!inside(root, p))
          throw new HttpError(400, `${field}: ${JSON.stringify(path)} leads outside the model roots`, { field });
        const st = await stat(p);
        if (kind === 'file' && st.isFile()) return p;
        if (kind === 'folder' && st.isDirectory()) {
          const out = await linkLeadingOut(p, real).catch((e: Error) => {
            throw new HttpError(400, `${field}: ${JSON.stringify(path)} holds ${e.message}, more than a model folder`, {
              field,
            });
          });
          if (out !== null)
            throw new HttpError(
              400,
              `${field}: ${JSON.stringify(path)} holds ${JSON.stringify(relative(p, out))}, a link that leads outside the model roots`,
              { field },
            );
          return p;
        }
      }
      throw new HttpError(400, `${field}: no ${kind} ${JSON.stringify(path)} in the model roots`, { field });
    },
  };
}
