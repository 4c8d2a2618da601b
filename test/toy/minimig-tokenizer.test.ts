import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadClipTokenizer } from '../../src/sd/clip-tokenizer-files.ts';
import {
  ACTIONS,
  caption,
  instancePhrase,
  sampleScene,
  worldWords,
  CAPTION_VARIANTS,
} from '../../src/toy/minimig/index.ts';
import { pruneClipTokenizer } from '../../train/make-tokenizer.ts';
import { dataPath, describeWithData, projectRoot } from '../helpers/data.ts';

const PRUNED = join(projectRoot, 'models', 'mini-zoo', 'tokenizer');

/** Every string the world feeds the text encoder: captions of 500 scenes in all variants, phrases, actions, words, "". */
function worldStrings(): string[] {
  const out = new Set<string>(['', ...ACTIONS, ...worldWords()]);
  for (let i = 0; i < 500; i++) {
    const s = sampleScene(2024, i);
    for (const v of CAPTION_VARIANTS) out.add(caption(s, v));
    for (const inst of s.instances) {
      out.add(instancePhrase(inst));
      out.add(instancePhrase(inst, { withColour: false }));
    }
  }
  return [...out];
}

describe('the pruned MiniMIG tokenizer', () => {
  it('keeps bos/eos and the byte tokens with their CLIP ids and encodes world text', async () => {
    const tok = await loadClipTokenizer(PRUNED);
    expect([tok.bosId, tok.eosId, tok.padId, tok.maxLength]).toEqual([49406, 49407, 49407, 77]);
    // CLIP's ids ("red</w>" 736, "circle</w>" 7117); every world string is checked against the full files below
    expect(tok.encode('red circle', { padding: 'none' })).toEqual([49406, 736, 7117, 49407]);
  });
});

describeWithData('pruned vs full CLIP tokenizer', ['clip-tokenizer/vocab.json', 'clip-tokenizer/merges.txt'], () => {
  it('gives identical ids on every world string', async () => {
    const [full, pruned] = await Promise.all([
      loadClipTokenizer(dataPath('clip-tokenizer')),
      loadClipTokenizer(PRUNED),
    ]);
    const strings = worldStrings();
    expect(strings.length).toBeGreaterThan(1500);
    for (const s of strings) expect(pruned.encode(s), s).toEqual(full.encode(s));
  });

  it('regenerating from the full files reproduces the committed vocab and merges', () => {
    const vocab = JSON.parse(readFileSync(dataPath('clip-tokenizer', 'vocab.json'), 'utf8')) as Record<string, number>;
    const pruned = pruneClipTokenizer(
      vocab,
      readFileSync(dataPath('clip-tokenizer', 'merges.txt'), 'utf8'),
      worldWords(),
    );
    expect(`${JSON.stringify(pruned.vocab)}\n`).toBe(readFileSync(join(PRUNED, 'vocab.json'), 'utf8'));
    expect(pruned.merges).toBe(readFileSync(join(PRUNED, 'merges.txt'), 'utf8'));
  });

  it('a word outside the world tokenizes differently (the pruning is real)', async () => {
    const [full, pruned] = await Promise.all([
      loadClipTokenizer(dataPath('clip-tokenizer')),
      loadClipTokenizer(PRUNED),
    ]);
    expect(pruned.encode('photograph')).not.toEqual(full.encode('photograph'));
  });
});
