/** node:fs (the few synchronous calls and the read stream the library makes) over ../vfs.ts. */
import { lookup, readBytes } from '../vfs.ts';
import { statOf, type Stats } from './fs-promises.ts';

export function existsSync(path: string): boolean {
  return lookup(String(path)) !== null;
}

export function statSync(path: string): Stats {
  return statOf(path, 'stat');
}

type Listener = (arg?: unknown) => void;

/** A read stream that emits the whole file as one 'data' chunk, then 'end' (or 'error'). */
export function createReadStream(path: string) {
  const listeners: Record<string, Listener[]> = {};
  const emit = (event: string, arg?: unknown) => (listeners[event] ?? []).forEach((f) => f(arg));
  queueMicrotask(() =>
    readBytes(String(path)).then(
      (bytes) => {
        emit('data', bytes);
        emit('end');
      },
      (e) => emit('error', e),
    ),
  );
  const stream = {
    on(event: string, f: Listener) {
      (listeners[event] ??= []).push(f);
      return stream;
    },
  };
  return stream;
}

export default { existsSync, statSync, createReadStream };
