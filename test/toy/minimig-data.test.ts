import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gaussianRng } from '../../src/core/rng.ts';
import { loadClipTokenizer } from '../../src/sd/clip-tokenizer-files.ts';
import {
  ACTIONS,
  boxXyxy,
  caption,
  instancePhrase,
  renderScene,
  renderStyle,
  sampleReferencePhase,
  sampleSceneFrom,
} from '../../src/toy/minimig/index.ts';
import { writeTrainingSet } from '../../train/make-data.ts';
import { projectRoot } from '../helpers/data.ts';

const dir = mkdtempSync(join(tmpdir(), 'minimig-data-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Header {
  version: number;
  count: number;
  seed: number;
  maxInstances: number;
  maxRelations: number;
  tokens: number;
  vocabulary: Record<string, string[]>;
  arrays: Record<string, { dtype: 'uint8' | 'uint16' | 'float32'; shape: number[]; offset: number }>;
}

function readFile(path: string): {
  header: Header;
  array: (name: string) => Uint8Array | Uint16Array | Float32Array;
  size: number;
} {
  const buf = readFileSync(path);
  expect(buf.subarray(0, 8).toString('ascii')).toBe('MINIMIG1');
  const h = buf.readUInt32LE(8);
  const header = JSON.parse(buf.subarray(12, 12 + h).toString('utf8')) as Header;
  const ctor = { uint8: Uint8Array, uint16: Uint16Array, float32: Float32Array };
  const array = (name: string) => {
    const a = header.arrays[name];
    const n = a.shape.reduce((x, y) => x * y, 1);
    const copy = Uint8Array.from(buf.subarray(a.offset, a.offset + n * ctor[a.dtype].BYTES_PER_ELEMENT));
    return new ctor[a.dtype](copy.buffer);
  };
  return { header, array, size: buf.length };
}

describe('train/make-data.ts', async () => {
  const tok = await loadClipTokenizer(join(projectRoot, 'models', 'mini-zoo', 'tokenizer'));
  const out = join(dir, 'set.bin');
  await writeTrainingSet(out, 37, 5, tok);
  const file = readFile(out);
  const { header, array } = file;

  it('writes the documented header and 8-byte-aligned arrays that end the file', () => {
    expect(header).toMatchObject({ version: 1, count: 37, seed: 5, maxInstances: 4, maxRelations: 3, tokens: 77 });
    expect(header.vocabulary.actions).toEqual([...ACTIONS]);
    expect(header.vocabulary.textures).toEqual(['plain', 'stripes', 'checker', 'dots']);
    expect(header.arrays.image).toMatchObject({ dtype: 'uint8', shape: [37, 3, 32, 32] });
    expect(header.arrays.phrase).toMatchObject({ dtype: 'uint16', shape: [37, 4, 77] });
    expect(header.arrays.boxes).toMatchObject({ dtype: 'float32', shape: [37, 4, 4] });
    expect(header.arrays.rel).toMatchObject({ dtype: 'uint8', shape: [37, 3, 3] });
    expect(header.arrays.action_tokens).toMatchObject({ dtype: 'uint16', shape: [2, 77] });
    const size = { uint8: 1, uint16: 2, float32: 4 };
    let end = 0;
    for (const a of Object.values(header.arrays)) {
      expect(a.offset % 8).toBe(0);
      end = Math.max(end, a.offset + a.shape.reduce((x, y) => x * y, 1) * size[a.dtype]);
    }
    expect(file.size).toBe(end);
    expect(readdirSync(dir)).toEqual(['set.bin']); // no temporary file left
  });

  it('sample i is the scene of gaussianRng(seed, i), rendered, captioned and tokenized', () => {
    const image = array('image');
    const nomarks = array('image_nomarks');
    const ref = array('style_ref');
    const cap = array('caption_noaction');
    const boxes = array('boxes');
    const phrase = array('phrase_nocolour');
    const rel = array('rel');
    for (const i of [0, 17, 36]) {
      const rng = gaussianRng(5, i);
      const scene = sampleSceneFrom(rng);
      const style = { ...scene.style, phase: sampleReferencePhase(rng, scene.style) };
      expect(image.subarray(i * 3072, (i + 1) * 3072)).toEqual(renderScene(scene));
      expect(nomarks.subarray(i * 3072, (i + 1) * 3072)).toEqual(renderScene(scene, { marks: false }));
      expect(ref.subarray(i * 3072, (i + 1) * 3072)).toEqual(renderStyle(style));
      expect([...cap.subarray(i * 77, (i + 1) * 77)]).toEqual(tok.encode(caption(scene, 'noaction')));
      expect(array('n_inst')[i]).toBe(scene.instances.length);
      expect(array('n_rel')[i]).toBe(scene.relations.length);
      for (let k = 0; k < 4; k++) {
        const inst = scene.instances[k];
        expect([...boxes.subarray((i * 4 + k) * 4, (i * 4 + k + 1) * 4)]).toEqual(
          inst ? boxXyxy(inst.box) : [0, 0, 0, 0],
        );
        const row = [...phrase.subarray((i * 4 + k) * 77, (i * 4 + k + 1) * 77)];
        expect(row).toEqual(inst ? tok.encode(instancePhrase(inst, { withColour: false })) : new Array(77).fill(49407));
      }
      scene.relations.forEach((r, j) =>
        expect([...rel.subarray((i * 3 + j) * 3, (i * 3 + j + 1) * 3)]).toEqual([
          r.subject,
          r.object,
          ACTIONS.indexOf(r.action),
        ]),
      );
    }
    expect([...array('empty_tokens')]).toEqual([49406, ...new Array(76).fill(49407)]);
    expect([...array('action_tokens').subarray(0, 4)]).toEqual([49406, 11059, 531, 49407]); // "linked to"
  });

  it('the command line rejects bad arguments with the allowed range', () => {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'train/make-data.ts', '--out', join(dir, 'x.bin'), '--count', '0'],
      {
        cwd: projectRoot,
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(
      "option '--count <n>' argument '0' is invalid. must be an integer in [1, 2000000], got '0'",
    );
    expect(readdirSync(dir)).toEqual(['set.bin']);
  });
});
