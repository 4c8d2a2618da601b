/**
 * Atomic file output: a reader sees either the previous file or the complete new one, never a
 * partial write. Batch runs rely on this to resume: a target that exists is complete.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

function checkPath(name: string, v: unknown): string {
  if (typeof v !== 'string' || v.length === 0) {
    throw new TypeError(`${name} must be a non-empty string, got ${v === null ? 'null' : typeof v === 'string' ? '""' : typeof v}`);
  }
  return v;
}

/** Creates `dir` and its missing parents (no error if it exists); resolves to `dir`. */
export async function ensureDir(dir: string): Promise<string> {
  checkPath('dir', dir);
  await mkdir(dir, { recursive: true });
  return dir;
}

/** Name of the temporary file used while writing `path`: hidden, in the same directory. */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * Writes `data` to `path` atomically: write a temporary file in the same directory (so the
 * rename stays on one file system), fsync it, rename it over `path`, then fsync the directory
 * (best effort; not every platform can open a directory). On any failure the temporary file is
 * removed, `path` keeps its previous content (or stays absent), and the error is rethrown.
 * The directory must exist (see {@link ensureDir}).
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  checkPath('path', path);
  if (typeof data !== 'string' && !(data instanceof Uint8Array)) {
    throw new TypeError(`data must be a Uint8Array or a string, got ${data === null ? 'null' : typeof data}`);
  }
  const tmp = tempPathFor(path);
  let created = false;
  try {
    const fh = await open(tmp, 'wx', 0o644);
    created = true;
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    created = false;
  } catch (e) {
    if (created) await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await syncDir(dirname(path));
}

async function syncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // Directories cannot be opened or fsynced on some platforms (Windows); the rename is done.
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

function jsonPath(parts: readonly string[]): string {
  return parts.length === 0 ? 'value' : `value${parts.map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`)).join('')}`;
}

/**
 * `JSON.stringify(value, null, indent)` + newline, written with {@link writeFileAtomic}.
 * JSON has no NaN/±Infinity (stringify would silently write `null`), so a non-finite number
 * throws a RangeError naming where it is (e.g. `value.runs[2].loss`); nothing is written then.
 */
export async function writeJSONAtomic(path: string, value: unknown, opts: { indent?: number } = {}): Promise<void> {
  checkPath('path', path);
  const indent = opts.indent ?? 2;
  if (!Number.isInteger(indent) || indent < 0 || indent > 10) {
    throw new RangeError(`opts.indent must be an integer in [0, 10], got ${String(indent)}`);
  }
  // Track the key path of each value for error messages: `this` is the holder of `key`.
  const paths = new Map<object, string[]>();
  const text = JSON.stringify(
    value,
    function (this: unknown, key: string, v: unknown) {
      const parent = key === '' ? [] : [...(paths.get(this as object) ?? []), key];
      if (typeof v === 'number' && !Number.isFinite(v)) {
        throw new RangeError(`${jsonPath(parent)} must be a finite number to be written as JSON, got ${v}`);
      }
      if (typeof v === 'object' && v !== null) paths.set(v, parent);
      return v;
    },
    indent,
  );
  if (text === undefined) throw new TypeError('value must be JSON-serializable, got undefined or a function');
  await writeFileAtomic(path, `${text}\n`);
}

/**
 * Writes a whole folder atomically: every file (relative path → bytes) goes into a temporary
 * sibling folder, which then replaces `dir`. On failure the temporary folder is removed and an
 * existing `dir` is left as it was until the final swap. Returns the absolute path.
 */
export async function writeFolderAtomic(dir: string, files: ReadonlyMap<string, Uint8Array | string>): Promise<string> {
  if (typeof dir !== 'string' || dir === '') throw new TypeError(`dir must be a non-empty path, got ${JSON.stringify(dir)}`);
  const target = resolve(dir);
  const tmp = `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    for (const [rel, bytes] of files) {
      const p = join(tmp, rel);
      await mkdir(dirname(p), { recursive: true });
      await writeFile(p, bytes);
    }
    await rm(target, { recursive: true, force: true });
    await mkdir(dirname(target), { recursive: true });
    await rename(tmp, target);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return target;
}
