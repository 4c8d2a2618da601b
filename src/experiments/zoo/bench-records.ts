/**
 * The run folder of `amdm zoo bench` (bench.ts): one record per image,
 * `records/<method>/<prompt id>-r<k>.json`, and `settings.json`, which refuses a rerun with other
 * settings.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SceneEvaluation } from '../../toy/minimig/index.ts';
import { createFileAtomic, jsonText } from '../../io/files.ts';

/** One image's record. */
export interface ZooBenchRecord {
  method: string;
  id: string;
  level: number;
  replicate: number;
  seed: number;
  evaluation: SceneEvaluation;
  /** UNet calls of all models for this image. */
  calls: number;
  /** Wall time of the generation (load, sample, decode), seconds. */
  seconds: number;
}

/** A method's folder name: its name with the characters of `@rule=…,w=…` settings replaced by '_'. */
export const methodFolder = (method: string) => method.replace(/[^A-Za-z0-9+.:_-]/g, '_');

/** Where the record of `method`'s image of prompt `id` with noise seed k lives. */
export const recordPath = (out: string, method: string, id: string, k: number) =>
  join(out, 'records', methodFolder(method), `${id}-r${k}.json`);

/** The record at `path`, or null when it is missing or does not parse (then it is made again). */
export async function readRecord(path: string): Promise<ZooBenchRecord | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as ZooBenchRecord;
  } catch {
    return null;
  }
}

/** Records the settings in the folder, or checks them against the recorded ones (naming what differs). */
export async function claimSettings(out: string, settings: Record<string, unknown>): Promise<void> {
  const file = join(out, 'settings.json');
  if (await createFileAtomic(file, jsonText({ command: 'zoo bench', settings }))) return;
  // runs recorded before --noise-seed existed drew their images with noise seed 0
  const recorded: Record<string, unknown> = {
    noiseSeed: 0,
    ...(JSON.parse(await readFile(file, 'utf8')) as { settings: Record<string, unknown> }).settings,
  };
  const diffs = Object.keys(settings)
    .filter((k) => JSON.stringify(recorded[k]) !== JSON.stringify(settings[k]))
    .map((k) => `${k} ${JSON.stringify(settings[k])} here, ${JSON.stringify(recorded[k])} there`);
  if (diffs.length)
    throw new RangeError(
      `${out} holds a run with other settings (${diffs.join('; ')}); resume with the same settings or give another --out`,
    );
}
