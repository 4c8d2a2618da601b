import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  BOS_TOKEN,
  EOS_TOKEN,
  bytesToUnicode,
  makeClipTokenizer,
  normalizeClipText,
  type ClipTokenizer,
} from '../../src/sd/clip-tokenizer.ts';
import { loadClipTokenizer } from '../../src/sd/clip-tokenizer-files.ts';
import { dataPath, describeWithData } from '../helpers/data.ts';

const BOS = 49406;
const EOS = 49407;

/** Reference tokenizations (unpadded) of the SD-1.x CLIP vocab/merges. */
const REFERENCE: Array<[string, number[]]> = [
  ['a photo of a cat', [BOS, 320, 1125, 539, 320, 2368, EOS]],
  [
    'A red hair girl is drinking from a blue bottle of water, oil painting',
    [BOS, 320, 736, 2225, 1611, 533, 5778, 633, 320, 1746, 5392, 539, 1573, 267, 2870, 3086, EOS],
  ],
  ['a white dressed man is feeding an orange cat', [BOS, 320, 1579, 6559, 786, 533, 9879, 550, 4287, 2368, EOS]],
  [
    'worst quality, low quality, bad anatomy, watermark, text, blurry',
    [BOS, 5719, 3027, 267, 1042, 3027, 267, 2103, 15376, 267, 2505, 2110, 267, 4160, 267, 21977, EOS],
  ],
  [
    'monochrome, lowres, bad anatomy, worst quality, low quality',
    [BOS, 25576, 267, 1049, 934, 267, 2103, 15376, 267, 5719, 3027, 267, 1042, 3027, EOS],
  ],
  [
    'a photo of a brown apple and a blue banana and a yellow banana and a blue banana and a yellow banana and a black banana ',
    [
      BOS,
      320,
      1125,
      539,
      320,
      2866,
      3055,
      537,
      320,
      1746,
      8922,
      537,
      320,
      4481,
      8922,
      537,
      320,
      1746,
      8922,
      537,
      320,
      4481,
      8922,
      537,
      320,
      1449,
      8922,
      EOS,
    ],
  ],
  [
    'longbody, lowres, bad anatomy, bad hands, missing fingers, extra digit, fewer digits, cropped, worst quality, low quality',
    [
      BOS,
      4792,
      1774,
      267,
      1049,
      934,
      267,
      2103,
      15376,
      267,
      2103,
      3500,
      267,
      3423,
      9690,
      267,
      4231,
      27472,
      267,
      19128,
      31710,
      267,
      31139,
      267,
      5719,
      3027,
      267,
      1042,
      3027,
      EOS,
    ],
  ],
  ['white dressed man', [BOS, 1579, 6559, 786, EOS]],
  ['orange cat', [BOS, 4287, 2368, EOS]],
  ['feeding', [BOS, 9879, EOS]],
  ["It's 2 o'clock!! Café naïve", [BOS, 585, 568, 273, 334, 262, 6716, 748, 15304, 1097, 35689, 563, EOS]],
  ['', [BOS, EOS]],
];

const padTo77 = (ids: number[]) => [...ids, ...new Array<number>(77 - ids.length).fill(EOS)];

