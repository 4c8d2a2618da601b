/**
 * The COCO-MIG benchmark file of `amdm bench coco-mig`: mig_bench.json (800 entries) read and
 * parsed (src/sd/coco-mig.ts), entries selected by key, and each entry checked against the two
 * families' condition schemas before any model is loaded.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { cocoMigInteract, cocoMigMigc, parseCocoMig, type CocoMigEntry } from '../../sd/coco-mig.ts';
import { interactDiffusionFamily } from '../../sd/families/interactdiffusion.ts';
import { migcFamily } from '../../sd/families/migc.ts';
import type { CocoMigOptions } from './settings.ts';

/** mig_bench.json, read and parsed into its entries (src/sd/coco-mig.ts). */
export async function readCocoMigBench(bench: string): Promise<CocoMigEntry[]> {
  let text: string;
  try {
    text = await readFile(bench, 'utf8');
  } catch (e) {
    throw new Error(`bench: cannot read ${resolve(bench)}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SyntaxError(`bench: ${resolve(bench)} is not valid JSON: ${(e as Error).message}`);
  }
  return parseCocoMig(json, bench);
}

/** The entries with these keys (each must be in the bench), in the bench's order. */
export function selectKeys(entries: CocoMigEntry[], keys: readonly string[], bench: string): CocoMigEntry[] {
  const have = new Set(entries.map((e) => e.key));
  const missing = keys.filter((k) => !have.has(k));
  if (missing.length) throw new RangeError(`keys: ${missing.map((k) => JSON.stringify(k)).join(', ')} not in ${bench}`);
  const want = new Set(keys);
  return entries.filter((e) => want.has(e.key));
}

/** Checks that an entry makes valid conditions for both families. */
export function checkEntry(e: CocoMigEntry, opts: Pick<CocoMigOptions, 'bench' | 'migcSteps'>): void {
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
