/**
 * Writes the MiniMIG training set read by the Python trainers (train/*.py).
 *
 *   npx tsx train/make-data.ts --out train/data/minimig.bin --count N --seed S
 *   npx tsx train/make-data.ts --out train/data/minimig-small.bin --count 512 --seed 0   (smoke tests)
 *
 * Sample i is the scene of `gaussianRng(seed, i)` (then its style reference's phase from the same
 * generator), so the first k samples of a file do not depend on --count. Token ids come from the
 * pruned CLIP tokenizer in models/mini-zoo/tokenizer/ (ids identical to CLIP's on every world
 * string), 77 per text, [bos] ids [eos] padded with eos as the pipeline encodes prompts.
 *
 * File layout (little-endian, C order):
 *   bytes 0–7 "MINIMIG1"; bytes 8–11 uint32 header length H; H bytes of UTF-8 JSON:
 *   { version: 1, count, seed, maxInstances: 4, maxRelations: 3, tokens: 77,
 *     vocabulary: { shapes, colours, actions, textures, tints },
 *     arrays: { <name>: { dtype, shape, offset } } }
 *   then each array at its absolute, 8-byte-aligned offset. Arrays (N samples, I = 4, R = 3, A actions):
 *   image, image_nomarks, style_ref uint8 [N,3,32,32]; caption, caption_nocolour, caption_noaction,
 *   caption_nostyle uint16 [N,77]; n_inst uint8 [N]; boxes float32 [N,4,4] (xyxy in [0, 1], zeros
 *   past n_inst); shape, colour uint8 [N,4] (vocabulary indices, 0 past n_inst); phrase ("red
 *   circle"), phrase_nocolour ("circle") uint16 [N,4,77] (all eos past n_inst); n_rel uint8 [N];
 *   rel uint8 [N,3,3] = (subject, object, action index), zeros past n_rel; texture, tint uint8 [N];
 *   action_tokens uint16 [A,77]; empty_tokens uint16 [77] (the ids of "", the unconditional prompt).
 * The file is written to a temporary name and renamed when complete.
 */
import { open, rename, unlink } from 'node:fs/promises';
import { endianness } from 'node:os';
import { dirname } from 'node:path';
import { Command } from 'commander';
import { gaussianRng } from '../src/core/rng.ts';
import { ensureDir, tempPathFor } from '../src/io/files.ts';
import { intArg } from '../src/io/options.ts';
import { loadClipTokenizer } from '../src/sd/clip-tokenizer-files.ts';
import type { ClipTokenizer } from '../src/sd/clip-tokenizer.ts';
import {
  ACTIONS,
  COLOURS,
  IMAGE_SIZE,
  MAX_INSTANCES,
  MAX_RELATIONS,
  SHAPES,
  TEXTURES,
  TINTS,
  boxXyxy,
  caption,
  instancePhrase,
  renderScene,
  renderStyle,
  sampleReferencePhase,
  sampleSceneFrom,
  type CaptionVariant,
} from '../src/toy/minimig/index.ts';

export const MAGIC = 'MINIMIG1';
const TOKENS = 77;
const IMAGE = 3 * IMAGE_SIZE * IMAGE_SIZE;
const CHUNK = 1024;

type Dtype = 'uint8' | 'uint16' | 'float32';
type Typed = Uint8Array | Uint16Array | Float32Array;
const CTORS = { uint8: Uint8Array, uint16: Uint16Array, float32: Float32Array } as const;

/** Per-sample arrays: name, dtype and the shape of one sample's row. */
const SAMPLE_ARRAYS: readonly [string, Dtype, number[]][] = [
  ['image', 'uint8', [3, IMAGE_SIZE, IMAGE_SIZE]],
  ['image_nomarks', 'uint8', [3, IMAGE_SIZE, IMAGE_SIZE]],
  ['style_ref', 'uint8', [3, IMAGE_SIZE, IMAGE_SIZE]],
  ['caption', 'uint16', [TOKENS]],
  ['caption_nocolour', 'uint16', [TOKENS]],
  ['caption_noaction', 'uint16', [TOKENS]],
  ['caption_nostyle', 'uint16', [TOKENS]],
  ['n_inst', 'uint8', []],
  ['boxes', 'float32', [MAX_INSTANCES, 4]],
  ['shape', 'uint8', [MAX_INSTANCES]],
  ['colour', 'uint8', [MAX_INSTANCES]],
  ['phrase', 'uint16', [MAX_INSTANCES, TOKENS]],
  ['phrase_nocolour', 'uint16', [MAX_INSTANCES, TOKENS]],
  ['n_rel', 'uint8', []],
  ['rel', 'uint8', [MAX_RELATIONS, 3]],
  ['texture', 'uint8', []],
  ['tint', 'uint8', []],
];
const CAPTION_ARRAYS: readonly [string, CaptionVariant][] = [
  ['caption', 'full'],
  ['caption_nocolour', 'nocolour'],
  ['caption_noaction', 'noaction'],
  ['caption_nostyle', 'nostyle'],
];

