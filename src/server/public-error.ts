/**
 * A failed job as the client sees it: every path relative to the model roots (the server's own
 * folders stay unnamed) and the request field to blame. The loaders start their messages with
 * the field (`models[1].kind: …`, `batch: …`) or with the model (`models[1] (name): …`), whose
 * folder is then to blame unless the message is about its kind or one of its conditions.
 */
import { sep } from 'node:path';
import { HttpError } from './errors.ts';

const FIELD = /^(models\[\d+\])((?:\.[A-Za-z]+)*)(?: \([^)]*\))?: /;
const TOP_FIELD = /^(batch|height|width|target|steps|prompt|negativePrompt): /;

/** `message` with each root (and what lies under it) written relative to it. */
export function relativeToRoots(message: string, roots: readonly string[]): string {
  let m = message;
  for (const root of [...roots].sort((a, b) => b.length - a.length)) {
    m = m.split(root + sep).join('');
    m = m.split(root).join('.');
  }
  return m;
}

/** The field a loader's message blames. */
function fieldOf(message: string): string {
  const top = TOP_FIELD.exec(message);
  if (top) return top[1];
  if (/^latent size /.test(message)) return 'height';
  const m = FIELD.exec(message);
  if (!m) return 'models';
  if (m[2]) return m[1] + m[2];
  const rest = message.slice(m[0].length);
  const condition = /^conditions\.([A-Za-z]+)/.exec(rest);
  if (condition) return `${m[1]}.conditions.${condition[1]}`;
  if (/^(model )?kind '/.test(rest)) return `${m[1]}.kind`;
  return `${m[1]}.folder`;
}

/** A 400 for an error of a job's checks or run. */
export function publicError(e: unknown, roots: readonly string[]): HttpError {
  const message = relativeToRoots((e as Error)?.message ?? String(e), roots);
  return new HttpError(400, message, { field: fieldOf(message), cause: e });
}
