/** node:fs/promises for the library in the browser, over the page's file system (../vfs.ts). */
import { listDir, lookup, normalize, notFound, putFile, readBytes } from '../vfs.ts';

type Encoding = string | { encoding?: string | null } | undefined;

function encodingOf(opts: Encoding): string | null {
  return typeof opts === 'string' ? opts : (opts?.encoding ?? null);
}

export async function readFile(path: string | URL, opts?: Encoding): Promise<Uint8Array | string> {
  const bytes = await readBytes(String(path));
  return encodingOf(opts) === null ? bytes : new TextDecoder().decode(bytes);
}

export async function writeFile(path: string, data: Uint8Array | string): Promise<void> {
  putFile(path, typeof data === 'string' ? new TextEncoder().encode(data) : data);
}

export interface Stats {
  size: number;
  isFile(): boolean;
  isDirectory(): boolean;
}

export function statOf(path: string, syscall: string): Stats {
  const e = lookup(String(path));
  if (!e) throw notFound(syscall, String(path));
  return { size: e.kind === 'file' ? e.size : 0, isFile: () => e.kind === 'file', isDirectory: () => e.kind === 'dir' };
}

export async function stat(path: string): Promise<Stats> {
  return statOf(path, 'stat');
}

/** No links here: the real path is the normalized path of an existing entry. */
export async function realpath(path: string): Promise<string> {
  statOf(path, 'realpath');
  return normalize(String(path));
}

export async function readdir(dir: string, opts?: { withFileTypes?: boolean }): Promise<unknown[]> {
  const entries = listDir(String(dir));
  if (!opts?.withFileTypes) return entries.map((e) => e.name);
  return entries.map((e) => ({ name: e.name, isFile: () => !e.dir, isDirectory: () => e.dir }));
}

/** A read-only handle: `read` copies bytes of the file at a position (the library reads a file's head). */
export async function open(path: string, flags = 'r') {
  if (flags !== 'r') throw new Error(`open: the page's file system is read-only here, got flags '${flags}'`);
  const bytes = await readBytes(String(path));
  return {
    async read(buffer: Uint8Array, offset: number, length: number, position: number) {
      const part = bytes.subarray(position, Math.min(bytes.length, position + length));
      buffer.set(part, offset);
      return { bytesRead: part.length, buffer };
    },
    async close() {},
  };
}

export default { readFile, writeFile, stat, realpath, readdir, open };
