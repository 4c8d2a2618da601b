/**
 * CLIP byte-level BPE tokenizer, built from the contents of `vocab.json` and `merges.txt`.
 *
 * Reproduces transformers' `CLIPTokenizer` (tokenization_clip.py) on the branch without ftfy:
 *   1. special tokens written literally in the text are split out first (the added-token trie);
 *   2. `BasicTokenizer(strip_accents=False, do_split_on_punc=False)`: drop NUL, U+FFFD and
 *      control characters, map whitespace to " ", space out CJK ideographs, NFC, split on
 *      whitespace, lowercase each piece, join with single spaces;
 *   3. pre-tokenize with the CLIP pattern (IGNORECASE);
 *   4. map each piece's UTF-8 bytes through GPT-2's `bytes_to_unicode` table;
 *   5. BPE: word = chars[:-1] + [last + "</w>"], repeatedly merge the lowest-rank adjacent pair;
 *   6. ids from the vocab (unknown → the unk token, "<|endoftext|>"), then
 *      `[bos] + ids + [eos]`, truncated / padded to `maxLength` (77 for SD).
 * With ftfy (the original CLIP environment) the outputs agree on plain ASCII; ftfy additionally
 * "fixes" text such as curly quotes and mojibake, which is not reproduced here.
 *
 * No file system and no Node-only API here: pass file contents. `clip-tokenizer-files.ts` holds a
 * Node loader for a tokenizer folder. About 400 lines on purpose: one algorithm, whose option
 * checks and vocab/merges parsing serve only it.
 */

export interface EncodeOptions {
  /** 'max_length' (default) pads with `padId` up to `maxLength`; 'none' leaves the sequence as is. */
  padding?: 'max_length' | 'none';
  /** Default true: keep bos + the first (maxLength − 2) content tokens + eos. */
  truncation?: boolean;
  /** Defaults to the tokenizer's `maxLength`; integer in [2, 65536]. */
  maxLength?: number;
}

export interface EncodeBatchOptions {
  /** 'max_length' (default) pads every row to `maxLength`; 'longest' pads to the longest row. */
  padding?: 'max_length' | 'longest';
  maxLength?: number;
  truncation?: boolean;
}

export interface DecodeOptions {
  /** Default true: drop bos, eos and pad ids from the output. */
  skipSpecialTokens?: boolean;
}

export interface ClipTokenizer {
  /** Number of distinct ids (vocab entries, plus any special token the vocab lacked). */
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  readonly maxLength: number;
  /** BPE tokens (byte-level strings, word ends marked "</w>"), without bos/eos. */
  tokenize(text: string): string[];
  /** Default: padding 'max_length', truncation true, maxLength = tokenizer.maxLength. */
  encode(text: string, opts?: EncodeOptions): number[];
  /** attentionMask is 1 for real tokens (bos and eos included) and 0 for padding. */
  encodeBatch(texts: readonly string[], opts?: EncodeBatchOptions): { ids: number[][]; attentionMask: number[][] };
  decode(ids: readonly number[], opts?: DecodeOptions): string;
}

export interface ClipTokenizerFiles {
  /** Contents of vocab.json: the parsed object or the JSON text. */
  vocab: Record<string, number> | string;
  /** Contents of merges.txt: a "#version" header line, then one "left right" pair per line. */
  merges: string;
  /** Default "<|endoftext|>" (SD-1.x pads with eos); must be in the vocab. */
  padToken?: string;
  /** Default 77 (CLIP's context length); integer in [2, 65536]. */
  maxLength?: number;
}

export const BOS_TOKEN = '<|startoftext|>';
export const EOS_TOKEN = '<|endoftext|>';
/** transformers keeps `merges[1 : 49152 - 256 - 2 + 1]`: at most 48894 merges after the header. */
export const MAX_MERGES = 49152 - 256 - 2;

