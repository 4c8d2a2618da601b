/**
 * The job file of `amdm generate`: a JSON object validated by zod. Every error names the bad
 * field as a path into the file, e.g. `models[1].conditions.boxes[0]: …`.
 *
 *   {
 *     "prompt": "a red square left of a blue square",
 *     "negativePrompt": "",
 *     "models": [ { "folder": "models/interact", "kind": "interactdiffusion", "conditions": { … }, "name": "interact" },
 *                 { "folder": "models/sd15" } ],
 *     "target": 0,                   // index or name of the target model
 *     "steps": 50, "aggregateSteps": 3,
 *     "weights": 0.5,                // paper w per non-target model (number or array), or schedules:
 *                                    // { "kind": "linear", "from": 0.9, "to": 0.3 } (also constant, cosine, list)
 *     "windows": [[0, 10]],          // per non-target model: merged on steps [start, end) (null: [0, s))
 *     "spatial": [{ "boxes": [[0.1, 0.1, 0.5, 0.5]], "feather": 1 }],   // or { "map": [...] } or null
 *     "spatialDeviation": false,     // restrict the mapped models' deviation step to their maps
 *     "eta": 0.3, "etaScale": "sqrtDim",   // eq. 9 step per model (number or array)
 *     "deviation": "eq9",            // or "relative": eta is then λ ∈ [0, 1], no etaScale
 *     "rule": "slerp", "ddimEta": 0,     // or a rule registered by `amdm --import <module>`
 *     "guidance": 7.5, "seed": 0, "batch": 1,
 *     "device": "cpu", "backend": "auto", "threads": 0,
 *     "unetWorkers": false,          // true: non-target UNets in worker threads beside the target's; or [1, …]
 *     "output": "out/job", "saveAll": false, "saveTrace": false,
 *     "noise": "amdm",               // or "torch": model k starts from torch.randn under manual_seed(seed + k)
 *     "saveLatents": false,          // latents.npy: the target's final latents [batch, C, H, W]
 *     "preset": "paper"              // or "reference" with "reference": { omegas, optimStart, optimEnd, p }
 *   }
 *
 * Relative paths (`folder`, a condition's `image`, `output`) are resolved against the job file's folder. Model
 * conditions are validated by the schema of the model's family (`kind`, default "sd").
 */
import { z } from 'zod';
import { AMDM_DEFAULTS } from '../core/defaults.ts';
import { DEVIATION_MODES } from '../core/deviation.ts';
import { BACKENDS, DEFAULT_BACKEND, DEVICES } from '../onnx/session.ts';
import { getFamily } from '../sd/family.ts';
// Registers the grounded families (interactdiffusion, migc, ipadapter), so that a job's `kind` is checked against them.
import '../sd/families/index.ts';
import { PRESETS, SD_SCALING_FACTOR, sdAggregateSteps } from '../sd/pipeline.ts';
import { NOISE_SOURCES } from '../sd/pipeline-types.ts';
import { ruleField } from './rule-field.ts';
import { MINIMIG_ID } from './minimig-image.ts';

const unit = z.number().min(0).max(1);
const nonNegative = z.number().min(0);

/** What an input is, for messages; JSON has no Infinity, so 1e999 (too large for a double) parses as one. */
function given(v: unknown): string {
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : `${v} (a number too large for JSON)`;
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v;
}

/** A number or an array of numbers, with a message that says which (zod's own is "Invalid input"). */
const numberOrList = (item: z.ZodNumber, what: string) =>
  z.union([item, z.array(item)], {
    error: (i) => {
      const v = i.input;
      const bad = Array.isArray(v) ? v.findIndex((x) => typeof x !== 'number' || !Number.isFinite(x)) : -1;
      return `must be ${what}, got ${bad >= 0 ? `[${bad}] = ${given((v as unknown[])[bad])}` : given(v)}`;
    },
  });

const modelSchema = z
  .strictObject({
    folder: z.string().min(1, 'must be a model folder path'),
    kind: z.string().min(1).default('sd'),
    name: z.string().min(1).optional(),
    prompt: z.string().optional(),
    conditions: z.unknown().optional(),
  })
  .transform((m, ctx) => {
    let family;
    try {
      family = getFamily(m.kind);
    } catch (e) {
      ctx.addIssue({ code: 'custom', path: ['kind'], message: (e as Error).message });
      return z.NEVER;
    }
    const r = family.conditionSchema.safeParse(m.conditions ?? {});
    if (!r.success) {
      for (const i of r.error.issues)
        ctx.addIssue({ code: 'custom', path: ['conditions', ...i.path], message: i.message });
      return z.NEVER;
    }
    return { ...m, conditions: r.data as unknown };
  });

