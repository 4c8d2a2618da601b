/**
 * A job file as `amdm generate` reads it: read, validated (job-schema.ts) and resolved — every
 * relative path in it (model folders, the files their conditions name, the output) made absolute
 * against the job file's folder, whatever the working folder.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { describe } from '../core/validate.ts';
import type { Backend, Device } from '../onnx/session.ts';
import { parseJob, type GenerateJob } from './job-schema.ts';

/** Settings that replace the job file's own; `output` is relative to the working folder. */
export interface JobOverrides {
  output?: string;
  device?: Device;
  backend?: Backend;
  threads?: number;
}

/** The paths a job file's model conditions name (an IP-Adapter's style image). */
const CONDITION_FILES = ['image'] as const;

/** A model's conditions with the files they name made absolute against `base`. */
function resolveConditionFiles(conditions: unknown, base: string): unknown {
  if (conditions === null || typeof conditions !== 'object' || Array.isArray(conditions)) return conditions;
  const c = { ...(conditions as Record<string, unknown>) };
  for (const k of CONDITION_FILES) {
    const path = c[k];
    if (typeof path === 'string') c[k] = resolve(base, path);
  }
  return c;
}

/**
 * Read, validate and resolve a job file: every relative path in it (model folders, the files
 * their conditions name, the output) is made absolute against the job file's folder, whatever
 * the working folder; `overrides.output` is relative to the working folder.
 */
export async function loadJob(jobPath: string, overrides: JobOverrides = {}): Promise<GenerateJob> {
  if (typeof jobPath !== 'string' || jobPath === '')
    throw new TypeError(`jobPath must be a non-empty file path, got ${describe(jobPath)}`);
  const file = resolve(jobPath);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read the job file ${file}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SyntaxError(`${file} is not valid JSON: ${(e as Error).message}`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    throw new TypeError(`${file} must hold a JSON object (the job)`);
  const raw = { ...(json as Record<string, unknown>) };
  if (overrides.device !== undefined) raw.device = overrides.device;
  if (overrides.backend !== undefined) raw.backend = overrides.backend;
  if (overrides.threads !== undefined) raw.threads = overrides.threads;
  if (overrides.output !== undefined) raw.output = resolve(overrides.output);
  const job = parseJob(raw, file);
  const base = dirname(file);
  return {
    ...job,
    models: job.models.map((m) => ({
      ...m,
      folder: resolve(base, m.folder),
      conditions: resolveConditionFiles(m.conditions, base) as typeof m.conditions,
    })),
    output: resolve(base, job.output),
  };
}
