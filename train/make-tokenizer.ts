/**
 * Writes the mini-zoo's pruned CLIP tokenizer: the full CLIP BPE files cut down to what the
 * MiniMIG world's words need, with the original token ids.
 *
 *   npx tsx train/make-tokenizer.ts --from <folder with CLIP's vocab.json and merges.txt> \
 *     [--out models/mini-zoo/tokenizer]
 *
 * Kept: every token with id < 512 (the 256 byte tokens and their 256 word-end forms), bos/eos,
 * and each merge (l, r) whose joined token l+r occurs inside some world word w + "</w>" (in
 * byte-mapped form), with the token it produces, in the original rank order. Why this gives the
 * full tokenizer's ids on every world string: captions are world words joined by single spaces,
 * CLIP's pre-tokenizer splits them into those words, and BPE on a word only ever looks up pairs
 * whose join is a piece of that word; every such pair that exists in the full merges is kept, in
 * the same relative order, so each step picks the same lowest-rank pair. test/toy/minimig-tokenizer
 * checks the claim against the full files.
 *
 * tokenizer_config.json and special_tokens_map.json are copied unchanged (special tokens, pad
 * token, model_max_length = 77).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import { bytesToUnicode, BOS_TOKEN, EOS_TOKEN } from '../src/sd/clip-tokenizer.ts';
import { ensureDir, writeFileAtomic } from '../src/io/files.ts';
import { worldWords } from '../src/toy/minimig/captions.ts';

const BYTE_TOKENS = 512;

export interface PrunedTokenizer {
  vocab: Record<string, number>;
  /** merges.txt text: the "#version" header and the kept merges in their original order. */
  merges: string;
}

/** Byte-mapped word-end form of a word, as BPE sees it: "red" → "red</w>". */
function bpeForm(word: string, table: readonly string[]): string {
  let s = '';
  for (const b of new TextEncoder().encode(word.toLowerCase())) s += table[b];
  return `${s}</w>`;
}

/** Prunes CLIP's vocab.json (parsed) and merges.txt (text) to the given words. */
export function pruneClipTokenizer(
  vocab: Record<string, number>,
  mergesText: string,
  words: readonly string[],
): PrunedTokenizer {
  const table = bytesToUnicode();
  const forms = words.map((w) => bpeForm(w, table));
  const lines = mergesText.trim().split(/\r?\n/);
  if (!lines[0].startsWith('#version'))
    throw new RangeError(`merges.txt must start with a "#version" line, got ${JSON.stringify(lines[0])}`);
  const kept: string[] = [lines[0]];
  const out: Record<string, number> = {};
  for (const [token, id] of Object.entries(vocab))
    if (id < BYTE_TOKENS || token === BOS_TOKEN || token === EOS_TOKEN) out[token] = id;
  if (Object.keys(out).length !== BYTE_TOKENS + 2) {
    throw new RangeError(
      `vocab.json must hold ids 0..${BYTE_TOKENS - 1} and ${BOS_TOKEN}, ${EOS_TOKEN}; found ${Object.keys(out).length} of them`,
    );
  }
  for (const line of lines.slice(1)) {
    const [l, r] = line.trim().split(/\s+/);
    const joined = l + r;
    if (!forms.some((f) => f.includes(joined))) continue;
    const id = vocab[joined];
    if (id === undefined)
      throw new RangeError(`merges.txt merge "${line}" makes ${JSON.stringify(joined)}, which vocab.json lacks`);
    kept.push(line);
    out[joined] = id;
  }
  const sorted = Object.fromEntries(Object.entries(out).sort((a, b) => a[1] - b[1]));
  return { vocab: sorted, merges: `${kept.join('\n')}\n` };
}

async function main(): Promise<void> {
  const opts = new Command()
    .name('make-tokenizer')
    .description("Writes the MiniMIG-pruned CLIP tokenizer (original ids) from CLIP's full tokenizer files")
    .requiredOption(
      '--from <dir>',
      "folder with CLIP's vocab.json, merges.txt, tokenizer_config.json, special_tokens_map.json",
    )
    .option('--out <dir>', 'output folder', 'models/mini-zoo/tokenizer')
    .showHelpAfterError()
    .parse()
    .opts<{ from: string; out: string }>();
  const read = (name: string) =>
    readFile(join(opts.from, name), 'utf8').catch((e: Error) => {
      throw new Error(`--from: cannot read ${name} in ${opts.from}: ${e.message}`);
    });
  const [vocabText, merges, config, special] = await Promise.all(
    ['vocab.json', 'merges.txt', 'tokenizer_config.json', 'special_tokens_map.json'].map(read),
  );
  const pruned = pruneClipTokenizer(JSON.parse(vocabText) as Record<string, number>, merges, worldWords());
  await ensureDir(opts.out);
  await writeFileAtomic(join(opts.out, 'vocab.json'), `${JSON.stringify(pruned.vocab)}\n`);
  await writeFileAtomic(join(opts.out, 'merges.txt'), pruned.merges);
  await writeFileAtomic(join(opts.out, 'tokenizer_config.json'), config);
  await writeFileAtomic(join(opts.out, 'special_tokens_map.json'), special);
  console.log(
    `wrote ${opts.out}: ${Object.keys(pruned.vocab).length} tokens, ${pruned.merges.trim().split('\n').length - 1} merges`,
  );
}

if (process.argv[1]?.endsWith('make-tokenizer.ts')) {
  main().catch((e: unknown) => {
    console.error(`make-tokenizer: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
  });
}