/** A weight schedule over a model's window (core `WeightSchedule`). */
const scheduleSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('constant'), value: unit }),
  z.strictObject({ kind: z.literal('linear'), from: unit, to: unit }),
  z.strictObject({ kind: z.literal('cosine'), from: unit, to: unit }),
  z.strictObject({ kind: z.literal('list'), values: z.array(unit).min(1) }),
]);

const weightList = numberOrList(unit, 'a number in [0, 1] or an array of them, one per non-target model');
const scheduleList = z.union([scheduleSchema, z.array(z.union([unit, scheduleSchema]))]);
type WeightsSpec = z.infer<typeof weightList> | z.infer<typeof scheduleList>;

/** w: a number or numbers (as before), or schedules (an object, or an array holding one), each with its own messages. */
const weightsField = z.unknown().transform((v, ctx): WeightsSpec => {
  const scheduled = (x: unknown) => typeof x === 'object' && x !== null && !Array.isArray(x);
  const r = (scheduled(v) || (Array.isArray(v) && v.some(scheduled)) ? scheduleList : weightList).safeParse(v);
  if (r.success) return r.data;
  for (const i of r.error.issues) ctx.addIssue({ code: 'custom', path: i.path, message: i.message });
  return z.NEVER;
});

/** A spatial weight map: one weight per latent cell, or boxes (fractions of the image) with a feathered edge in cells. */
const spatialSchema = z.union([
  z.strictObject({ map: z.array(unit).min(1) }),
  z.strictObject({
    boxes: z.array(z.tuple([unit, unit, unit, unit])).min(1),
    feather: nonNegative.max(64).default(0),
    invert: z.boolean().default(false),
  }),
]);

const referenceSchema = z.strictObject({
  /** ω per non-target model: the official weight of the target (interactmigc.py:431). */
  omegas: z.array(unit).min(1).max(2),
  /** First and last aggregated iteration (official optim_start / optim_end, inclusive). */
  optimStart: z.int().min(0).default(1),
  optimEnd: z.int().min(0).default(3),
  /** Absolute pull length per model (official interact_p / migc_p / ip_p). */
  p: z.array(nonNegative).min(2).max(3),
});

/** The fields of a job, each checked on its own; `jobSchema` adds the checks across fields. */
const jobFields = z.strictObject({
  $schema: z.string().optional(),
  prompt: z
    .string()
    .refine(
      (p) => p.trim() !== '',
      'must not be empty (give the text to generate; an empty prompt makes an unconditional image)',
    ),
  negativePrompt: z.string().default(''),
  models: z.array(modelSchema).min(1).max(8),
  target: z
    .union([z.int().min(0), z.string().min(1)], {
      error: (i) => `must be a model index (an integer ≥ 0) or a model's name, got ${given(i.input)}`,
    })
    .default(AMDM_DEFAULTS.target),
  steps: z.int().min(1).max(1000).default(AMDM_DEFAULTS.steps),
  /** s; default min(3, steps), the SD pipeline's (`sdAggregateSteps`). */
  aggregateSteps: z.int().min(0).optional(),
  weights: weightsField.default(AMDM_DEFAULTS.weight),
  /** Per non-target model: merged on steps [start, end), or null for [0, aggregateSteps). */
  windows: z.array(z.tuple([z.int().min(0), z.int().min(0)]).nullable()).optional(),
  /** Per non-target model: a spatial weight map ({ map } or { boxes, feather, invert }) or null. */
  spatial: z.array(spatialSchema.nullable()).optional(),
  spatialDeviation: z.boolean().optional(),
  deviation: z.enum(DEVIATION_MODES).default(AMDM_DEFAULTS.deviation),
  eta: numberOrList(nonNegative, 'a number ≥ 0 or an array of them, one per model').default(AMDM_DEFAULTS.eta),
  /** Only for deviation "eq9"; unset means the sampler's default ('sqrtDim'). */
  etaScale: z.enum(['sqrtDim', 'absolute']).optional(),
  /** A registered aggregation rule (the built-in ones, and those of `amdm --import` modules). */
  rule: ruleField,
  ddimEta: unit.default(AMDM_DEFAULTS.ddimEta),
  guidance: z.number().min(0).max(100).default(AMDM_DEFAULTS.guidance),
  seed: z.int().min(0).max(Number.MAX_SAFE_INTEGER).default(AMDM_DEFAULTS.seed),
  batch: z.int().min(1).max(64).default(AMDM_DEFAULTS.batch),
  /** Image size in pixels (multiples of 8), only for graphs with a symbolic latent size. */
  height: z.int().min(8).max(8192).multipleOf(8).optional(),
  width: z.int().min(8).max(8192).multipleOf(8).optional(),
  scalingFactor: z.number().positive().default(SD_SCALING_FACTOR),
  device: z.enum(DEVICES).default('cpu'),
  /** onnxruntime-node ('node'), onnxruntime-web ('web', WASM, CPU) or 'node' when it loads ('auto'). */
  backend: z.enum(BACKENDS).default(DEFAULT_BACKEND),
  /** onnxruntime intra-op threads per session (0 = its default). */
  threads: z.int().min(0).max(1024).default(0),
  /**
   * UNets in worker threads, the models' calls of an aggregated step at once (same images): true =
   * every non-target model's, or the indices of the (non-target) models to run there.
   */
  unetWorkers: z.union([z.boolean(), z.array(z.int().min(0))]).default(false),
  output: z.string().min(1).default('out'),
  saveAll: z.boolean().default(false),
  saveTrace: z.boolean().default(false),
  /** latents.npy: the target's final latents (float32 [batch, C, H, W]). */
  saveLatents: z.boolean().default(false),
  /** Initial latents: 'amdm' (the seed's streams) or 'torch' (torch.randn, seed + k; NOISE_SOURCES). */
  noise: z.enum(NOISE_SOURCES).default('amdm'),
  preset: z.enum(PRESETS).default('paper'),
  reference: referenceSchema.optional(),
  /** The MiniMIG prompt the job draws ("L3-002"): `amdm generate` then scores its images with the world's evaluator. */
  minimig: z.string().regex(MINIMIG_ID, 'must be a MiniMIG prompt id such as "L3-002"').optional(),
});