describeWithData(
  'CLIP tokenizer on the SD-1.x vocab',
  ['clip-tokenizer/vocab.json', 'clip-tokenizer/merges.txt'],
  () => {
    let tok: ClipTokenizer;
    beforeAll(() => {
      tok = makeClipTokenizer({
        vocab: readFileSync(dataPath('clip-tokenizer', 'vocab.json'), 'utf8'),
        merges: readFileSync(dataPath('clip-tokenizer', 'merges.txt'), 'utf8'),
      });
    });

    it('reads the special ids and sizes from the vocab', () => {
      expect([tok.vocabSize, tok.bosId, tok.eosId, tok.padId, tok.maxLength]).toEqual([49408, BOS, EOS, EOS, 77]);
    });

    it.each(REFERENCE)('encodes %j to the reference ids', (text, ids) => {
      expect(tok.encode(text, { padding: 'none' })).toEqual(ids);
      expect(tok.encode(text)).toEqual(padTo77(ids));
    });

    it('pads "a photo of a cat" to 77 ids with eos (49407)', () => {
      const ids = tok.encode('a photo of a cat');
      expect(ids).toHaveLength(77);
      expect(ids.slice(0, 7)).toEqual([BOS, 320, 1125, 539, 320, 2368, EOS]);
      expect(ids.slice(7)).toEqual(new Array(70).fill(EOS));
    });

    it('produces the reference BPE tokens (regex split, byte mapping, "</w>" ends)', () => {
      expect(tok.tokenize("It's 2 o'clock!! Café naïve")).toEqual([
        'it</w>',
        "'s</w>",
        '2</w>',
        'o</w>',
        "'</w>",
        'clock</w>',
        '!!</w>',
        'cafÃ©</w>',
        'na',
        'Ã¯',
        've</w>',
      ]);
      expect(tok.tokenize('watermark')).toEqual(['water', 'mark</w>']);
      expect(tok.tokenize('2024')).toEqual(['2</w>', '0</w>', '2</w>', '4</w>']); // digits one per token
    });

    it('truncates a long prompt to bos + 75 content tokens + eos', () => {
      const text = 'a photo of a cat '.repeat(30); // 150 content tokens
      const full = tok.encode(text, { padding: 'none', truncation: false });
      expect(full).toHaveLength(152);
      const ids = tok.encode(text);
      expect(ids).toHaveLength(77);
      expect(ids[0]).toBe(BOS);
      expect(ids[76]).toBe(EOS);
      expect(ids.slice(0, 76)).toEqual(full.slice(0, 76));
      expect(tok.encode(text, { padding: 'none' })).toEqual(ids);
      expect(tok.encode(text, { maxLength: 10 })).toEqual([...full.slice(0, 9), EOS]);
    });

    it("pads a batch to the longest row with eos and returns the attention mask ('longest')", () => {
      const { ids, attentionMask } = tok.encodeBatch(['white dressed man', 'orange cat', 'feeding'], {
        padding: 'longest',
      });
      expect(ids).toEqual([
        [BOS, 1579, 6559, 786, EOS],
        [BOS, 4287, 2368, EOS, EOS],
        [BOS, 9879, EOS, EOS, EOS],
      ]);
      expect(attentionMask).toEqual([
        [1, 1, 1, 1, 1],
        [1, 1, 1, 1, 0],
        [1, 1, 1, 0, 0],
      ]);
    });

    it('pads a batch to 77 by default, mask counting bos and eos', () => {
      const { ids, attentionMask } = tok.encodeBatch(['a photo of a cat', '']);
      expect(ids).toEqual([padTo77([BOS, 320, 1125, 539, 320, 2368, EOS]), padTo77([BOS, EOS])]);
      expect(attentionMask.map((m) => m.reduce((a, b) => a + b, 0))).toEqual([7, 2]);
      expect(attentionMask.every((m) => m.length === 77)).toBe(true);
    });

    it('normalizes like BasicTokenizer: controls and U+FFFD dropped, CJK spaced, NFC, lowercase', () => {
      expect(tok.tokenize('a\u0000b\uFFFD\u200Bc\u0007')).toEqual(tok.tokenize('abc'));
      expect(tok.tokenize('猫猫')).toEqual(tok.tokenize('猫 猫'));
      expect(tok.tokenize('cafe\u0301')).toEqual(tok.tokenize('café'));
      expect(tok.encode("A PHOTO OF IT'S")).toEqual(tok.encode("a photo of it's"));
      expect(tok.encode('a\u00A0photo\u3000of\ta\r\ncat ')).toEqual(tok.encode('a photo of a cat'));
    });

    it('maps literal special tokens to their ids and unknown tokens to eos', () => {
      expect(tok.encode('a<|endoftext|>cat', { padding: 'none' })).toEqual([BOS, 320, EOS, 2368, EOS]);
      expect(tok.tokenize('<|startoftext|>')).toEqual([BOS_TOKEN]);
    });

    it('decodes ids back to normalized text', () => {
      expect(tok.decode(tok.encode('A photo of a cat'))).toBe('a photo of a cat');
      expect(tok.decode(tok.encode("It's 2 o'clock!! Café naïve"))).toBe("it 's 2 o ' clock !! café naïve");
      expect(tok.decode([BOS, 320, 2368, EOS, EOS], { skipSpecialTokens: false })).toBe(
        `${BOS_TOKEN} a cat ${EOS_TOKEN} ${EOS_TOKEN}`,
      );
    });

    it('loads the same tokenizer from the folder (tokenizer_config.json supplies pad and length)', async () => {
      const loaded = await loadClipTokenizer(dataPath('clip-tokenizer'));
      expect([loaded.vocabSize, loaded.bosId, loaded.eosId, loaded.padId, loaded.maxLength]).toEqual([
        49408,
        BOS,
        EOS,
        EOS,
        77,
      ]);
      expect(loaded.encode(REFERENCE[1][0])).toEqual(tok.encode(REFERENCE[1][0]));
    });

    it('always yields 77 valid ids starting with bos, for any Unicode text (property)', () => {
      fc.assert(
        fc.property(fc.string({ unit: 'binary', maxLength: 120 }), (text) => {
          const ids = tok.encode(text);
          expect(ids).toHaveLength(77);
          expect(ids[0]).toBe(BOS);
          expect(ids.every((id) => Number.isInteger(id) && id >= 0 && id < tok.vocabSize)).toBe(true);
          const unpadded = tok.encode(text, { padding: 'none' });
          expect(unpadded[unpadded.length - 1]).toBe(EOS);
          expect(ids.slice(0, unpadded.length)).toEqual(unpadded);
        }),
        { numRuns: 300 },
      );
    });
  },
);

