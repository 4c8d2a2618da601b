/** node:path (POSIX) for the library in the browser; the working folder is '/'. */
import { normalize as normalizeAbsolute } from '../vfs.ts';

export const sep = '/';
export const delimiter = ':';

export function isAbsolute(p: string): boolean {
  return p.startsWith('/');
}

export function normalize(p: string): string {
  const abs = normalizeAbsolute(p);
  return isAbsolute(p) ? abs : abs.slice(1) || '.';
}

export function join(...parts: string[]): string {
  return normalize(parts.filter((p) => p !== '').join('/') || '.');
}

export function resolve(...parts: string[]): string {
  let path = '/';
  for (const p of parts) path = isAbsolute(p) ? p : `${path}/${p}`;
  return normalizeAbsolute(path);
}

export function dirname(p: string): string {
  const s = p.replace(/\/+$/, '');
  const i = s.lastIndexOf('/');
  return i < 0 ? '.' : i === 0 ? '/' : s.slice(0, i);
}

export function basename(p: string, ext?: string): string {
  const b = p.replace(/\/+$/, '').split('/').pop() ?? '';
  return ext && b.endsWith(ext) && b !== ext ? b.slice(0, -ext.length) : b;
}

export function extname(p: string): string {
  const b = basename(p);
  const i = b.lastIndexOf('.');
  return i <= 0 ? '' : b.slice(i);
}

export function relative(from: string, to: string): string {
  const a = resolve(from).split('/').filter(Boolean);
  const b = resolve(to).split('/').filter(Boolean);
  let k = 0;
  while (k < a.length && k < b.length && a[k] === b[k]) k++;
  return [...new Array(a.length - k).fill('..'), ...b.slice(k)].join('/');
}

export default { sep, delimiter, isAbsolute, normalize, join, resolve, dirname, basename, extname, relative };