const product = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);
const align8 = (n: number) => Math.ceil(n / 8) * 8;

interface Layout {
  header: Uint8Array;
  /** name → absolute byte offset. */
  offsets: Map<string, number>;
  size: number;
}

/** Header JSON and offsets; the JSON's length and the offsets depend on each other, so iterate to a fixed point. */
function layout(count: number, seed: number, globals: Map<string, { dtype: Dtype; shape: number[] }>): Layout {
  const specs: [string, Dtype, number[]][] = [
    ...SAMPLE_ARRAYS.map(([n, d, s]) => [n, d, [count, ...s]] as [string, Dtype, number[]]),
    ...[...globals].map(([n, g]) => [n, g.dtype, g.shape] as [string, Dtype, number[]]),
  ];
  let start = 0;
  for (;;) {
    const offsets = new Map<string, number>();
    const arrays: Record<string, { dtype: Dtype; shape: number[]; offset: number }> = {};
    let at = start;
    for (const [name, dtype, shape] of specs) {
      at = align8(at);
      offsets.set(name, at);
      arrays[name] = { dtype, shape, offset: at };
      at += product(shape) * CTORS[dtype].BYTES_PER_ELEMENT;
    }
    const json = {
      version: 1,
      count,
      seed,
      maxInstances: MAX_INSTANCES,
      maxRelations: MAX_RELATIONS,
      tokens: TOKENS,
      vocabulary: { shapes: SHAPES, colours: COLOURS, actions: ACTIONS, textures: TEXTURES, tints: TINTS },
      arrays,
    };
    const header = new TextEncoder().encode(JSON.stringify(json));
    const need = align8(12 + header.length);
    if (need === start) return { header, offsets, size: at };
    start = need;
  }
}

/** Chunk buffers of the per-sample arrays, reused for every chunk. */
function chunkBuffers(): Map<string, Typed> {
  return new Map(SAMPLE_ARRAYS.map(([name, dtype, shape]) => [name, new CTORS[dtype](CHUNK * product(shape))]));
}

/** Fills row k of every chunk buffer with sample `index`. */
function fillSample(buf: Map<string, Typed>, k: number, seed: number, index: number, tok: ClipTokenizer): void {
  const rng = gaussianRng(seed, index);
  const scene = sampleSceneFrom(rng);
  const reference = { ...scene.style, phase: sampleReferencePhase(rng, scene.style) };
  const get = <T extends Typed>(name: string) => buf.get(name) as T;
  renderScene(scene, { out: get<Uint8Array>('image').subarray(k * IMAGE, (k + 1) * IMAGE) });
  renderScene(scene, { marks: false, out: get<Uint8Array>('image_nomarks').subarray(k * IMAGE, (k + 1) * IMAGE) });
  renderStyle(reference, { out: get<Uint8Array>('style_ref').subarray(k * IMAGE, (k + 1) * IMAGE) });
  for (const [name, variant] of CAPTION_ARRAYS)
    get<Uint16Array>(name).set(tok.encode(caption(scene, variant)), k * TOKENS);
  const n = scene.instances.length;
  get<Uint8Array>('n_inst')[k] = n;
  const boxes = get<Float32Array>('boxes');
  const shape = get<Uint8Array>('shape');
  const colour = get<Uint8Array>('colour');
  const phrase = get<Uint16Array>('phrase');
  const phraseNoColour = get<Uint16Array>('phrase_nocolour');
  boxes.fill(0, k * MAX_INSTANCES * 4, (k + 1) * MAX_INSTANCES * 4);
  shape.fill(0, k * MAX_INSTANCES, (k + 1) * MAX_INSTANCES);
  colour.fill(0, k * MAX_INSTANCES, (k + 1) * MAX_INSTANCES);
  phrase.fill(tok.eosId, k * MAX_INSTANCES * TOKENS, (k + 1) * MAX_INSTANCES * TOKENS);
  phraseNoColour.fill(tok.eosId, k * MAX_INSTANCES * TOKENS, (k + 1) * MAX_INSTANCES * TOKENS);
  scene.instances.forEach((inst, i) => {
    const row = k * MAX_INSTANCES + i;
    boxes.set(boxXyxy(inst.box), row * 4);
    shape[row] = SHAPES.indexOf(inst.shape);
    colour[row] = COLOURS.indexOf(inst.colour);
    phrase.set(tok.encode(instancePhrase(inst)), row * TOKENS);
    phraseNoColour.set(tok.encode(instancePhrase(inst, { withColour: false })), row * TOKENS);
  });
  get<Uint8Array>('n_rel')[k] = scene.relations.length;
  const rel = get<Uint8Array>('rel');
  rel.fill(0, k * MAX_RELATIONS * 3, (k + 1) * MAX_RELATIONS * 3);
  scene.relations.forEach((r, j) =>
    rel.set([r.subject, r.object, ACTIONS.indexOf(r.action)], (k * MAX_RELATIONS + j) * 3),
  );
  get<Uint8Array>('texture')[k] = TEXTURES.indexOf(scene.style.texture);
  get<Uint8Array>('tint')[k] = TINTS.indexOf(scene.style.tint);
}