/** A job: its fields, the checks across them (`checkJob`), and the target and s resolved. */
export const jobSchema = jobFields.superRefine(checkJob).transform((j) => ({
  ...j,
  target: typeof j.target === 'number' ? j.target : j.models.findIndex((m) => m.name === j.target),
  aggregateSteps: j.aggregateSteps ?? sdAggregateSteps(j.steps),
}));

export type GenerateJob = z.infer<typeof jobSchema>;
export type GenerateJobInput = z.input<typeof jobSchema>;

type JobFields = z.output<typeof jobFields>;
type Issue = (path: PropertyKey[], message: string) => void;

/** The checks across a job's fields, each issue naming its path, in this order. */
function checkJob(j: JobFields, ctx: z.RefinementCtx): void {
  const issue: Issue = (path, message) => ctx.addIssue({ code: 'custom', path, message });
  checkNamesAndTarget(j, issue);
  checkSteps(j, issue);
  checkPerModelLists(j, issue);
  checkDeviation(j, issue);
  if ((j.height === undefined) !== (j.width === undefined))
    issue([j.height === undefined ? 'height' : 'width'], 'height and width must be given together');
  checkReference(j, issue);
}

/** Model names are unique; the target is a model index or name. */
function checkNamesAndTarget(j: JobFields, issue: Issue): void {
  const N = j.models.length;
  const names = j.models.map((m) => m.name);
  names.forEach((n, i) => {
    if (n !== undefined && names.indexOf(n) !== i)
      issue(['models', i, 'name'], `"${n}" is already the name of models[${names.indexOf(n)}]; names must be unique`);
  });
  if (typeof j.target === 'number' && j.target > N - 1)
    issue(['target'], `must be a model index in [0, ${N - 1}], got ${j.target}`);
  if (typeof j.target === 'string' && !names.includes(j.target)) {
    const given = names.filter((n) => n !== undefined);
    issue(
      ['target'],
      `no model is named "${j.target}"; names: ${given.length ? given.map((n) => `"${n}"`).join(', ') : '(none given)'}`,
    );
  }
}

/** aggregateSteps and MIGC's steps within the job's steps. */
function checkSteps(j: JobFields, issue: Issue): void {
  if (j.aggregateSteps !== undefined && j.aggregateSteps > j.steps)
    issue(['aggregateSteps'], `must be in [0, steps = ${j.steps}], got ${j.aggregateSteps}`);
  j.models.forEach((m, i) => {
    const migcSteps = (m.conditions as { migcSteps?: number } | undefined)?.migcSteps;
    if (m.kind === 'migc' && migcSteps !== undefined && migcSteps > j.steps - 1) {
      issue(
        ['models', i, 'conditions', 'migcSteps'],
        `must be in [-1, steps − 1 = ${j.steps - 1}] (steps − 1 runs MIGC at every step), got ${migcSteps}`,
      );
    }
  });
}

