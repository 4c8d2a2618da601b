/**
 * What a `amdm bench coco-mig` run (coco-mig.ts) has to do, before any model is loaded: the
 * entries of mig_bench.json selected, sharded and validated against both families, and the
 * images of the shard still missing or unreadable.
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkInt } from '../core/validate.ts';
import { decodePNG } from '../image/png.ts';
import {
  cocoMigFileName,
  cocoMigInteract,
  cocoMigMigc,
  parseCocoMig,
  parseShard,
  shardItems,
  type CocoMigEntry,
  type Shard,
} from '../sd/coco-mig.ts';
import { interactDiffusionFamily } from '../sd/families/interactdiffusion.ts';
import { migcFamily } from '../sd/families/migc.ts';
import type { CocoMigOptions } from './coco-mig-settings.ts';

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

/** Select, shard and validate; nothing is loaded or run. */
export async function planCocoMig(opts: CocoMigOptions): Promise<{ entries: CocoMigEntry[]; shard: Shard }> {
  if (opts === null || typeof opts !== 'object') throw new TypeError('options must be an object');
  for (const k of ['bench', 'output', 'interact', 'migc'] as const) {
    if (typeof opts[k] !== 'string' || opts[k] === '')
      throw new TypeError(`${k} must be a non-empty path, got ${JSON.stringify(opts[k])}`);
  }
  const shard = parseShard(opts.shard, opts.env ?? process.env, opts.shardCount);
  let entries = parseCocoMig(await readBench(opts.bench), opts.bench);
  if (opts.keys !== undefined) entries = selectKeys(entries, opts.keys, opts.bench);
  if (opts.limit !== undefined) entries = entries.slice(0, checkInt('limit', opts.limit, 1));
  entries = shardItems(entries, shard);
  for (const e of entries) checkEntry(e, opts);
  return { entries, shard };
}

/** mig_bench.json, parsed. */
async function readBench(bench: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(bench, 'utf8');
  } catch (e) {
    throw new Error(`bench: cannot read ${resolve(bench)}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new SyntaxError(`bench: ${resolve(bench)} is not valid JSON: ${(e as Error).message}`);
  }
}

/** The entries with these keys (each must be in the bench), in the bench's order. */
function selectKeys(entries: CocoMigEntry[], keys: readonly string[], bench: string): CocoMigEntry[] {
  const have = new Set(entries.map((e) => e.key));
  const missing = keys.filter((k) => !have.has(k));
  if (missing.length) throw new RangeError(`keys: ${missing.map((k) => JSON.stringify(k)).join(', ')} not in ${bench}`);
  const want = new Set(keys);
  return entries.filter((e) => want.has(e.key));
}

/** Checks that an entry makes valid conditions for both families. */
function checkEntry(e: CocoMigEntry, opts: CocoMigOptions): void {
  for (const [fam, c] of [
    [interactDiffusionFamily, cocoMigInteract(e)],
    [migcFamily, cocoMigMigc(e, opts.migcSteps)],
  ] as const) {
    const r = fam.conditionSchema.safeParse(c);
    if (!r.success)
      throw new RangeError(
        `${opts.bench}: entry "${e.key}" does not make valid ${fam.kind} conditions: ${r.error.issues[0].message}`,
      );
  }
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
