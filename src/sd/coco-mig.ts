/**
 * The COCO-MIG benchmark (MIG_Bench `mig_bench.json`, sources M§4.6): reading, mapping
 * each entry to the InteractDiffusion and MIGC conditions as AMDM's `infer800.py` does, output
 * file names, and sharding. No file system here.
 *
 *   { "0": { "caption": "a photo of a black cat and a white cat ",
 *            "segment": [ { "bbox": [x0, y0, x1, y1], "label": "a black cat" }, … ],
 *            "image_id": "500084" }, … "799": … }
 *
 * infer800.py: subject = object = label, action = "and", subject boxes = object boxes; MIGC gets
 * [caption] + labels and the same boxes; the image is written as `{image_id:06d}_{key}.png`
 * (the name `eval_mig.py` parses back: the key after the last "_").
 */
import { z } from 'zod';
import { boxSchema, type Box } from './families/boxes.ts';
import type { InteractConditions } from './families/interactdiffusion.ts';
import type { MigcConditions } from './families/migc.ts';

/** infer800.py's negative prompt. */
export const COCO_MIG_NEGATIVE_PROMPT =
  'longbody, lowres, bad anatomy, bad hands, missing fingers, extra digit, fewer digits, cropped, worst quality, low quality';

export interface CocoMigSegment {
  bbox: Box;
  label: string;
}

export interface CocoMigEntry {
  key: string;
  caption: string;
  segment: CocoMigSegment[];
  imageId: number;
}

const entrySchema = z.strictObject({
  caption: z.string(),
  segment: z
    .array(z.strictObject({ bbox: boxSchema, label: z.string().min(1) }))
    .min(1)
    .max(28),
  image_id: z.union([z.string().regex(/^\d+$/, 'must be a non-negative integer (COCO image id)'), z.int().min(0)]),
});

/**
 * Validate a parsed mig_bench.json; entries come back in key order (numeric keys by value).
 * Errors name the entry and field, e.g. `mig_bench.json: "12".segment[0].bbox: …`.
 */
export function parseCocoMig(json: unknown, file = 'mig_bench.json'): CocoMigEntry[] {
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    throw new TypeError(`${file} must hold a JSON object keyed by entry ("0", "1", …)`);
  const keys = Object.keys(json).sort((a, b) => {
    const na = /^\d+$/.test(a) ? Number(a) : NaN;
    const nb = /^\d+$/.test(b) ? Number(b) : NaN;
    return Number.isNaN(na) || Number.isNaN(nb) ? a.localeCompare(b) : na - nb;
  });
  if (keys.length === 0) throw new RangeError(`${file} holds no entries`);
  if ('models' in json || 'prompt' in json) {
    throw new TypeError(
      `${file} looks like an \`amdm generate\` job file (it has "models" or "prompt"), not mig_bench.json (entries keyed "0", "1", … with caption, segment and image_id)`,
    );
  }
  return keys.map((key) => {
    if (!/^[A-Za-z0-9-]+$/.test(key))
      throw new RangeError(
        `${file}: entry key ${JSON.stringify(key)} must use letters, digits and - only (it becomes part of a file name)`,
      );
    const r = entrySchema.safeParse((json as Record<string, unknown>)[key]);
    if (!r.success) {
      const i = r.error.issues[0];
      const path = i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
      throw new RangeError(`${file}: "${key}"${path}: ${i.message}`);
    }
    return { key, caption: r.data.caption, segment: r.data.segment, imageId: Number(r.data.image_id) };
  });
}

/** InteractDiffusion conditions of an entry (infer800.py): subject = object = label, action "and". */
export function cocoMigInteract(e: CocoMigEntry): InteractConditions {
  const labels = e.segment.map((s) => s.label);
  const boxes = e.segment.map((s) => s.bbox);
  return {
    subjects: labels,
    objects: [...labels],
    actions: labels.map(() => 'and'),
    subjectBoxes: boxes,
    objectBoxes: [...boxes],
  };
}

/** MIGC conditions of an entry: [caption] + labels and the boxes. */
export function cocoMigMigc(e: CocoMigEntry, migcSteps?: number): MigcConditions {
  return {
    caption: e.caption,
    phrases: e.segment.map((s) => s.label),
    boxes: e.segment.map((s) => s.bbox),
    ...(migcSteps === undefined ? {} : { migcSteps }),
  };
}

/** `f"{image_id:06d}_{key}.png"`. */
export function cocoMigFileName(e: Pick<CocoMigEntry, 'imageId' | 'key'>): string {
  if (!Number.isSafeInteger(e.imageId) || e.imageId < 0)
    throw new RangeError(`imageId must be a non-negative integer, got ${String(e.imageId)}`);
  return `${String(e.imageId).padStart(6, '0')}_${e.key}.png`;
}

