/**
 * `amdm zoo rescore <run>`: scores the images of a finished `amdm zoo bench` run folder (one run
 * with `--images`) again with the current MiniMIG evaluator, rewrites every record's evaluation
 * (atomically) and writes the summary again. The PNGs hold the exact bytes the evaluator read
 * (8-bit RGB), so a rescored record equals the one a new run with the same settings would write,
 * without generating anything. A run with records still missing is rescored but gets no summary.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { decodePNG } from '../../image/png.ts';
import { evaluateScene, minimigPromptSet } from '../../toy/minimig/index.ts';
import { jsonText, writeFileAtomic } from '../../io/files.ts';
import { methodRun, resolveMethod, zooKinds } from './methods.ts';
import { ZOO_BENCH_DEFAULTS, runZooBench, type ZooBenchOptions, type ZooBenchResult } from './bench.ts';
import { methodFolder, recordPath, type ZooBenchRecord } from './bench-records.ts';
import { unitImageFromRgba } from './scene.ts';

interface RecordedSettings {
  methods: string[];
  levels: number[];
  perLevel: number;
  seeds: number;
  promptSeed: number;
  noiseSeed?: number;
  steps: number;
  aggregateSteps: number;
  eta: number;
  guidance: number;
}

/** Rescores every record of the run folder `out` from its images; resolves to the new summary. */
export async function rescoreZooBench(
  out: string,
  o: Pick<ZooBenchOptions, 'zoo' | 'log'> = {},
): Promise<{ rescored: number; missing: number; summary: ZooBenchResult | null }> {
  const file = join(out, 'settings.json');
  if (!existsSync(file)) throw new RangeError(`<run>: ${out} holds no settings.json (not a zoo bench run folder)`);
  const { command, settings } = JSON.parse(await readFile(file, 'utf8')) as {
    command: string;
    settings: RecordedSettings;
  };
  if (command !== 'zoo bench') throw new RangeError(`<run>: ${out} is a '${command}' folder, not a 'zoo bench' one`);
  const prompts = minimigPromptSet({ perLevel: settings.perLevel, seed: settings.promptSeed, levels: settings.levels });
  const zoo = resolve(o.zoo ?? ZOO_BENCH_DEFAULTS.zoo);
  const kinds = await zooKinds(zoo, settings.methods);
  let rescored = 0;
  let missing = 0;
  for (const method of settings.methods) {
    for (const p of prompts) {
      if (methodRun(resolveMethod(method), kinds, zoo, p, '') === null) continue;
      for (let k = 0; k < settings.seeds; k++) {
        const recPath = recordPath(out, method, p.id, k);
        if (!existsSync(recPath)) {
          missing++;
          continue;
        }
        const png = join(out, 'images', methodFolder(method), `${p.id}-r${k}.png`);
        if (!existsSync(png))
          throw new RangeError(`<run>: ${png} is missing; only a run made with --images can be rescored`);
        const rec = JSON.parse(await readFile(recPath, 'utf8')) as ZooBenchRecord;
        const image = unitImageFromRgba(await decodePNG(new Uint8Array(await readFile(png))));
        await writeFileAtomic(recPath, jsonText({ ...rec, evaluation: evaluateScene(p.scene, image) }));
        rescored++;
      }
    }
  }
  // an unfinished run gets no summary here (runZooBench would generate the missing images)
  if (missing > 0) return { rescored, missing, summary: null };
  const { noiseSeed = 0, ...rest } = settings;
  const result = await runZooBench({ ...rest, noiseSeed, zoo, out, log: o.log });
  return { rescored, missing, summary: result };
}
