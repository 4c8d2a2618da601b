/**
 * Node-only loader: a CLIP tokenizer from a folder laid out like Hugging Face's `tokenizer/`
 * (vocab.json, merges.txt, optional tokenizer_config.json). The tokenizer itself lives in
 * clip-tokenizer.ts and needs no file system.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeClipTokenizer, type ClipTokenizer } from './clip-tokenizer.ts';

export interface LoadClipTokenizerOptions {
  /** Overrides tokenizer_config.json's pad_token (default "<|endoftext|>"). */
  padToken?: string;
  /** Overrides tokenizer_config.json's model_max_length (default 77). */
  maxLength?: number;
}

/** A token field of tokenizer_config.json: a plain string or an AddedToken `{ content }`. */
function tokenContent(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v !== null && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') {
    return (v as { content: string }).content;
  }
  return undefined;
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${what} at ${path}: ${(e as Error).message}`);
  }
}

/**
 * Reads `<dir>/vocab.json` and `<dir>/merges.txt`; `tokenizer_config.json`, when present,
 * supplies `pad_token` and `model_max_length` unless `opts` gives them.
 */
export async function loadClipTokenizer(dir: string, opts: LoadClipTokenizerOptions = {}): Promise<ClipTokenizer> {
  if (typeof dir !== 'string' || dir === '')
    throw new TypeError(`dir must be a non-empty folder path, got ${JSON.stringify(dir)}`);
  // Both files are read at once; a failure is reported in a fixed order (vocab.json first), not
  // by whichever read fails first, so the error for a missing folder is always the same.
  const [vocabRead, mergesRead] = await Promise.allSettled([
    readText(join(dir, 'vocab.json'), 'vocab.json'),
    readText(join(dir, 'merges.txt'), 'merges.txt'),
  ]);
  if (vocabRead.status === 'rejected') throw vocabRead.reason;
  if (mergesRead.status === 'rejected') throw mergesRead.reason;
  const vocab = vocabRead.value;
  const merges = mergesRead.value;
  let config: Record<string, unknown> = {};
  const configPath = join(dir, 'tokenizer_config.json');
  const configText = await readFile(configPath, 'utf8').catch(() => undefined);
  if (configText !== undefined) {
    try {
      config = JSON.parse(configText) as Record<string, unknown>;
    } catch (e) {
      throw new TypeError(`tokenizer_config.json at ${configPath} is not valid JSON: ${(e as Error).message}`);
    }
  }
  const padToken = opts.padToken ?? tokenContent(config.pad_token);
  const maxLength = opts.maxLength ?? (config.model_max_length as number | undefined);
  try {
    return makeClipTokenizer({ vocab, merges, padToken, maxLength });
  } catch (e) {
    if (e instanceof Error) e.message = `${e.message} (tokenizer folder ${dir})`;
    throw e;
  }
}
