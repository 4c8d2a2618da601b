/**
 * Paths that must not outlive an interrupted run: temporary files being written and staging
 * folders being filled. While at least one is registered, SIGINT, SIGTERM and SIGHUP remove
 * them all (synchronously) and then re-raise the signal with its default action, so the process
 * still dies of that signal (exit status 128 + n in a shell). With none registered no handler is
 * installed, so an interrupt during computing behaves exactly as without this module.
 */
import { rmSync } from 'node:fs';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
type Signal = (typeof SIGNALS)[number];

const live = new Set<string>();

function onSignal(signal: Signal): void {
  for (const p of live) rmSync(p, { recursive: true, force: true });
  live.clear();
  uninstall();
  process.kill(process.pid, signal);
}

function install(): void {
  for (const s of SIGNALS) process.on(s, onSignal);
}

function uninstall(): void {
  for (const s of SIGNALS) process.off(s, onSignal);
}

/**
 * Registers `path` (a file or a folder) for removal on an interrupt; the returned function
 * unregisters it (call it once the path is renamed into place or removed).
 */
export function removeOnInterrupt(path: string): () => void {
  if (live.has(path)) throw new Error(`${path} is already registered for removal on interrupt`);
  live.add(path);
  if (live.size === 1) install();
  return () => {
    if (live.delete(path) && live.size === 0) uninstall();
  };
}
