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
 * Node loader for a tokenizer folder; `clip-tokenizer-checks.ts` the checks of the options and
 * the parsing of the two files.
 */

import {
  checkBoolean,
  checkChoice,
  checkMaxLength,
  checkOptions,
  describeValue,
  parseMerges,
  parseVocab,
} from './clip-tokenizer-checks.ts';

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
export { MAX_MERGES, MAX_SEQUENCE_LENGTH } from './clip-tokenizer-checks.ts';

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

/** Build a tokenizer from file contents (see the module comment for the algorithm). */
export function makeClipTokenizer(files: ClipTokenizerFiles): ClipTokenizer {
  return new BpeTokenizer(files);
}

/** The tokenizer of `makeClipTokenizer`: the vocab, the merges and the byte table, checked once. */
class BpeTokenizer implements ClipTokenizer {
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  readonly maxLength: number;
  /** token → id, id → token; unknown tokens map to eos ("<|endoftext|>", CLIP's unk_token). */
  readonly #encoder: Map<string, number>;
  readonly #decoder = new Map<number, string>();
  /** "left right" → merge rank. */
  readonly #ranks: Map<string, number>;
  readonly #byteEncoder = bytesToUnicode();
  readonly #byteDecoder = new Map<string, number>(this.#byteEncoder.map((c, b) => [c, b]));
  /** The special tokens split out of the text, longest first, and their ids. */
  readonly #specialTokens: string[];
  readonly #specialIds: Set<number>;
  readonly #utf8 = new TextEncoder();
  readonly #utf8Decoder = new TextDecoder('utf-8'); // errors="replace"
  readonly #cache = new Map<string, string[]>();

  constructor(files: ClipTokenizerFiles) {
    if (files === null || typeof files !== 'object') {
      throw new TypeError(
        `files must be an object { vocab, merges, padToken?, maxLength? }, got ${describeValue(files)}`,
      );
    }
    const encoder = parseVocab(files.vocab);
    this.#encoder = encoder;
    this.#ranks = parseMerges(files.merges);
    this.maxLength = files.maxLength === undefined ? 77 : checkMaxLength('files.maxLength', files.maxLength);
    const padToken = files.padToken === undefined ? EOS_TOKEN : files.padToken;
    if (typeof padToken !== 'string')
      throw new TypeError(`files.padToken must be a string, got ${describeValue(padToken)}`);
    // Special tokens: ids from the vocab; a vocab without them gets them appended after its largest
    // id, as transformers does for added tokens.
    let nextId = 0;
    for (const id of encoder.values()) if (id >= nextId) nextId = id + 1;
    for (const special of [BOS_TOKEN, EOS_TOKEN]) if (!encoder.has(special)) encoder.set(special, nextId++);
    this.bosId = encoder.get(BOS_TOKEN)!;
    this.eosId = encoder.get(EOS_TOKEN)!;
    const padId = encoder.get(padToken);
    if (padId === undefined) throw new RangeError(`files.padToken ${JSON.stringify(padToken)} is not in the vocab`);
    this.padId = padId;
    this.vocabSize = encoder.size;
    for (const [token, id] of encoder) this.#decoder.set(id, token);
    this.#specialTokens = [...new Set([BOS_TOKEN, EOS_TOKEN, padToken])].sort((a, b) => b.length - a.length);
    this.#specialIds = new Set([this.bosId, this.eosId, padId]);
    this.#resetCache();
  }

