/**
 * The file system the mini-zoo mode gives the library in the browser. The pipeline reads model
 * folders by path (node:fs); in the page those paths lie under a mount point that maps onto the
 * model files served beside the page (fetched on first read, then kept), and files the page
 * makes (a prompt's style reference PNG) are kept in memory. `files.json`, written by the
 * build, lists the served files and their sizes, so existence and size checks need no request.
 * The node-shim modules beside this one expose it under node:fs, node:fs/promises.
 */

interface FileEntry {
  size: number;
  /** Where to fetch it from; null for a file held in memory only. */
  url: URL | null;
  bytes: Promise<Uint8Array> | null;
}

const files = new Map<string, FileEntry>();
const dirs = new Set<string>(['/']);

/** Absolute, normalized: no '.', '..' or repeated slashes; relative paths start at '/'. */
export function normalize(path: string): string {
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return `/${out.join('/')}`;
}

function addParents(path: string): void {
  for (let p = path; p !== '/';) {
    p = p.slice(0, p.lastIndexOf('/')) || '/';
    dirs.add(p);
  }
}

/** Makes the files of `list` (relative path → size in bytes) readable under `mount`, fetched from `base`. */
export function mountServed(mount: string, base: URL, list: Readonly<Record<string, number>>): void {
  for (const [rel, size] of Object.entries(list)) {
    const path = normalize(`${mount}/${rel}`);
    files.set(path, { size, url: new URL(rel, base), bytes: null });
    addParents(path);
  }
}

/** Puts a file into memory at `path` (replacing what was there). */
export function putFile(path: string, bytes: Uint8Array): void {
  const p = normalize(path);
  files.set(p, { size: bytes.byteLength, url: null, bytes: Promise.resolve(bytes) });
  addParents(p);
}

/** Node's error for a missing path (code ENOENT), as node:fs words it. */
export function notFound(syscall: string, path: string): Error {
  return Object.assign(new Error(`ENOENT: no such file or directory, ${syscall} '${path}'`), {
    code: 'ENOENT',
    syscall,
    path,
  });
}

export type Entry = { kind: 'file'; size: number } | { kind: 'dir' };

export function lookup(path: string): Entry | null {
  const p = normalize(path);
  const f = files.get(p);
  if (f) return { kind: 'file', size: f.size };
  return dirs.has(p) ? { kind: 'dir' } : null;
}

/** The bytes of a file (one request per served file, ever). */
export function readBytes(path: string): Promise<Uint8Array> {
  const p = normalize(path);
  const f = files.get(p);
  if (!f) return Promise.reject(notFound('open', path));
  f.bytes ??= fetch(f.url!).then(async (r) => {
    if (!r.ok) throw new Error(`could not fetch ${f.url} (HTTP ${r.status}) for ${p}`);
    return new Uint8Array(await r.arrayBuffer());
  });
  f.bytes.catch(() => (f.bytes = null)); // a failed request is tried again next time
  return f.bytes;
}

/**
 * Starts fetching every served file under each folder of `dirs`, one folder after the other
 * (the first one's files first), so that later reads find them; resolves when all have settled.
 * A failed fetch is tried again by the read that needs it.
 */
export async function prefetch(dirs: readonly string[]): Promise<void> {
  for (const dir of dirs) {
    const prefix = `${normalize(dir)}/`;
    const under = [...files.entries()].filter(([p, f]) => p.startsWith(prefix) && f.url !== null);
    await Promise.allSettled(under.map(([p]) => readBytes(p)));
  }
}

/** Names of the files and folders directly in `dir`. */
export function listDir(dir: string): { name: string; dir: boolean }[] {
  const d = normalize(dir);
  if (!dirs.has(d)) throw notFound('scandir', dir);
  const prefix = d === '/' ? '/' : `${d}/`;
  const direct = (p: string) => p.startsWith(prefix) && p !== d && !p.slice(prefix.length).includes('/');
  return [
    ...[...dirs].filter(direct).map((p) => ({ name: p.slice(prefix.length), dir: true })),
    ...[...files.keys()].filter(direct).map((p) => ({ name: p.slice(prefix.length), dir: false })),
  ];
}