describe('loadClipTokenizer errors', () => {
  it('names the missing file', async () => {
    await expect(loadClipTokenizer(dataPath('no-such-tokenizer-folder'))).rejects.toThrow(/cannot read vocab\.json/);
  });
  it('names merges.txt when only it is missing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'amdm-tok-'));
    try {
      writeFileSync(join(dir, 'vocab.json'), '{}');
      await expect(loadClipTokenizer(dir)).rejects.toThrow(/cannot read merges\.txt at .*merges\.txt/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------------------------
// A tiny byte-level vocabulary built here: 256 byte symbols, their "</w>" forms, a few merges.

const BYTE_CHARS = bytesToUnicode();
const TINY_MERGES = [
  'h e',
  'l l',
  'he ll',
  'hell o</w>',
  't h',
  'th e</w>',
  'i n',
  'in g</w>',
  'a n',
  'an d</w>',
  'c a',
  'ca t</w>',
];

function tinyFiles(
  merges: readonly string[] = TINY_MERGES,
  withSpecials = true,
): { vocab: Record<string, number>; merges: string } {
  const vocab: Record<string, number> = {};
  let id = 0;
  // CLIP's order: byte symbols sorted by code point (printable bytes first, so "!" = 0).
  const symbols = [...BYTE_CHARS].sort((a, b) => a.charCodeAt(0) - b.charCodeAt(0));
  for (const c of symbols) vocab[c] = id++;
  for (const c of symbols) vocab[`${c}</w>`] = id++;
  for (const m of merges) vocab[m.replace(' ', '')] = id++;
  if (withSpecials) {
    vocab[BOS_TOKEN] = id++;
    vocab[EOS_TOKEN] = id++;
  }
  return { vocab, merges: `#version: 0.2\n${merges.join('\n')}\n` };
}

describe('CLIP tokenizer on a tiny vocabulary', () => {
  const tiny = makeClipTokenizer({ ...tinyFiles(), maxLength: 16 });
  const bos = tiny.bosId;
  const eos = tiny.eosId;
  const word = fc.stringMatching(/^[a-z]{1,8}$/);

  it('takes bos/eos from the vocab and pads with eos by default', () => {
    expect([tiny.vocabSize, bos, eos, tiny.padId, tiny.maxLength]).toEqual([526, 524, 525, 525, 16]);
  });

  it('applies merges in rank order and only where the pair occurs', () => {
    expect(tiny.tokenize('hello')).toEqual(['hello</w>']);
    expect(tiny.tokenize('hellos')).toEqual(['hell', 'o', 's</w>']); // "hell o</w>" needs the word end
    // rank-0 "h e" fires first and takes the first "h" from "t h"; it does not match (h, e</w>):
    // t h e t h e</w> → t he t h e</w> → t he th e</w> → t he the</w>.
    expect(tiny.tokenize('thethe')).toEqual(['t', 'he', 'the</w>']);
    expect(tiny.tokenize('x')).toEqual(['x</w>']);
    const lowFirst = makeClipTokenizer(tinyFiles(['y z</w>', 'x y']));
    const highFirst = makeClipTokenizer(tinyFiles(['x y', 'y z</w>']));
    expect(lowFirst.tokenize('xyz')).toEqual(['x', 'yz</w>']);
    expect(highFirst.tokenize('xyz')).toEqual(['xy', 'z</w>']);
  });

  it('maps a token missing from the vocab to the unk id (eos)', () => {
    const files = tinyFiles();
    delete files.vocab['q</w>'];
    const t = makeClipTokenizer(files);
    expect(t.encode('q', { padding: 'none' })).toEqual([t.bosId, t.eosId, t.eosId]);
  });

  it('appends bos/eos after the largest id when the vocab lacks them', () => {
    const t = makeClipTokenizer(tinyFiles(TINY_MERGES, false));
    expect([t.vocabSize, t.bosId, t.eosId, t.padId]).toEqual([526, 524, 525, 525]);
  });

  it('uses a custom pad token', () => {
    const t = makeClipTokenizer({ ...tinyFiles(), padToken: '!', maxLength: 5 });
    expect(t.padId).toBe(0);
    expect(t.encode('cat')).toEqual([t.bosId, t.encode('cat', { padding: 'none' })[1], t.eosId, 0, 0]);
  });

  it('decode ∘ encode is the identity on lowercase ASCII words (property)', () => {
    fc.assert(
      fc.property(fc.array(word, { minLength: 0, maxLength: 6 }), (words) => {
        const text = words.join(' ');
        expect(tiny.decode(tiny.encode(text, { maxLength: 64 }))).toBe(text);
      }),
      { numRuns: 300 },
    );
  });

  it('output has at most maxLength ids, starts with bos and ends with eos before padding (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), fc.integer({ min: 2, max: 24 }), (text, maxLength) => {
        const raw = tiny.encode(text, { padding: 'none', maxLength });
        expect(raw.length).toBeLessThanOrEqual(maxLength);
        expect(raw[0]).toBe(bos);
        expect(raw[raw.length - 1]).toBe(eos);
        expect(raw.slice(1, -1).every((id) => id !== bos)).toBe(true);
        const padded = tiny.encode(text, { maxLength });
        expect(padded).toHaveLength(maxLength);
        expect(padded.slice(0, raw.length)).toEqual(raw);
        const long = tiny.encode(text, { padding: 'none', truncation: false });
        expect(raw).toEqual([...long.slice(0, Math.min(long.length, maxLength) - 1), eos]);
      }),
      { numRuns: 300 },
    );
  });

  it('whitespace runs are equivalent to one space ("a  b" == "a b") (property)', () => {
    const ws = fc.constantFrom(' ', '  ', '\t', '\n', '\r\n', '\u00A0', '\u3000', ' \t ');
    fc.assert(
      fc.property(fc.array(fc.tuple(word, ws), { minLength: 1, maxLength: 6 }), ws, (pairs, lead) => {
        const messy = lead + pairs.map(([w, s]) => w + s).join('');
        const clean = pairs.map(([w]) => w).join(' ');
        expect(tiny.encode(messy)).toEqual(tiny.encode(clean));
        expect(normalizeClipText(messy)).toBe(clean);
      }),
      { numRuns: 300 },
    );
    expect(tiny.encode('a  b')).toEqual(tiny.encode('a b'));
  });

  it('normalization is idempotent (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (s) => {
        const once = normalizeClipText(s);
        expect(normalizeClipText(once)).toBe(once);
      }),
      { numRuns: 500 },
    );
  });

  it('encodeBatch with longest padding: equal lengths, mask = unpadded lengths (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.array(word, { maxLength: 4 }).map((w) => w.join(' ')),
          { minLength: 1, maxLength: 5 },
        ),
        (texts) => {
          const { ids, attentionMask } = tiny.encodeBatch(texts, { padding: 'longest', maxLength: 64 });
          const raws = texts.map((t) => tiny.encode(t, { padding: 'none', maxLength: 64 }));
          const longest = Math.max(...raws.map((r) => r.length));
          ids.forEach((row, i) => {
            expect(row).toHaveLength(longest);
            expect(row.slice(0, raws[i].length)).toEqual(raws[i]);
            expect(attentionMask[i]).toEqual(row.map((_, j) => (j < raws[i].length ? 1 : 0)));
          });
        },
      ),
      { numRuns: 200 },
    );
  });

  it('rejects bad files and options with messages naming the parameter', () => {
    const files = tinyFiles();
    expect(() => makeClipTokenizer({ ...files, vocab: '{not json' })).toThrow(
      /files\.vocab must be the JSON text of vocab\.json/,
    );
    expect(() => makeClipTokenizer({ ...files, vocab: { a: 1.5 } })).toThrow(
      /files\.vocab\["a"\] must be an integer id >= 0, got 1\.5/,
    );
    expect(() => makeClipTokenizer({ ...files, vocab: { a: 0, b: 0 } })).toThrow(
      /ids must be unique: "a" and "b" both have id 0/,
    );
    expect(() => makeClipTokenizer({ ...files, merges: 'h e\nl l' })).toThrow(
      /files\.merges must start with a "#version: \.\.\." header/,
    );
    expect(() => makeClipTokenizer({ ...files, merges: '#version: 0.2\nh e\nl l x' })).toThrow(
      /files\.merges line 3 must be two tokens/,
    );
    expect(() => makeClipTokenizer({ ...files, maxLength: 1 })).toThrow(RangeError);
    expect(() => makeClipTokenizer({ ...files, maxLength: 1 })).toThrow(
      /files\.maxLength must be an integer in \[2, 65536\].*got 1/,
    );
    expect(() => makeClipTokenizer({ ...files, maxLength: 1e30 })).toThrow(
      /files\.maxLength must be an integer in \[2, 65536\]/,
    );
    expect(() => makeClipTokenizer({ ...files, padToken: '<pad>' })).toThrow(
      /files\.padToken "<pad>" is not in the vocab/,
    );
    expect(() => tiny.encode(42 as unknown as string)).toThrow(TypeError);
    expect(() => tiny.encode(42 as unknown as string)).toThrow(/text must be a string, got 42/);
    expect(() => tiny.tokenize(null as unknown as string)).toThrow(/text must be a string, got null/);
    expect(() => tiny.encode('a', { padding: 'longest' as 'none' })).toThrow(
      /opts\.padding must be one of 'max_length', 'none', got "longest"/,
    );
    expect(() => tiny.encode('a', { maxLength: 1 })).toThrow(/opts\.maxLength must be an integer in \[2, 65536\]/);
    expect(() => tiny.encode('a', { truncation: 'yes' as unknown as boolean })).toThrow(
      /opts\.truncation must be a boolean/,
    );
    expect(() => tiny.encodeBatch('abc' as unknown as string[])).toThrow(/texts must be an array of strings/);
    expect(() => tiny.encodeBatch(['a', 7 as unknown as string])).toThrow(/texts\[1\] must be a string, got 7/);
    expect(() => tiny.encodeBatch(['a'], { padding: 'none' as 'longest' })).toThrow(
      /opts\.padding must be one of 'max_length', 'longest'/,
    );
    expect(() => tiny.decode([0, 99999])).toThrow(/ids\[1\] must be a token id of this vocab, got 99999/);
  });
});
