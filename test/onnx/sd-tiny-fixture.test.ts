import { readdir, readFile, writeFile, mkdir, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  parseSdTinyArgs,
  sdTinyFiles,
  SD_TINY_VARIANTS,
  writeSdTinyFolder,
  SD15_SCHEDULER_CONFIG,
} from '../../fixtures/sd-tiny.ts';
import { byteChars, tinyTokenizer, TINY_MERGES } from '../../fixtures/sd-tiny-tokenizer.ts';
import { tmpFolders } from './tmp-folders.ts';

const tmp = tmpFolders();
afterAll(() => tmp.cleanup());
const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(relative(dir, join(e.parentPath, e.name)).split('\\').join('/'));
  }
  return out.sort();
}

describe('sd-tiny generator', () => {
  it('gives the same bytes twice for every variant', () => {
    for (const v of Object.values(SD_TINY_VARIANTS)) {
      const a = sdTinyFiles(v);
      const b = sdTinyFiles(v);
      expect([...a.keys()]).toEqual([...b.keys()]);
      for (const [k, bytes] of a) expect(Buffer.from(bytes).equals(Buffer.from(b.get(k)!))).toBe(true);
    }
  });

  it('gives different weights for different seeds, same layout', () => {
    const a = sdTinyFiles({ seed: 1 });
    const b = sdTinyFiles({ seed: 2 });
    expect([...a.keys()]).toEqual([...b.keys()]);
    expect(Buffer.from(a.get('unet/model.onnx')!).equals(Buffer.from(b.get('unet/model.onnx')!))).toBe(false);
    expect(text(a.get('tokenizer/vocab.json'))).toBe(text(b.get('tokenizer/vocab.json')));
  });

  it('writes exactly the optimum layout (and the output manifest), external data named per option', async () => {
    const base = [
      '.amdm-output.json',
      'model_index.json',
      'scheduler/scheduler_config.json',
      'text_encoder/model.onnx',
      'tokenizer/merges.txt',
      'tokenizer/special_tokens_map.json',
      'tokenizer/tokenizer_config.json',
      'tokenizer/vocab.json',
      'unet/model.onnx',
      'vae_decoder/model.onnx',
    ];
    expect(await listFiles(await tmp.sdTiny())).toEqual(base);
    expect(await listFiles(await tmp.sdTiny({ externalData: 'model.onnx_data' }))).toEqual(
      [...base, 'unet/model.onnx_data'].sort(),
    );
    expect(await listFiles(await tmp.sdTiny({ externalData: 'weights.pb' }))).toEqual(
      [...base, 'unet/weights.pb'].sort(),
    );
    expect(await listFiles(await tmp.sdTiny({ boxes: true }))).toEqual([...base, 'amdm.json'].sort());
  });

  it('replaces a folder it wrote atomically (no staging folder left), never deletes a file it did not write, and refuses a foreign one', async () => {
    const dir = await tmp.path('replace');
    await writeSdTinyFolder(dir);
    await writeFile(join(dir, 'unet', 'stale.txt'), 'mine');
    await expect(writeSdTinyFolder(dir, { externalData: 'weights.pb' })).rejects.toThrow(
      /holds files that its \.amdm-output\.json does not list: unet\/stale\.txt/,
    );
    expect(await listFiles(dir)).toContain('unet/stale.txt');
    await rm(join(dir, 'unet', 'stale.txt'));
    await writeSdTinyFolder(dir, { externalData: 'weights.pb' });
    expect(await listFiles(dir)).toContain('unet/weights.pb');
    const siblings = await readdir(join(dir, '..'));
    expect(siblings.filter((s) => s.includes('.staging-') || s.includes('.old-'))).toEqual([]);
    const foreign = await tmp.path('foreign');
    await mkdir(foreign);
    await writeFile(join(foreign, 'notes.txt'), 'mine');
    await expect(writeSdTinyFolder(foreign)).rejects.toThrow(/already holds files that amdm did not write/);
    expect(await listFiles(foreign)).toEqual(['notes.txt']);
  });

  it('has a byte-level CLIP-style vocab: 256 bytes, 256 with </w>, merges, then the two specials', () => {
    const files = sdTinyFiles();
    const vocab = JSON.parse(text(files.get('tokenizer/vocab.json'))) as Record<string, number>;
    const n = 512 + TINY_MERGES.length + 2;
    expect(Object.keys(vocab).length).toBe(n);
    expect(tinyTokenizer().vocabSize).toBe(n);
    expect(vocab['!']).toBe(0);
    expect(vocab['a']).toBe(64); // as in CLIP's vocab
    expect(vocab['a</w>']).toBe(256 + 64);
    expect(vocab['Ā']).toBe(188); // byte 0x00 maps to U+0100, first of the non-printable block
    expect(vocab['the</w>']).toBe(513);
    expect(vocab['<|startoftext|>']).toBe(n - 2);
    expect(vocab['<|endoftext|>']).toBe(n - 1);
    expect(new Set(byteChars()).size).toBe(256);
    const merges = text(files.get('tokenizer/merges.txt')).split('\n');
    expect(merges[0]).toBe('#version: 0.2');
    expect(merges.slice(1, -1)).toEqual([...TINY_MERGES]);
    expect(TINY_MERGES.length).toBeGreaterThanOrEqual(24);
    const config = JSON.parse(text(files.get('tokenizer/tokenizer_config.json')));
    expect(config.model_max_length).toBe(77);
    expect(config.pad_token).toBe('<|endoftext|>');
  });

  it('writes the SD 1.x DDIM scheduler config', () => {
    const cfg = JSON.parse(text(sdTinyFiles().get('scheduler/scheduler_config.json')));
    expect(cfg).toMatchObject({
      _class_name: 'DDIMScheduler',
      beta_schedule: 'scaled_linear',
      beta_start: 0.00085,
      beta_end: 0.012,
      num_train_timesteps: 1000,
      set_alpha_to_one: false,
      steps_offset: 1,
      prediction_type: 'epsilon',
      clip_sample: false,
    });
    expect(cfg).toEqual({ ...SD15_SCHEDULER_CONFIG });
  });

  it('validates options and CLI arguments with messages naming them', () => {
    expect(() => sdTinyFiles({ timestep: 'int32' as never })).toThrow(
      "timestep must be one of 'float32-scalar', 'int64-steps', 'float32-batch', got \"int32\"",
    );
    expect(() => sdTinyFiles({ seed: -1 })).toThrow('seed must be an integer in [0, 65535], got -1');
    expect(parseSdTinyArgs(['out', '--variant', 'diffusers-legacy', '--dtype', 'float16'])).toEqual({
      outDir: 'out',
      options: { ids: 'int32', timestep: 'float32-batch', externalData: 'weights.pb', dtype: 'float16' },
    });
    expect(() => parseSdTinyArgs(['out', '--variant', 'nope'])).toThrow(
      '--variant must be one of optimum, optimum-legacy, diffusers-legacy, fp16, boxes',
    );
    expect(() => parseSdTinyArgs([])).toThrow(/^usage: sd-tiny.ts <outDir>/);
    expect(() => parseSdTinyArgs(['out', '--bogus'])).toThrow('unknown option --bogus');
  });

  it('keeps the written files equal to sdTinyFiles', async () => {
    const opts = { externalData: 'model.onnx_data' as const, seed: 3 };
    const dir = await tmp.sdTiny(opts);
    for (const [rel, bytes] of sdTinyFiles(opts)) {
      expect(Buffer.from(await readFile(join(dir, rel))).equals(Buffer.from(bytes))).toBe(true);
    }
  });
});
