/**
 * What a `amdm bench coco-mig` run (run.ts) has to do, before any model is loaded: the entries
 * of mig_bench.json (dataset.ts) selected, sharded and validated against both families, each
 * image's seed, and the images of the shard still missing or unreadable.
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { checkInt } from '../../core/validate.ts';
import { decodePNG } from '../../image/png.ts';
import { cocoMigFileName, parseShard, shardItems, type CocoMigEntry, type Shard } from '../../sd/coco-mig.ts';
import { checkEntry, readCocoMigBench, selectKeys } from './dataset.ts';
import type { CocoMigOptions } from './settings.ts';

/** Seed of one image: seed + key for numeric keys, else seed + the key's FNV-1a hash. */
export function cocoMigSeed(seed: number, key: string): number {
  if (/^\d+$/.test(key)) return seed + Number(key);
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193) >>> 0;
  return seed + h;
}

async function readable(path: string): Promise<boolean> {
  try {
    await decodePNG(new Uint8Array(await readFile(path)));
    return true;
  } catch {
    return false;
  }
}

/** The entries of this shard, in the bench's order, and the shard. */
export interface CocoMigPlan {
  entries: CocoMigEntry[];
  shard: Shard;
}

/** Select, shard and validate; nothing is loaded or run. */
export async function planCocoMig(opts: CocoMigOptions): Promise<CocoMigPlan> {
  if (opts === null || typeof opts !== 'object') throw new TypeError('options must be an object');
  for (const k of ['bench', 'output', 'interact', 'migc'] as const) {
    if (typeof opts[k] !== 'string' || opts[k] === '')
      throw new TypeError(`${k} must be a non-empty path, got ${JSON.stringify(opts[k])}`);
  }
  const shard = parseShard(opts.shard, opts.env ?? process.env, opts.shardCount);
  let entries = await readCocoMigBench(opts.bench);
  if (opts.keys !== undefined) entries = selectKeys(entries, opts.keys, opts.bench);
  if (opts.limit !== undefined) entries = entries.slice(0, checkInt('limit', opts.limit, 1));
  entries = shardItems(entries, shard);
  for (const e of entries) checkEntry(e, opts);
  return { entries, shard };
}

/** An image of the shard still to make: missing, or present but unreadable (`again`). */
export interface CocoMigTodo {
  entry: CocoMigEntry;
  path: string;
  again: boolean;
}

/** Resume: the images left to make, and the paths already present and readable. */
export async function pendingImages(
  outputDir: string,
  entries: readonly CocoMigEntry[],
): Promise<{ todo: CocoMigTodo[]; skipped: string[] }> {
  const todo: CocoMigTodo[] = [];
  const skipped: string[] = [];
  for (const entry of entries) {
    const path = join(outputDir, cocoMigFileName(entry));
    if (existsSync(path)) {
      if (await readable(path)) skipped.push(path);
      else todo.push({ entry, path, again: true });
    } else todo.push({ entry, path, again: false });
  }
  return { todo, skipped };
}
