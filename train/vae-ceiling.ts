/**
 * The evaluator's scores of VAE round trips (train/vae_roundtrip.py): the ceiling the shared VAE
 * puts on every mini-zoo model. Sample i of the training file is the scene of
 * `gaussianRng(seed, i)` (train/make-data.ts), so the scenes are re-drawn here, not stored.
 *
 * Usage: npx tsx train/vae-ceiling.ts <roundtrip.f32> --first 19000 [--seed 1]
 * Prints the rates, then which parts of the strict relation tests the round trips fail
 * (train/relation-failures.ts).
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { gaussianRng } from '../src/core/rng.ts';
import { evaluateScene, sampleSceneFrom, type SceneEvaluation } from '../src/toy/minimig/index.ts';
import { relationFailures } from './relation-failures.ts';

const IMAGE = 3 * 32 * 32;
const program = new Command()
  .argument('<file>', 'float32 [N,3,32,32] round trips from train/vae_roundtrip.py')
  .requiredOption('--first <i>', 'training-set index of the first round trip', (v) => Number.parseInt(v, 10))
  .option('--seed <s>', 'seed of the training file', (v) => Number.parseInt(v, 10), 1)
  .parse();
const [file] = program.args;
const { first, seed } = program.opts<{ first: number; seed: number }>();
if (!Number.isInteger(first) || first < 0) throw new RangeError(`--first must be an integer >= 0, got ${first}`);
const buf = readFileSync(file);
if (buf.byteLength % (4 * IMAGE) !== 0)
  throw new RangeError(`${file}: ${buf.byteLength} bytes is not a whole number of 3×32×32 float32 images`);
const images = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
const tallies = new Map<string, { ok: number; n: number }>();
const add = (key: string, ok: boolean) => {
  const t = tallies.get(key) ?? { ok: 0, n: 0 };
  t.ok += ok ? 1 : 0;
  t.n++;
  tallies.set(key, t);
};
const evals: SceneEvaluation[] = [];
for (let k = 0; k < images.length / IMAGE; k++) {
  const e = evaluateScene(sampleSceneFrom(gaussianRng(seed, first + k)), images.subarray(k * IMAGE, (k + 1) * IMAGE));
  for (const i of e.instances) add('instance', i.ok);
  for (const r of e.relations) add(`interaction: ${r.action}`, r.ok);
  add('style', e.style.ok);
  add('clean', e.clean.ok);
  evals.push(e);
}
for (const [key, { ok, n }] of tallies) {
  const p = ok / n;
  console.log(`${key.padEnd(26)} ${p.toFixed(3)} ± ${Math.sqrt((p * (1 - p)) / n).toFixed(3)}  (${n})`);
}
console.log(relationFailures(evals));
