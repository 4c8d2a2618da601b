/**
 * The checks of the CLIP tokenizer (clip-tokenizer.ts): its options, and the parsing of
 * vocab.json and merges.txt, each with an error that names the file or option and what it allows.
 */

/** transformers keeps `merges[1 : 49152 - 256 - 2 + 1]`: at most 48894 merges after the header. */
export const MAX_MERGES = 49152 - 256 - 2;

/** A short description of a value for an error message. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  return `a ${typeof v === 'object' ? ((v as object).constructor?.name ?? 'object') : typeof v}`;
}

/** Upper bound on maxLength: guards against configs that store "unbounded" as 1e30. */
export const MAX_SEQUENCE_LENGTH = 65536;

export function checkMaxLength(name: string, v: unknown): number {
  const range = `an integer in [2, ${MAX_SEQUENCE_LENGTH}] (room for bos and eos)`;
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw new TypeError(`${name} must be ${range}, got ${describeValue(v)}`);
  if (v < 2 || v > MAX_SEQUENCE_LENGTH) throw new RangeError(`${name} must be ${range}, got ${v}`);
  return v;
}

export function checkBoolean(name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new TypeError(`${name} must be a boolean, got ${describeValue(v)}`);
  return v;
}

export function checkChoice<T extends string>(name: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new RangeError(`${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${describeValue(v)}`);
  }
  return v as T;
}

export function checkOptions(name: string, v: unknown): Record<string, unknown> {
  if (v === undefined) return {};
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new TypeError(`${name} must be an options object, got ${describeValue(v)}`);
  }
  return v as Record<string, unknown>;
}

/** vocab.json (the object or its text) → token → id, ids unique. */
export function parseVocab(vocab: unknown): Map<string, number> {
  let obj: unknown = vocab;
  if (typeof vocab === 'string') {
    try {
      obj = JSON.parse(vocab);
    } catch (e) {
      throw new TypeError(
        `files.vocab must be the JSON text of vocab.json (an object token → id): ${(e as Error).message}`,
      );
    }
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new TypeError(
      `files.vocab must be an object mapping token → id (or its JSON text), got ${describeValue(obj)}`,
    );
  }
  const map = new Map<string, number>();
  const seen = new Map<number, string>();
  for (const [token, id] of Object.entries(obj as Record<string, unknown>)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
      throw new RangeError(
        `files.vocab[${JSON.stringify(token)}] must be an integer id >= 0, got ${describeValue(id)}`,
      );
    }
    const other = seen.get(id);
    if (other !== undefined) {
      throw new RangeError(
        `files.vocab ids must be unique: ${JSON.stringify(other)} and ${JSON.stringify(token)} both have id ${id}`,
      );
    }
    seen.set(id, token);
    map.set(token, id);
  }
  if (map.size === 0) throw new RangeError('files.vocab must hold at least one token, got an empty object');
  return map;
}

/** merges.txt → rank map keyed "left right" (rank = 0-based line index after the header). */
export function parseMerges(merges: unknown): Map<string, number> {
  if (typeof merges !== 'string')
    throw new TypeError(`files.merges must be the text of merges.txt, got ${describeValue(merges)}`);
  // Python: merges.read().strip().split("\n")[1 : 49152-256-2+1]; universal newlines turn \r\n into \n.
  const lines = merges.trim().split(/\r?\n/);
  if (!lines[0].startsWith('#version')) {
    throw new RangeError(`files.merges must start with a "#version: ..." header line, got ${describeValue(lines[0])}`);
  }
  const ranks = new Map<string, number>();
  const count = Math.min(lines.length - 1, MAX_MERGES);
  for (let r = 0; r < count; r++) {
    const parts = lines[r + 1].trim().split(/\s+/);
    if (parts.length !== 2 || parts[0] === '') {
      throw new RangeError(
        `files.merges line ${r + 2} must be two tokens separated by a space, got ${describeValue(lines[r + 1])}`,
      );
    }
    ranks.set(`${parts[0]} ${parts[1]}`, r); // later duplicates win, as in dict(zip(...))
  }
  return ranks;
}