/** Pre-tokenizer pattern of tokenization_clip.py (`re.IGNORECASE`); digits one per token. */
const PRE_TOKEN = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+/giu;
/** Unicode general category C (Cc, Cf, Cs, Co, Cn): BasicTokenizer `_is_control`. */
const CONTROL = /\p{C}/u;
/** BasicTokenizer `_is_whitespace`: space, \t, \n, \r or category Zs. */
const WHITESPACE = /[ \t\n\r\p{Zs}]/u;
const BPE_CACHE_LIMIT = 50_000;

/**
 * GPT-2 `bytes_to_unicode`: printable Latin-1 bytes map to themselves, the other 68 bytes to
 * U+0100.. in byte order, so every byte has a visible, non-whitespace stand-in.
 */
export function bytesToUnicode(): string[] {
  const table = new Array<string>(256);
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let n = 0;
  for (let b = 0; b < 256; b++) table[b] = String.fromCharCode(printable(b) ? b : 256 + n++);
  return table;
}

/** BasicTokenizer `_is_chinese_char`: CJK Unified Ideographs blocks and compatibility ideographs. */
function isCjk(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

/**
 * `" ".join(BasicTokenizer(strip_accents=False, do_split_on_punc=False).tokenize(text))`:
 * `_clean_text`, `_tokenize_chinese_chars`, NFC, whitespace split, per-piece `lower()`.
 */
export function normalizeClipText(text: string): string {
  if (typeof text !== 'string') throw new TypeError(`text must be a string, got ${describeValue(text)}`);
  let cleaned = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp === 0 || cp === 0xfffd) continue;
    if (WHITESPACE.test(ch)) cleaned += ' ';
    else if (CONTROL.test(ch)) continue;
    else if (isCjk(cp)) cleaned += ` ${ch} `;
    else cleaned += ch;
  }
  // Python's str.split() also splits on U+2028/U+2029 (categories Zl/Zp survive _clean_text);
  // JS \s covers them, and every other \s character is gone or mapped to " " by now.
  const pieces = cleaned
    .normalize('NFC')
    .split(/\s+/u)
    .filter((p) => p.length > 0);
  return pieces.map((p) => p.toLowerCase()).join(' ');
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  return `a ${typeof v === 'object' ? ((v as object).constructor?.name ?? 'object') : typeof v}`;
}

/** Upper bound on maxLength: guards against configs that store "unbounded" as 1e30. */
export const MAX_SEQUENCE_LENGTH = 65536;

function checkMaxLength(name: string, v: unknown): number {
  const range = `an integer in [2, ${MAX_SEQUENCE_LENGTH}] (room for bos and eos)`;
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw new TypeError(`${name} must be ${range}, got ${describeValue(v)}`);
  if (v < 2 || v > MAX_SEQUENCE_LENGTH) throw new RangeError(`${name} must be ${range}, got ${v}`);
  return v;
}

function checkBoolean(name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new TypeError(`${name} must be a boolean, got ${describeValue(v)}`);
  return v;
}

function checkChoice<T extends string>(name: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new RangeError(`${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${describeValue(v)}`);
  }
  return v as T;
}

function checkOptions(name: string, v: unknown): Record<string, unknown> {
  if (v === undefined) return {};
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new TypeError(`${name} must be an options object, got ${describeValue(v)}`);
  }
  return v as Record<string, unknown>;
}