/** weights, windows and spatial: one entry per non-target model; windows inside the steps. */
function checkPerModelLists(j: JobFields, issue: Issue): void {
  const N = j.models.length;
  if (Array.isArray(j.weights) && j.weights.length !== N - 1)
    issue(['weights'], `must hold ${N - 1} number(s), one per non-target model, got ${j.weights.length}`);
  for (const key of ['windows', 'spatial'] as const) {
    const list = j[key];
    if (list !== undefined && list.length !== N - 1)
      issue(
        [key],
        `must hold ${N - 1} entr${N === 2 ? 'y' : 'ies'}, one per non-target model (null for none), got ${list.length}`,
      );
  }
  j.windows?.forEach((w, i) => {
    if (w !== null && !(w[0] <= w[1] && w[1] <= j.steps))
      issue(['windows', i], `must be [start, end) with 0 ≤ start ≤ end ≤ steps = ${j.steps}, got [${w.join(', ')}]`);
  });
  if ((j.windows || j.spatial || j.spatialDeviation !== undefined) && j.preset === 'reference')
    issue(['preset'], 'windows, spatial and spatialDeviation apply to preset "paper" only');
}

/** eta per model; the relative deviation's λ ∈ [0, 1], without etaScale, with preset "paper". */
function checkDeviation(j: JobFields, issue: Issue): void {
  const N = j.models.length;
  if (Array.isArray(j.eta) && j.eta.length !== N)
    issue(['eta'], `must hold ${N} number(s), one per model, got ${j.eta.length}`);
  if (j.deviation === 'relative') {
    if (j.etaScale !== undefined)
      issue(
        ['etaScale'],
        `applies only to deviation "eq9"; with deviation "relative" eta is the fraction λ ∈ [0, 1] of the way to μ: remove etaScale, got "${j.etaScale}"`,
      );
    const etas = Array.isArray(j.eta) ? j.eta : [j.eta];
    etas.forEach((e, k) => {
      if (e > 1)
        issue(
          Array.isArray(j.eta) ? ['eta', k] : ['eta'],
          `with deviation "relative" eta is λ and must be in [0, 1], got ${e}`,
        );
    });
    if (j.preset === 'reference')
      issue(
        ['deviation'],
        'preset "reference" takes the official code\'s own step (reference.p); deviation "relative" applies to preset "paper" only',
      );
  }
}

/** Preset "reference": 2 or 3 models, η_ddim = 0, and its settings sized and ordered; no settings otherwise. */
function checkReference(j: JobFields, issue: Issue): void {
  const N = j.models.length;
  if (j.preset === 'reference') {
    if (N < 2 || N > 3) issue(['models'], `preset "reference" (the official code) needs 2 or 3 models, got ${N}`);
    if (j.ddimEta !== 0) issue(['ddimEta'], `must be 0 with preset "reference", got ${j.ddimEta}`);
    if (!j.reference) issue(['reference'], 'is required with preset "reference": { omegas, optimStart, optimEnd, p }');
    else {
      const r = j.reference;
      if (r.omegas.length !== N - 1)
        issue(
          ['reference', 'omegas'],
          `must hold ${N - 1} number(s), one per non-target model, got ${r.omegas.length}`,
        );
      if (r.p.length !== N) issue(['reference', 'p'], `must hold ${N} number(s), one per model, got ${r.p.length}`);
      if (r.optimEnd > j.steps - 1)
        issue(['reference', 'optimEnd'], `must be in [optimStart, steps − 1 = ${j.steps - 1}], got ${r.optimEnd}`);
      if (r.optimStart > r.optimEnd)
        issue(['reference', 'optimStart'], `must be ≤ optimEnd = ${r.optimEnd}, got ${r.optimStart}`);
    }
  } else if (j.reference) {
    issue(['reference'], 'is only used with preset "reference"');
  }
}

/** A path of zod issue keys as written in the job: `models[1].conditions.boxes[0]`. */
export function formatJobPath(path: readonly PropertyKey[]): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : `${s === '' ? '' : '.'}${String(p)}`;
  return s === '' ? '(job)' : s;
}

/** Validate a parsed job; the RangeError lists every issue as `field.path: message`. */
export function parseJob(json: unknown, file = 'job'): GenerateJob {
  const r = jobSchema.safeParse(json);
  if (!r.success) {
    throw new RangeError(`${file}: ${r.error.issues.map((i) => `${formatJobPath(i.path)}: ${i.message}`).join('; ')}`);
  }
  return r.data;
}
