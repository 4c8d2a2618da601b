/**
 * Checks of a generate job against its model folders that need no onnxruntime session, so a bad
 * job fails before any model loads (and before a server spends a slot on it). Each error starts
 * with the job field to blame (`models[1].kind: …`, `batch: …`) so that callers can point at it:
 *
 * - every folder holds model_index.json (a missing folder is left to the loader);
 * - a folder's amdm.json that declares a family declares the job's kind for it (an SD job on a
 *   MIGC folder, or a folder of an unknown family, would otherwise run as plain SD);
 * - a style image (`conditions.image`) is a PNG file;
 * - kind 'migc' runs with batch 1 only.
 */
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { familyKinds } from '../sd/family.ts';
import type { GenerateJob } from './job-schema.ts';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isFile() ?? false;
}

/** The `family` an amdm.json declares (undefined: none, or no amdm.json); a broken file is left to the loader. */
async function declaredFamily(folder: string): Promise<unknown> {
  try {
    const json = JSON.parse(await readFile(join(folder, 'amdm.json'), 'utf8')) as { family?: unknown };
    return json !== null && typeof json === 'object' ? json.family : undefined;
  } catch {
    return undefined;
  }
}

async function startsWithPng(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const head = new Uint8Array(8);
    const { bytesRead } = await fh.read(head, 0, 8, 0);
    return bytesRead === 8 && PNG_SIGNATURE.every((b, i) => head[i] === b);
  } finally {
    await fh.close();
  }
}

/** Throws the first problem, naming the field; `folderName(i)` says how the job named folder i. */
export async function precheckJob(job: GenerateJob, folderName = (i: number) => job.models[i].folder): Promise<void> {
  for (const [i, m] of job.models.entries()) {
    if (!(await stat(m.folder).catch(() => null))?.isDirectory()) continue; // the loader says so
    if (!(await isFile(join(m.folder, 'model_index.json'))))
      throw new RangeError(`models[${i}].folder: model folder ${folderName(i)} is missing model_index.json`);
    const kind = m.kind ?? 'sd';
    const family = await declaredFamily(m.folder);
    if (family !== undefined && family !== kind) {
      const known = familyKinds();
      throw new RangeError(
        `models[${i}].kind: the folder ${folderName(i)} declares "family": ${JSON.stringify(family)} in amdm.json, but the job runs it as kind '${kind}'` +
          (typeof family === 'string' && known.includes(family)
            ? `; set "kind": "${family}"`
            : `; that family is not one of the registered kinds (${known.join(', ')})`),
      );
    }
    const image = (m.conditions as { image?: unknown } | undefined)?.image;
    if (typeof image === 'string' && (await isFile(image)) && !(await startsWithPng(image)))
      throw new RangeError(
        `models[${i}].conditions.image: the style image ${JSON.stringify(image)} is not a PNG file (it does not start with the PNG signature)`,
      );
    if (kind === 'migc' && job.batch !== 1)
      throw new RangeError(
        `batch: kind 'migc' (models[${i}]) supports batch 1 only (MIGC's processor uses rows 0 and 1), got batch ${job.batch}`,
      );
  }
}