function parseVocab(vocab: unknown): Map<string, number> {
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
function parseMerges(merges: unknown): Map<string, number> {
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

/** Build a tokenizer from file contents (see the module comment for the algorithm). */
export function makeClipTokenizer(files: ClipTokenizerFiles): ClipTokenizer {
  if (files === null || typeof files !== 'object') {
    throw new TypeError(
      `files must be an object { vocab, merges, padToken?, maxLength? }, got ${describeValue(files)}`,
    );
  }
  const encoder = parseVocab(files.vocab);
  const ranks = parseMerges(files.merges);
  const maxLength = files.maxLength === undefined ? 77 : checkMaxLength('files.maxLength', files.maxLength);
  const padToken = files.padToken === undefined ? EOS_TOKEN : files.padToken;
  if (typeof padToken !== 'string')
    throw new TypeError(`files.padToken must be a string, got ${describeValue(padToken)}`);

  // Special tokens: ids from the vocab; a vocab without them gets them appended after its largest
  // id, as transformers does for added tokens.
  let nextId = 0;
  for (const id of encoder.values()) if (id >= nextId) nextId = id + 1;
  for (const special of [BOS_TOKEN, EOS_TOKEN]) if (!encoder.has(special)) encoder.set(special, nextId++);
  const bosId = encoder.get(BOS_TOKEN)!;
  const eosId = encoder.get(EOS_TOKEN)!;
  const unkId = eosId; // unk_token = "<|endoftext|>"
  const padLookup = encoder.get(padToken);
  if (padLookup === undefined) throw new RangeError(`files.padToken ${JSON.stringify(padToken)} is not in the vocab`);
  const padId: number = padLookup;
  const vocabSize = encoder.size;

  const decoder = new Map<number, string>();
  for (const [token, id] of encoder) decoder.set(id, token);
  const byteEncoder = bytesToUnicode();
  const byteDecoder = new Map<string, number>(byteEncoder.map((c, b) => [c, b]));
  const specialTokens = [...new Set([BOS_TOKEN, EOS_TOKEN, padToken])].sort((a, b) => b.length - a.length);
  const specialIds = new Set([bosId, eosId, padId]);
  const utf8 = new TextEncoder();
  const utf8Decoder = new TextDecoder('utf-8'); // errors="replace"
  const cache = new Map<string, string[]>();
  const initCache = () => {
    cache.clear();
    cache.set(BOS_TOKEN, [BOS_TOKEN]);
    cache.set(EOS_TOKEN, [EOS_TOKEN]);
  };
  initCache();

  /** tokenization_clip.py `bpe(token)`. */
  function bpe(token: string): string[] {
    const hit = cache.get(token);
    if (hit) return hit;
    let word = [...token.slice(0, -1)];
    word.push(token.slice(-1) + '</w>');
    while (word.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < word.length; i++) {
        const r = ranks.get(`${word[i]} ${word[i + 1]}`);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      const first = word[best];
      const second = word[best + 1];
      // Merge every non-overlapping occurrence of (first, second), left to right.
      const merged: string[] = [];
      for (let i = 0; i < word.length;) {
        if (word[i] === first && i + 1 < word.length && word[i + 1] === second) {
          merged.push(first + second);
          i += 2;
        } else {
          merged.push(word[i]);
          i += 1;
        }
      }
      word = merged;
    }
    if (cache.size >= BPE_CACHE_LIMIT) initCache();
    cache.set(token, word);
    return word;
  }

  /** `_tokenize` of one chunk without literal special tokens. */
  function tokenizeChunk(chunk: string, out: string[]): void {
    const text = normalizeClipText(chunk);
    for (const m of text.matchAll(PRE_TOKEN)) {
      let mapped = '';
      for (const b of utf8.encode(m[0])) mapped += byteEncoder[b];
      for (const t of bpe(mapped)) out.push(t);
    }
  }

  function tokenize(text: string): string[] {
    if (typeof text !== 'string') throw new TypeError(`text must be a string, got ${describeValue(text)}`);
    const out: string[] = [];
    let start = 0;
    // Split out specials written literally (case-sensitive, longest first), like the added-token trie.
    for (;;) {
      let at = -1;
      let found = '';
      for (const s of specialTokens) {
        const i = text.indexOf(s, start);
        if (i >= 0 && (at < 0 || i < at)) {
          at = i;
          found = s;
        }
      }
      if (at < 0) break;
      tokenizeChunk(text.slice(start, at), out);
      out.push(found);
      start = at + found.length;
    }
    tokenizeChunk(text.slice(start), out);
    return out;
  }

  /** Content ids of `text` wrapped as [bos, …, eos], truncated to `maxLen` when asked. */
  function wrapped(text: string, maxLen: number, truncation: boolean): number[] {
    const tokens = tokenize(text);
    const keep = truncation ? Math.min(tokens.length, maxLen - 2) : tokens.length;
    const ids = new Array<number>(keep + 2);
    ids[0] = bosId;
    for (let i = 0; i < keep; i++) ids[i + 1] = encoder.get(tokens[i]) ?? unkId;
    ids[keep + 1] = eosId;
    return ids;
  }

  function encode(text: string, opts?: EncodeOptions): number[] {
    const o = checkOptions('opts', opts);
    const padding =
      o.padding === undefined ? 'max_length' : checkChoice('opts.padding', o.padding, ['max_length', 'none'] as const);
    const truncation = o.truncation === undefined ? true : checkBoolean('opts.truncation', o.truncation);
    const maxLen = o.maxLength === undefined ? maxLength : checkMaxLength('opts.maxLength', o.maxLength);
    if (typeof text !== 'string') throw new TypeError(`text must be a string, got ${describeValue(text)}`);
    const ids = wrapped(text, maxLen, truncation);
    if (padding === 'max_length') while (ids.length < maxLen) ids.push(padId);
    return ids;
  }

  function encodeBatch(
    texts: readonly string[],
    opts?: EncodeBatchOptions,
  ): { ids: number[][]; attentionMask: number[][] } {
    if (!Array.isArray(texts)) throw new TypeError(`texts must be an array of strings, got ${describeValue(texts)}`);
    const o = checkOptions('opts', opts);
    const padding =
      o.padding === undefined
        ? 'max_length'
        : checkChoice('opts.padding', o.padding, ['max_length', 'longest'] as const);
    const truncation = o.truncation === undefined ? true : checkBoolean('opts.truncation', o.truncation);
    const maxLen = o.maxLength === undefined ? maxLength : checkMaxLength('opts.maxLength', o.maxLength);
    texts.forEach((t, i) => {
      if (typeof t !== 'string') throw new TypeError(`texts[${i}] must be a string, got ${describeValue(t)}`);
    });
    const rows = texts.map((t) => wrapped(t, maxLen, truncation));
    const target = padding === 'longest' ? Math.max(0, ...rows.map((r) => r.length)) : maxLen;
    const attentionMask = rows.map((r) => {
      const mask = new Array<number>(Math.max(r.length, target)).fill(0);
      mask.fill(1, 0, r.length);
      return mask;
    });
    for (const r of rows) while (r.length < target) r.push(padId);
    return { ids: rows, attentionMask };
  }

  /** `convert_tokens_to_string`: bytes back through the table, UTF-8 with replacement, "</w>" → " ". */
  function decode(ids: readonly number[], opts?: DecodeOptions): string {
    if (!Array.isArray(ids)) throw new TypeError(`ids must be an array of token ids, got ${describeValue(ids)}`);
    const o = checkOptions('opts', opts);
    const skip = o.skipSpecialTokens === undefined ? true : checkBoolean('opts.skipSpecialTokens', o.skipSpecialTokens);
    const pieces: string[] = [];
    let run = '';
    const flush = () => {
      if (run === '') return;
      const bytes = new Uint8Array(run.length);
      for (let i = 0; i < run.length; i++) {
        const b = byteDecoder.get(run[i]);
        if (b === undefined)
          throw new RangeError(`ids decode to a token with character ${JSON.stringify(run[i])} outside the byte table`);
        bytes[i] = b;
      }
      const text = utf8Decoder.decode(bytes).replaceAll('</w>', ' ').trim();
      if (text !== '') pieces.push(text);
      run = '';
    };
    ids.forEach((id, i) => {
      const token = typeof id === 'number' ? decoder.get(id) : undefined;
      if (token === undefined)
        throw new RangeError(`ids[${i}] must be a token id of this vocab, got ${describeValue(id)}`);
      if (specialIds.has(id)) {
        if (skip) return;
        flush();
        pieces.push(token); // special tokens stand apart, joined with spaces
      } else {
        run += token;
      }
    });
    flush();
    return pieces.join(' ');
  }

  return { vocabSize, bosId, eosId, padId, maxLength, tokenize, encode, encodeBatch, decode };
}