/** Instance count level of an entry (L2 … L6 in the benchmark). */
export function cocoMigLevel(e: CocoMigEntry): number {
  return e.segment.length;
}

export interface Shard {
  /** 0-based. */
  index: number;
  count: number;
}

/** Environment variables read by `--shard auto`. */
export const SHARD_ENV = Object.freeze({
  k8s: 'JOB_COMPLETION_INDEX',
  slurmId: 'SLURM_ARRAY_TASK_ID',
  slurmCount: 'SLURM_ARRAY_TASK_COUNT',
  slurmMin: 'SLURM_ARRAY_TASK_MIN',
});

function envInt(env: Readonly<Record<string, string | undefined>>, name: string, min: number): number {
  const v = env[name];
  if (v === undefined || !/^\d+$/.test(v.trim()))
    throw new RangeError(`${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
  const n = Number(v.trim());
  if (n < min) throw new RangeError(`${name} must be ≥ ${min}, got ${n}`);
  return n;
}

/**
 * Parse a shard: "i/n" (0 ≤ i < n), or "auto": a Kubernetes Indexed Job's JOB_COMPLETION_INDEX
 * with `shardCount` (the Job's completions; Kubernetes does not expose it), else a Slurm job
 * array's SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN (MIN defaults to 0) of
 * SLURM_ARRAY_TASK_COUNT. Undefined → the whole benchmark (0/1).
 */
export function parseShard(
  spec: string | undefined,
  env: Readonly<Record<string, string | undefined>> = {},
  shardCount?: number,
): Shard {
  if (shardCount !== undefined && (!Number.isInteger(shardCount) || shardCount < 1)) {
    throw new RangeError(`shardCount (--shard-count) must be an integer ≥ 1, got ${String(shardCount)}`);
  }
  if (spec === undefined) {
    if (shardCount !== undefined && shardCount !== 1)
      throw new RangeError('shardCount (--shard-count) is only used with --shard auto');
    return { index: 0, count: 1 };
  }
  if (typeof spec !== 'string') throw new TypeError(`shard must be "i/n" or "auto", got ${typeof spec}`);
  if (spec === 'auto') {
    let s: Shard;
    if (env[SHARD_ENV.k8s] !== undefined) {
      if (shardCount === undefined)
        throw new RangeError(
          `--shard auto under Kubernetes (${SHARD_ENV.k8s} is set) needs --shard-count (the Job's completions)`,
        );
      s = { index: envInt(env, SHARD_ENV.k8s, 0), count: shardCount };
    } else if (env[SHARD_ENV.slurmId] !== undefined) {
      const count = envInt(env, SHARD_ENV.slurmCount, 1);
      const min = env[SHARD_ENV.slurmMin] === undefined ? 0 : envInt(env, SHARD_ENV.slurmMin, 0);
      const id = envInt(env, SHARD_ENV.slurmId, 0);
      if (shardCount !== undefined && shardCount !== count) {
        throw new RangeError(`--shard-count ${shardCount} differs from ${SHARD_ENV.slurmCount}=${count}`);
      }
      s = { index: id - min, count };
    } else {
      throw new RangeError(
        `--shard auto needs ${SHARD_ENV.k8s} (Kubernetes Indexed Job, with --shard-count) or ${SHARD_ENV.slurmId} and ${SHARD_ENV.slurmCount} (Slurm job array); neither is set`,
      );
    }
    if (s.index < 0 || s.index >= s.count)
      throw new RangeError(`--shard auto: shard index ${s.index} is outside [0, ${s.count - 1}] (count ${s.count})`);
    return s;
  }
  const m = /^(\d+)\/(\d+)$/.exec(spec.trim());
  if (!m)
    throw new RangeError(`shard must be "i/n" (0-based index i of n shards) or "auto", got ${JSON.stringify(spec)}`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index >= count) throw new RangeError(`shard "${spec}": need n ≥ 1 and 0 ≤ i < n`);
  if (shardCount !== undefined) throw new RangeError('shardCount (--shard-count) is only used with --shard auto');
  return { index, count };
}

/** The items of one shard: every n-th item starting at i (levels stay balanced across shards). */
export function shardItems<T>(items: readonly T[], shard: Shard): T[] {
  if (
    !Number.isInteger(shard.count) ||
    shard.count < 1 ||
    !Number.isInteger(shard.index) ||
    shard.index < 0 ||
    shard.index >= shard.count
  ) {
    throw new RangeError(`shard must have integers 0 ≤ index < count, got ${JSON.stringify(shard)}`);
  }
  return items.filter((_, k) => k % shard.count === shard.index);
}
