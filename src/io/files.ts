/**
 * Atomic file output: a reader sees either the previous file or the complete new one, never a
 * partial write. Batch runs rely on this to resume: a target that exists is complete.
 *
 * A temporary file lives only while it is written. While any exists, SIGINT/SIGTERM/SIGHUP
 * remove it before the process dies (see interrupt-cleanup.ts), and a later run sweeps the ones
 * a killed process (SIGKILL, power loss) left behind ({@link sweepTempFiles}).
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, rmSync } from 'node:fs';
import { link, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { removeOnInterrupt } from './interrupt-cleanup.ts';

function checkPath(name: string, v: unknown): string {
  if (typeof v !== 'string' || v.length === 0) {
    throw new TypeError(
      `${name} must be a non-empty string, got ${v === null ? 'null' : typeof v === 'string' ? '""' : typeof v}`,
    );
  }
  return v;
}

const WHY: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left',
  // e.g. /proc and /sys: the parent exists but cannot hold new entries
  ENOENT: 'this file system does not allow new folders here',
};

/**
 * Creates `dir` and its missing parents, one level at a time (Node's recursive mkdir never
 * returns under /proc), so a location that cannot hold files fails at once with a message naming
 * `param` (how the user gave the path), `wanted` (the path the user asked for, default `dir`)
 * and the reason. Resolves to the absolute path.
 */
export async function ensureDir(dir: string, param = 'dir', wanted = dir): Promise<string> {
  checkPath(param, dir);
  const abs = resolve(dir);
  const missing: string[] = [];
  for (let p = abs; ; p = dirname(p)) {
    let isDir: boolean;
    try {
      isDir = (await stat(p)).isDirectory();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if ((code === 'ENOENT' || code === 'ENOTDIR') && dirname(p) !== p) {
        missing.push(p);
        continue;
      }
      throw new Error(`${param}: cannot use ${abs}: ${p} cannot be read (${code ?? (e as Error).message})`);
    }
    if (!isDir) throw new Error(`${param}: cannot create the folder ${resolve(wanted)}: ${p} is a file, not a folder`);
    break;
  }
  for (const p of missing.reverse()) {
    try {
      await mkdir(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? '';
      if (code === 'EEXIST' && (await stat(p)).isDirectory()) continue;
      throw new Error(
        `${param}: cannot create the folder ${p}: ${WHY[code] ?? (e as Error).message}${code ? ` (${code})` : ''}`,
      );
    }
  }
  return abs;
}

/** Name of the temporary file used while writing `path`: hidden, in the same directory. */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/** `.<name>.<pid>.<hex>.tmp`, as made by {@link tempPathFor}. */
const TEMP_FILE = /^\..+\.(\d+)\.[0-9a-f]{12}\.tmp$/;

/** Whether `name` is a temporary file's name as made by {@link tempPathFor}. */
export function isTempFileName(name: string): boolean {
  return TEMP_FILE.test(name);
}

/** Whether process `pid` is running (a process we may not signal counts as running). */
export function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temporary files that writers in `dir` left when their process was killed (the
 * pid in the name is no longer running); returns their names. A missing `dir` has none.
 */
export function sweepTempFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const swept: string[] = [];
  for (const name of names) {
    const m = TEMP_FILE.exec(name);
    if (m && !processAlive(Number(m[1]))) {
      rmSync(join(dir, name), { force: true, recursive: true });
      swept.push(name);
    }
  }
  return swept;
}

/**
 * Writes `data` to `path` atomically: write a temporary file in the same directory (so the
 * rename stays on one file system), fsync it, rename it over `path`, then fsync the directory
 * (best effort; not every platform can open a directory). On any failure the temporary file is
 * removed, `path` keeps its previous content (or stays absent), and the error is rethrown.
 * The directory must exist (see {@link ensureDir}).
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  await placeViaTemp(path, data, (tmp) => rename(tmp, path));
}

/**
 * Like {@link writeFileAtomic}, but only when `path` does not exist yet (a hard link, which
 * fails when the name is taken, even between processes on a shared file system); resolves to
 * false, writing nothing, when it exists.
 */
export async function createFileAtomic(path: string, data: Uint8Array | string): Promise<boolean> {
  let created = true;
  await placeViaTemp(path, data, async (tmp) => {
    try {
      await link(tmp, path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      created = false;
    }
    await unlink(tmp);
  });
  return created;
}

async function placeViaTemp(
  path: string,
  data: Uint8Array | string,
  place: (tmp: string) => Promise<void>,
): Promise<void> {
  checkPath('path', path);
  if (typeof data !== 'string' && !(data instanceof Uint8Array)) {
    throw new TypeError(`data must be a Uint8Array or a string, got ${data === null ? 'null' : typeof data}`);
  }
  const tmp = tempPathFor(path);
  const release = removeOnInterrupt(tmp);
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
    await place(tmp);
    created = false;
  } catch (e) {
    if (created) await unlink(tmp).catch(() => undefined);
    throw e;
  } finally {
    release();
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
 * `JSON.stringify(value, null, indent)` + newline. JSON has no NaN/±Infinity (stringify would
 * silently write `null`), so a non-finite number throws a RangeError naming where it is (e.g.
 * `value.runs[2].loss`).
 */
export function jsonText(value: unknown, opts: { indent?: number } = {}): string {
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
  return `${text}\n`;
}

/** {@link jsonText} written with {@link writeFileAtomic}; nothing is written when it throws. */
export async function writeJSONAtomic(path: string, value: unknown, opts: { indent?: number } = {}): Promise<void> {
  checkPath('path', path);
  await writeFileAtomic(path, jsonText(value, opts));
}