const bytes = (a: Typed, from = 0, to = a.length) =>
  new Uint8Array(a.buffer, a.byteOffset + from * a.BYTES_PER_ELEMENT, (to - from) * a.BYTES_PER_ELEMENT);

/** Writes `count` samples of `seed` to `out` (atomically); `tok` must be the world's CLIP tokenizer. */
export async function writeTrainingSet(out: string, count: number, seed: number, tok: ClipTokenizer): Promise<void> {
  if (endianness() !== 'LE')
    throw new Error('make-data writes little-endian arrays from typed arrays: run it on a little-endian machine');
  const globals = new Map<string, { dtype: Dtype; shape: number[]; data: Uint16Array }>([
    [
      'action_tokens',
      {
        dtype: 'uint16',
        shape: [ACTIONS.length, TOKENS],
        data: Uint16Array.from(ACTIONS.flatMap((a) => tok.encode(a))),
      },
    ],
    ['empty_tokens', { dtype: 'uint16', shape: [TOKENS], data: Uint16Array.from(tok.encode('')) }],
  ]);
  const lay = layout(count, seed, globals);
  await ensureDir(dirname(out));
  const tmp = tempPathFor(out);
  const fh = await open(tmp, 'wx', 0o644);
  try {
    const head = new Uint8Array(12);
    head.set(new TextEncoder().encode(MAGIC));
    new DataView(head.buffer).setUint32(8, lay.header.length, true);
    await fh.write(head, 0, 12, 0);
    await fh.write(lay.header, 0, lay.header.length, 12);
    for (const [name, g] of globals) await fh.write(bytes(g.data), 0, g.data.byteLength, lay.offsets.get(name)!);
    const buf = chunkBuffers();
    for (let start = 0; start < count; start += CHUNK) {
      const m = Math.min(CHUNK, count - start);
      for (let k = 0; k < m; k++) fillSample(buf, k, seed, start + k, tok);
      for (const [name, , shape] of SAMPLE_ARRAYS) {
        const row = product(shape);
        const data = bytes(buf.get(name)!, 0, m * row);
        await fh.write(data, 0, data.length, lay.offsets.get(name)! + start * row * buf.get(name)!.BYTES_PER_ELEMENT);
      }
    }
    await fh.truncate(lay.size);
    await fh.sync();
    await fh.close();
    await rename(tmp, out);
  } catch (e) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

async function main(): Promise<void> {
  const opts = new Command()
    .name('make-data')
    .description(
      'Writes the MiniMIG training set (renders, captions, phrases, boxes, relations, style references) for train/*.py',
    )
    .requiredOption('--out <file>', 'output file, e.g. train/data/minimig.bin')
    .requiredOption('--count <n>', 'number of samples', intArg(1, 2_000_000))
    .option('--seed <seed>', 'seed of the scenes', intArg(0, 2 ** 32 - 1), 0)
    .option(
      '--tokenizer <dir>',
      'CLIP tokenizer folder (the pruned one ships with the zoo)',
      'models/mini-zoo/tokenizer',
    )
    .showHelpAfterError()
    .parse()
    .opts<{ out: string; count: number; seed: number; tokenizer: string }>();
  const t0 = performance.now();
  const tok = await loadClipTokenizer(opts.tokenizer);
  await writeTrainingSet(opts.out, opts.count, opts.seed, tok);
  console.log(
    `wrote ${opts.out}: ${opts.count} samples, seed ${opts.seed}, ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
}

if (process.argv[1]?.endsWith('make-data.ts')) {
  main().catch((e: unknown) => {
    console.error(`make-data: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
  });
}