  #resetCache(): void {
    this.#cache.clear();
    this.#cache.set(BOS_TOKEN, [BOS_TOKEN]);
    this.#cache.set(EOS_TOKEN, [EOS_TOKEN]);
  }

  /** tokenization_clip.py `bpe(token)`. */
  #bpe(token: string): string[] {
    const hit = this.#cache.get(token);
    if (hit) return hit;
    let word = [...token.slice(0, -1)];
    word.push(token.slice(-1) + '</w>');
    while (word.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < word.length; i++) {
        const r = this.#ranks.get(`${word[i]} ${word[i + 1]}`);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      word = mergePair(word, word[best], word[best + 1]);
    }
    if (this.#cache.size >= BPE_CACHE_LIMIT) this.#resetCache();
    this.#cache.set(token, word);
    return word;
  }

  /** `_tokenize` of one chunk without literal special tokens. */
  #tokenizeChunk(chunk: string, out: string[]): void {
    const text = normalizeClipText(chunk);
    for (const m of text.matchAll(PRE_TOKEN)) {
      let mapped = '';
      for (const b of this.#utf8.encode(m[0])) mapped += this.#byteEncoder[b];
      for (const t of this.#bpe(mapped)) out.push(t);
    }
  }

  tokenize(text: string): string[] {
    if (typeof text !== 'string') throw new TypeError(`text must be a string, got ${describeValue(text)}`);
    const out: string[] = [];
    let start = 0;
    // Split out specials written literally (case-sensitive, longest first), like the added-token trie.
    for (;;) {
      let at = -1;
      let found = '';
      for (const s of this.#specialTokens) {
        const i = text.indexOf(s, start);
        if (i >= 0 && (at < 0 || i < at)) {
          at = i;
          found = s;
        }
      }
      if (at < 0) break;
      this.#tokenizeChunk(text.slice(start, at), out);
      out.push(found);
      start = at + found.length;
    }
    this.#tokenizeChunk(text.slice(start), out);
    return out;
  }

  /** Content ids of `text` wrapped as [bos, …, eos], truncated to `maxLen` when asked. */
  #wrapped(text: string, maxLen: number, truncation: boolean): number[] {
    const tokens = this.tokenize(text);
    const keep = truncation ? Math.min(tokens.length, maxLen - 2) : tokens.length;
    const ids = new Array<number>(keep + 2);
    ids[0] = this.bosId;
    for (let i = 0; i < keep; i++) ids[i + 1] = this.#encoder.get(tokens[i]) ?? this.eosId;
    ids[keep + 1] = this.eosId;
    return ids;
  }

  encode(text: string, opts?: EncodeOptions): number[] {
    const o = checkOptions('opts', opts);
    const padding =
      o.padding === undefined ? 'max_length' : checkChoice('opts.padding', o.padding, ['max_length', 'none'] as const);
    const truncation = o.truncation === undefined ? true : checkBoolean('opts.truncation', o.truncation);
    const maxLen = o.maxLength === undefined ? this.maxLength : checkMaxLength('opts.maxLength', o.maxLength);
    if (typeof text !== 'string') throw new TypeError(`text must be a string, got ${describeValue(text)}`);
    const ids = this.#wrapped(text, maxLen, truncation);
    if (padding === 'max_length') while (ids.length < maxLen) ids.push(this.padId);
    return ids;
  }

  encodeBatch(texts: readonly string[], opts?: EncodeBatchOptions): { ids: number[][]; attentionMask: number[][] } {
    if (!Array.isArray(texts)) throw new TypeError(`texts must be an array of strings, got ${describeValue(texts)}`);
    const o = checkOptions('opts', opts);
    const padding =
      o.padding === undefined
        ? 'max_length'
        : checkChoice('opts.padding', o.padding, ['max_length', 'longest'] as const);
    const truncation = o.truncation === undefined ? true : checkBoolean('opts.truncation', o.truncation);
    const maxLen = o.maxLength === undefined ? this.maxLength : checkMaxLength('opts.maxLength', o.maxLength);
    texts.forEach((t, i) => {
      if (typeof t !== 'string') throw new TypeError(`texts[${i}] must be a string, got ${describeValue(t)}`);
    });
    const rows = texts.map((t) => this.#wrapped(t, maxLen, truncation));
    const target = padding === 'longest' ? Math.max(0, ...rows.map((r) => r.length)) : maxLen;
    const attentionMask = rows.map((r) => {
      const mask = new Array<number>(Math.max(r.length, target)).fill(0);
      mask.fill(1, 0, r.length);
      return mask;
    });
    for (const r of rows) while (r.length < target) r.push(this.padId);
    return { ids: rows, attentionMask };
  }

  /** `convert_tokens_to_string`: bytes back through the table, UTF-8 with replacement, "</w>" → " ". */
  decode(ids: readonly number[], opts?: DecodeOptions): string {
    if (!Array.isArray(ids)) throw new TypeError(`ids must be an array of token ids, got ${describeValue(ids)}`);
    const o = checkOptions('opts', opts);
    const skip = o.skipSpecialTokens === undefined ? true : checkBoolean('opts.skipSpecialTokens', o.skipSpecialTokens);
    const pieces: string[] = [];
    let run = '';
    const flush = () => {
      const text = this.#runText(run);
      if (text !== '') pieces.push(text);
      run = '';
    };
    ids.forEach((id, i) => {
      const token = typeof id === 'number' ? this.#decoder.get(id) : undefined;
      if (token === undefined)
        throw new RangeError(`ids[${i}] must be a token id of this vocab, got ${describeValue(id)}`);
      if (this.#specialIds.has(id)) {
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

  /** The text of a run of ordinary tokens: their bytes through the table, UTF-8, "</w>" as spaces, trimmed. */
  #runText(run: string): string {
    if (run === '') return '';
    const bytes = new Uint8Array(run.length);
    for (let i = 0; i < run.length; i++) {
      const b = this.#byteDecoder.get(run[i]);
      if (b === undefined)
        throw new RangeError(`ids decode to a token with character ${JSON.stringify(run[i])} outside the byte table`);
      bytes[i] = b;
    }
    return this.#utf8Decoder.decode(bytes).replaceAll('</w>', ' ').trim();
  }
}

/** Merges every non-overlapping occurrence of (first, second) in `word`, left to right. */
function mergePair(word: readonly string[], first: string, second: string): string[] {
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
  return merged;
}
