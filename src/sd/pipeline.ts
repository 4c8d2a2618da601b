/**
 * Text-to-image with one or more SD-1.x ONNX model folders (AMDM, paper Algorithm 1):
 *
 *   prompt ─ CLIP tokenizer (77 tokens, padded with 49407) ─ text encoder ─┐ (cond rows)
 *   negative prompt ─ same ────────────────────────────────────────────────┘ (uncond rows)
 *   → one Denoiser per model (its family: CFG ε = ε_u + g(ε_c − ε_u), sources M§2.7)
 *   → sampleAMDM over all models, one shared schedule (or sampleDDIM for one model, or the
 *     official-code preset sampleAMDMReference)
 *   → VAE decoder on latents / scaling factor (0.18215, M§6) → (x/2 + 0.5)·255 RGBA → PNG.
 *
 * Loading (`prepareSdPipeline`) does every check that can fail before a model runs: the job's
 * sampler options (through the samplers' own validation), each folder's files, input names and
 * dtypes (loadModelFolder), each family's conditions and folder check, equal latent shapes and
 * equal noise schedules across models. Text-encoder and VAE sessions are opened once per
 * distinct file (same real path or same bytes) and shared between folders.
 *
 * `decodeAll` also decodes every model's own image: each non-target model keeps sampling plain
 * DDIM from where AMDM left it (after its s aggregated steps) down to t = 0, as the official
 * code decodes every model (sources M§2.1). Its DDIM noise (η_ddim > 0) then comes from
 * stream 1000 + k of the seed.
 */
import { throwIfAborted } from '../core/abort.ts';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { AMDM_DEFAULTS } from '../core/defaults.ts';
import { resolveReferencePlan, sampleAMDMReference, type ReferenceOptions } from '../core/reference.ts';
import { sampleAMDM, sampleDDIM, type AMDMOptions, type StepTrace } from '../core/sampler.ts';
import { resolveAMDMPlan } from '../core/sampler-plan.ts';
import { makeSchedule, type NoiseSchedule, type ScheduleConfig } from '../core/schedule.ts';
import type { Denoiser } from '../core/types.ts';
import { checkInt, checkNumber, checkOneOf, describe } from '../core/validate.ts';
import { encodePNG } from '../image/png.ts';
import { rgbaFromSdImage, type RGBA } from '../image/raster.ts';
import { decodeLatents } from '../onnx/components.ts';
import { describeInfo, type SessionOptions } from '../onnx/session.ts';
import {
  loadModelFolder,
  type Component,
  type ModelFolder,
  type TextEncoderModel,
  type VaeDecoderModel,
} from '../onnx/model-folder.ts';
import type { ClipTokenizer } from './clip-tokenizer.ts';
import { loadClipTokenizer } from './clip-tokenizer-files.ts';
import { getFamily, type FamilyContext, type FamilyDenoiser, type ModelFamily } from './family.ts';
import { promptEncoder, type PromptEncoder } from './text.ts';

/** SD 1.x `vae.config.scaling_factor`. */
export const SD_SCALING_FACTOR = 0.18215;
export const PRESETS = ['paper', 'reference'] as const;
export type Preset = (typeof PRESETS)[number];

export interface SdModelSpec {
  /** Model folder in optimum's layout (sources M§6). */
  folder: string;
  /** Registered family kind (default 'sd'). */
  kind?: string;
  /** Family-specific conditions, validated by the family's schema (default {}). */
  conditions?: unknown;
  /** Display name (default: the folder's base name). */
  name?: string;
  /** This model's prompt (default: the shared prompt). */
  prompt?: string;
}

/** The official code's parameters (core `sampleAMDMReference`): ω per other model, p per model. */
export interface ReferenceSettings {
  omegas: readonly number[];
  optimStart: number;
  optimEnd: number;
  p: readonly number[];
}

export interface SdPipelineOptions {
  models: readonly SdModelSpec[];
  /** Index of the target model (default 0). */
  target?: number;
  /** Decode every model's own image too (default false). */
  decodeAll?: boolean;
  /** [height, width] of the latent; needed only for graphs with a symbolic height/width. */
  latentSize?: readonly [number, number];
  /** Session options for every graph (device 'cpu' | 'cuda' | 'auto', threads, …). */
  session?: SessionOptions;
}

export interface SdRunOptions {
  prompt: string;
  negativePrompt?: string;
  /** T (default 50, AMDM_DEFAULTS.steps). */
  steps?: number;
  /** s (default min(3, steps): `sdAggregateSteps`); ignored by the reference preset. */
  aggregateSteps?: number;
  weights?: AMDMOptions['weights'];
  /** 'eq9' (default) or 'relative' (η is then the fraction λ ∈ [0, 1]; see AMDMOptions). */
  deviation?: AMDMOptions['deviation'];
  eta?: AMDMOptions['eta'];
  etaScale?: AMDMOptions['etaScale'];
  rule?: AMDMOptions['rule'];
  ddimEta?: number;
  /** CFG scale (default 7.5, AMDM_DEFAULTS.guidance). */
  guidance?: number;
  seed?: number;
  batch?: number;
  /** Latents are divided by this before the VAE decoder (default 0.18215). */
  scalingFactor?: number;
  /** 'paper' (default): sampleAMDM; 'reference': the official code's loop (needs `reference`). */
  preset?: Preset;
  reference?: ReferenceSettings;
  /** Keep the per-step AMDM trace (paper preset). */
  trace?: boolean;
  /** Called after each target step with (done, total). */
  onProgress?: (done: number, total: number) => void;
  /**
   * Receives warnings of `validate` (a prompt longer than the text encoder reads, so its end is
   * dropped as diffusers does); default: none.
   */
  onWarning?: (message: string) => void;
  /** Receives each step's AMDM trace as it happens (paper preset), with or without `trace`. */
  onStep?: (step: StepTrace) => void;
  signal?: AbortSignal;
}

export type SdGenerateOptions = SdPipelineOptions & SdRunOptions;

export interface ModelImages {
  model: number;
  name: string;
  /** Final latents of this model, [batch, C, H, W]. */
  latents: Float32Array;
  images: RGBA[];
  png: Uint8Array[];
}

export interface SdResult {
  target: ModelImages;
  /** Every model's own image (with `decodeAll`), in model order. */
  models: ModelImages[] | null;
  /** Per-step trace (paper preset with `trace`). */
  trace: StepTrace[] | null;
  /** Iterations at which the reference preset merged. */
  aggregatedAt: number[] | null;
  /** UNet calls per model during AMDM (T for the target, s for the others). */
  calls: number[];
  /** Extra UNet calls per model for `decodeAll` (the others finishing their DDIM run). */
  finishCalls: number[];
  totalCalls: number;
  textEncoderRuns: number;
  vaeRuns: number;
  timesteps: number[];
  /** [C, H, W] of one latent sample. */
  shape: [number, number, number];
  batch: number;
}

interface LoadedModel {
  index: number;
  spec: SdModelSpec;
  name: string;
  folder: ModelFolder;
  family: ModelFamily;
  conditions: unknown;
  tokenizer: ClipTokenizer;
  encoder: PromptEncoder;
  vae: VaeDecoderModel | null;
}

export interface SdPipeline {
  readonly models: readonly { name: string; kind: string; folder: string; conditions: unknown; device: string }[];
  readonly target: number;
  readonly shape: readonly [number, number, number];
  readonly schedule: NoiseSchedule;
  readonly scheduleConfig: Readonly<ScheduleConfig>;
  /** Distinct text-encoder / VAE sessions opened (shared between folders). */
  readonly textEncoders: number;
  readonly vaeDecoders: number;
  /** Check run options exactly as a run would, without running a model. */
  validate(opts: SdRunOptions): Promise<void>;
  run(opts: SdRunOptions): Promise<SdResult>;
  release(): Promise<void>;
}

/** A file identity for sharing sessions: same real path, or same size and SHA-256. */
function fileIdentities(): (path: string) => Promise<number | null> {
  const known: { real: string; size: number; hash: Promise<string> | null }[] = [];
  const hashOf = (e: { real: string; hash: Promise<string> | null }) =>
    (e.hash ??= new Promise<string>((res, rej) => {
      const h = createHash('sha256');
      createReadStream(e.real)
        .on('data', (c) => h.update(c))
        .on('error', rej)
        .on('end', () => res(h.digest('hex')));
    }));
  return async (path) => {
    const st = await stat(path).catch(() => null);
    if (!st?.isFile()) return null;
    const real = await realpath(path);
    const hit = known.findIndex((e) => e.real === real);
    if (hit >= 0) return hit;
    const entry = { real, size: st.size, hash: null };
    for (let id = 0; id < known.length; id++) {
      if (known[id].size === st.size && (await hashOf(known[id])) === (await hashOf(entry))) return id;
    }
    known.push(entry);
    return known.length - 1;
  };
}

function parseConditions(family: ModelFamily, value: unknown, where: string): unknown {
  const r = family.conditionSchema.safeParse(value ?? {});
  if (!r.success) {
    throw new RangeError(
      r.error.issues
        .map(
          (i) =>
            `${where}.conditions${i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}: ${i.message}`,
        )
        .join('; '),
    );
  }
  return r.data;
}

function sameSchedule(a: ScheduleConfig, b: ScheduleConfig): string | null {
  for (const k of Object.keys(a) as (keyof ScheduleConfig)[])
    if (a[k] !== b[k]) return `${k}: ${String(b[k])} vs ${String(a[k])}`;
  return null;
}

/** Load and check every model folder; no model runs. */
export async function prepareSdPipeline(opts: SdPipelineOptions): Promise<SdPipeline> {
  if (opts === null || typeof opts !== 'object') throw new TypeError('options must be an object');
  const specs = opts.models;
  if (!Array.isArray(specs) || specs.length < 1)
    throw new RangeError(`models must be an array of ≥ 1 model specs, got ${describe(specs)}`);
  const N = specs.length;
  const target = checkInt('target', opts.target ?? 0, 0, N - 1);
  const decodeAll = opts.decodeAll ?? false;
  if (typeof decodeAll !== 'boolean') throw new TypeError(`decodeAll must be a boolean, got ${describe(decodeAll)}`);
  if (opts.latentSize !== undefined) {
    const ls = opts.latentSize;
    if (!Array.isArray(ls) || ls.length !== 2)
      throw new RangeError(`latentSize must be [height, width], got ${describe(ls)}`);
    ls.forEach((v, i) => checkInt(`latentSize[${i}]`, v, 1, 4096));
  }
  // Families and their conditions first: pure checks, before any file is opened.
  const families = specs.map((s, i) => {
    const where = `models[${i}]`;
    if (s === null || typeof s !== 'object')
      throw new TypeError(`${where} must be an object { folder, kind?, conditions?, name?, prompt? }`);
    if (typeof s.folder !== 'string' || s.folder === '')
      throw new TypeError(`${where}.folder must be a non-empty folder path, got ${describe(s.folder)}`);
    if (s.name !== undefined && typeof s.name !== 'string')
      throw new TypeError(`${where}.name must be a string, got ${describe(s.name)}`);
    if (s.prompt !== undefined && typeof s.prompt !== 'string')
      throw new TypeError(`${where}.prompt must be a string, got ${describe(s.prompt)}`);
    let family: ModelFamily;
    try {
      family = getFamily(s.kind ?? 'sd');
    } catch (e) {
      throw new RangeError(`${where}.kind: ${(e as Error).message}`);
    }
    return { family, conditions: parseConditions(family, s.conditions, where) };
  });

  const teId = fileIdentities();
  const vaeId = fileIdentities();
  const encoders = new Map<number, PromptEncoder>();
  const vaes = new Map<number, VaeDecoderModel>();
  const loaded: LoadedModel[] = [];
  const releaseAll = async () => {
    await Promise.all(loaded.splice(0).map((m) => m.folder.release()));
  };
  try {
    for (let i = 0; i < N; i++) {
      const spec = specs[i];
      const where = `models[${i}]${spec.name ? ` (${spec.name})` : ''}`;
      try {
        const te = await teId(join(spec.folder, 'text_encoder/model.onnx'));
        const needVae = decodeAll || i === target;
        const vid = needVae ? await vaeId(join(spec.folder, 'vae_decoder/model.onnx')) : null;
        const components: Component[] = ['unet'];
        if (te === null || !encoders.has(te)) components.push('text_encoder');
        if (needVae && (vid === null || !vaes.has(vid))) components.push('vae_decoder');
        // several UNet sessions take turns on the same cores: idle spinning thread pools would
        // compete with the running one (BENCHMARKS.md, ONNX path), so spinning is off by default
        const session = { allowSpinning: opts.models.length > 1 ? false : undefined, ...opts.session };
        const folder = await loadModelFolder(spec.folder, { ...session, components });
        const name = spec.name ?? folder.dir.split(/[\\/]/).pop()!;
        loaded.push({
          index: i,
          spec,
          name,
          folder,
          family: families[i].family,
          conditions: families[i].conditions,
        } as LoadedModel);
        if (!folder.tokenizer) throw new Error(`model folder ${folder.dir} is missing its tokenizer/ files`);
        const tokenizer = await loadClipTokenizer(folder.tokenizer.dir);
        let encoder: PromptEncoder;
        if (folder.textEncoder) {
          // the text encoder's own length (77): a UNet may take more tokens (IP-Adapter appends image
          // tokens after the 77 text tokens), which its family adds
          encoder = promptEncoder(folder.textEncoder, tokenizer);
          encoders.set(te!, encoder);
        } else {
          encoder = encoders.get(te!)!;
          checkTextWidth(encoder.model, folder);
        }
        let vae: VaeDecoderModel | null = null;
        if (needVae) {
          vae = folder.vaeDecoder ?? vaes.get(vid!)!;
          if (folder.vaeDecoder) vaes.set(vid!, folder.vaeDecoder);
          else if (vae.latentChannels !== folder.unet.latentChannels) {
            throw new RangeError(
              `vae_decoder/model.onnx takes ${vae.latentChannels} latent channels but ${folder.unet.file} has ${folder.unet.latentChannels}`,
            );
          }
        }
        Object.assign(loaded[loaded.length - 1], { name, tokenizer, encoder, vae });
        families[i].family.checkFolder?.(folder, families[i].conditions);
      } catch (e) {
        const err = e as Error;
        err.message = `${where}: ${err.message}`;
        throw err;
      }
    }

    // One latent shape and one noise schedule across models.
    const shapes = loaded.map((m) => latentShape(m.folder, opts.latentSize));
    const s0 = shapes[target];
    shapes.forEach((s, i) => {
      if (s.some((d, k) => d !== s0[k])) {
        throw new RangeError(
          `models[${i}] (${loaded[i].name}) has latent [${s.join(', ')}] (${describeInfo(loaded[i].folder.unet.latent)}) but the target models[${target}] (${loaded[target].name}) has [${s0.join(', ')}]; AMDM needs one latent shape across models`,
        );
      }
    });
    const sc = loaded[target].folder.schedule;
    loaded.forEach((m, i) => {
      const diff = sameSchedule(sc, m.folder.schedule);
      if (diff) {
        throw new RangeError(
          `models[${i}] (${m.name}) has a different noise schedule than the target (${diff}) in scheduler/scheduler_config.json; AMDM needs one shared schedule`,
        );
      }
    });
    const schedule = makeSchedule(sc);
    const shape = s0;
    const models = loaded.map((m) => ({
      name: m.name,
      kind: m.family.kind,
      folder: m.folder.dir,
      conditions: m.conditions,
      device: m.folder.unet.session.device,
    }));

    return Object.freeze({
      models,
      target,
      shape,
      schedule,
      scheduleConfig: sc,
      textEncoders: encoders.size,
      vaeDecoders: vaes.size,
      validate: async (ro: SdRunOptions) => validateRun(loaded, target, shape, schedule, ro),
      run: (ro: SdRunOptions) => runPipeline(loaded, target, decodeAll, shape, schedule, ro),
      release: releaseAll,
    });
  } catch (e) {
    await releaseAll();
    throw e;
  }
}

/** Load, run and release: the whole text-to-image call. */
export async function generateSd(opts: SdGenerateOptions): Promise<SdResult> {
  const p = await prepareSdPipeline(opts);
  try {
    await p.validate(opts);
    return await p.run(opts);
  } finally {
    await p.release();
  }
}

function checkTextWidth(te: TextEncoderModel, folder: ModelFolder): void {
  if (te.width !== folder.unet.textWidth) {
    throw new RangeError(
      `${te.file} (shared) produces last_hidden_state of width ${te.width} but ${folder.unet.file} expects ${folder.unet.text.name} of width ${folder.unet.textWidth}`,
    );
  }
}

function latentShape(folder: ModelFolder, size: readonly [number, number] | undefined): [number, number, number] {
  const u = folder.unet;
  const h = u.latentHeight ?? size?.[0];
  const w = u.latentWidth ?? size?.[1];
  if (h === undefined || w === undefined) {
    throw new RangeError(
      `${u.file} in ${folder.dir} declares latent ${describeInfo(u.latent)} with a symbolic height/width; give the latent size (height/width)`,
    );
  }
  if (size && (size[0] !== h || size[1] !== w)) {
    throw new RangeError(
      `latent size [${size.join(', ')}] differs from the declared latent ${describeInfo(u.latent)} of ${u.file} in ${folder.dir}`,
    );
  }
  return [u.latentChannels, h, w];
}

/**
 * A warning per prompt (each model's own or the job's, and the negative prompt) that has more
 * tokens than its model's text encoder reads (maxLength − 2: the start and end tokens take two);
 * the tokenizer truncates them, as diffusers does, so the end of the text has no effect.
 */
function longPromptWarnings(loaded: readonly LoadedModel[], prompt: string, negativePrompt: string): string[] {
  const out: string[] = [];
  loaded.forEach((m, k) => {
    for (const [what, text] of [
      ['prompt', m.spec.prompt ?? prompt],
      ['negativePrompt', negativePrompt],
    ] as const) {
      const tokens = m.tokenizer.encode(text, { padding: 'none', truncation: false }).length - 2;
      const reads = m.tokenizer.maxLength - 2;
      if (tokens > reads) {
        out.push(
          `models[${k}] (${m.name}): the ${what} is ${tokens} tokens and the text encoder reads ${reads}, so the last ${tokens - reads} are dropped; shorten it`,
        );
      }
    }
  });
  return out;
}

/** The run options, checked and with their defaults. */
interface RunSettings {
  negativePrompt: string;
  steps: number;
  guidance: number;
  seed: number;
  batch: number;
  scalingFactor: number;
  preset: Preset;
  ddimEta: number;
  /** The sampler's options besides its models (`sampleAMDM`'s, or `sampleAMDMReference`'s). */
  paper: Omit<AMDMOptions, 'models'>;
  reference: Omit<ReferenceOptions, 'models'> | null;
}

/**
 * The SD pipeline's s when a run gives none: min(3, T), not the paper's 20 of 50
 * (AMDM_DEFAULTS.aggregateSteps). Neither the history nor the docs record why 3 was chosen; the
 * nearest source is the official code's loop, which merges in 3 iterations (optim_start 1 to
 * optim_end 3 in infer800.py, `COCO_MIG_REFERENCE`). It is kept so that jobs without
 * `aggregateSteps` sample as they always did; the example jobs set it explicitly.
 */
export function sdAggregateSteps(steps: number): number {
  return Math.min(3, steps);
}

/** The prompt, the negative prompt (default '') and the warning callback, checked. */
function checkPrompts(ro: SdRunOptions): string {
  if (ro === null || typeof ro !== 'object') throw new TypeError('run options must be an object');
  if (typeof ro.prompt !== 'string') throw new TypeError(`prompt must be a string, got ${describe(ro.prompt)}`);
  const negativePrompt = ro.negativePrompt ?? '';
  if (typeof negativePrompt !== 'string')
    throw new TypeError(`negativePrompt must be a string, got ${describe(negativePrompt)}`);
  if (ro.onWarning !== undefined && typeof ro.onWarning !== 'function')
    throw new TypeError('onWarning must be a function');
  return negativePrompt;
}

/** `validate`: every check of a run, and the warnings about prompts the text encoder cuts; no model runs. */
function validateRun(
  loaded: readonly LoadedModel[],
  target: number,
  shape: [number, number, number],
  schedule: NoiseSchedule,
  ro: SdRunOptions,
): void {
  const negativePrompt = checkPrompts(ro);
  if (ro.onWarning) for (const w of longPromptWarnings(loaded, ro.prompt, negativePrompt)) ro.onWarning(w);
  checkRunOptions(ro, loaded.length, target, shape, schedule);
}

/** Checks the run options after the prompts, the sampler's through its own resolver: no model runs. */
function checkRunOptions(
  ro: SdRunOptions,
  N: number,
  target: number,
  shape: [number, number, number],
  schedule: NoiseSchedule,
): RunSettings {
  const negativePrompt = ro.negativePrompt ?? '';
  const steps = checkInt('steps', ro.steps ?? AMDM_DEFAULTS.steps, 1, schedule.alphasCumprod.length);
  const aggregateSteps = ro.aggregateSteps ?? sdAggregateSteps(steps);
  const guidance = checkNumber('guidance', ro.guidance ?? AMDM_DEFAULTS.guidance, 0);
  if (!Number.isFinite(guidance)) throw new RangeError(`guidance must be a finite number >= 0, got ${guidance}`);
  const seed = checkInt('seed', ro.seed ?? AMDM_DEFAULTS.seed, 0, Number.MAX_SAFE_INTEGER);
  const batch = checkInt('batch', ro.batch ?? AMDM_DEFAULTS.batch, 1, 1024);
  const scalingFactor = checkNumber('scalingFactor', ro.scalingFactor ?? SD_SCALING_FACTOR, 0, Infinity, {
    minExclusive: true,
  });
  if (!Number.isFinite(scalingFactor))
    throw new RangeError(`scalingFactor must be a finite number > 0, got ${scalingFactor}`);
  const preset = checkOneOf('preset', ro.preset ?? 'paper', PRESETS);
  const ddimEta = ro.ddimEta ?? AMDM_DEFAULTS.ddimEta;
  if (preset === 'reference') {
    if (!ro.reference || typeof ro.reference !== 'object') {
      throw new TypeError("reference must be { omegas, optimStart, optimEnd, p } when preset is 'reference'");
    }
    if (ddimEta !== 0)
      throw new RangeError(
        `ddimEta must be 0 with preset 'reference' (the official code is deterministic DDIM), got ${ddimEta}`,
      );
  }
  if (ro.onProgress !== undefined && typeof ro.onProgress !== 'function')
    throw new TypeError('onProgress must be a function');
  if (ro.onStep !== undefined && typeof ro.onStep !== 'function') throw new TypeError('onStep must be a function');
  const common = { target, steps, shape, batch, seed, schedule };
  const paper = {
    ...common,
    aggregateSteps,
    weights: ro.weights,
    deviation: ro.deviation,
    eta: ro.eta,
    etaScale: ro.etaScale,
    rule: ro.rule,
    ddimEta,
  };
  let reference: RunSettings['reference'] = null;
  if (preset === 'reference') {
    const { omegas, optimStart, optimEnd, p } = ro.reference!;
    reference = { ...common, omegas, optimStart, optimEnd, p };
    resolveReferencePlan({ ...reference, models: N });
  } else {
    resolveAMDMPlan({ ...paper, models: N });
  }
  return { negativePrompt, steps, guidance, seed, batch, scalingFactor, preset, ddimEta, paper, reference };
}

async function runPipeline(
  loaded: LoadedModel[],
  target: number,
  decodeAll: boolean,
  shape: [number, number, number],
  schedule: NoiseSchedule,
  ro: SdRunOptions,
): Promise<SdResult> {
  checkPrompts(ro);
  const run = checkRunOptions(ro, loaded.length, target, shape, schedule);
  const { steps, batch } = run;

  const encodersUsed = [...new Set(loaded.map((m) => m.encoder))];
  const runsBefore = encodersUsed.reduce((a, e) => a + e.runs, 0);
  const denoisers = await createDenoisers(loaded, ro, run, shape);
  let done = 0;
  const progressTarget: Denoiser = {
    name: denoisers[target].name,
    eps: async (x, t, b) => {
      // the reference preset's loop takes no signal: stop it here, before the target's next call
      throwIfAborted(ro.signal);
      const e = await denoisers[target].eps(x, t, b);
      done++;
      ro.onProgress?.(done, steps);
      return e;
    },
  };
  const models: Denoiser[] = denoisers.map((d, k) => (k === target ? progressTarget : d));

  try {
    const trace: StepTrace[] | null = ro.trace && run.preset === 'paper' ? [] : null;
    const onStep =
      trace || ro.onStep
        ? (s: StepTrace) => {
            trace?.push(s);
            ro.onStep?.(s);
          }
        : undefined;
    const r = run.reference
      ? await sampleAMDMReference({ ...run.reference, models })
      : await sampleAMDM({ ...run.paper, models, signal: ro.signal, onStep });
    const { latents, modelLatents, calls, timesteps: ts } = r;
    const aggregatedAt = 'aggregatedAt' in r ? r.aggregatedAt : null;
    const finishCalls = decodeAll
      ? await finishOwnRuns(models, target, r, run, ro.signal)
      : new Array<number>(loaded.length).fill(0);

    let vaeRuns = 0;
    const decode = async (k: number, lat: Float32Array): Promise<ModelImages> => {
      vaeRuns++;
      return decodeModel(loaded[k], k, lat, run, [shape[1], shape[2]]);
    };
    const targetImages = await decode(target, latents);
    let all: ModelImages[] | null = null;
    if (decodeAll) {
      all = [];
      for (let k = 0; k < loaded.length; k++) all.push(k === target ? targetImages : await decode(k, modelLatents[k]));
    }
    const textEncoderRuns = encodersUsed.reduce((a, e) => a + e.runs, 0) - runsBefore;
    const totalCalls = calls.reduce((a, b) => a + b, 0) + finishCalls.reduce((a, b) => a + b, 0);
    return {
      target: targetImages,
      models: all,
      trace,
      aggregatedAt,
      calls,
      finishCalls,
      totalCalls,
      textEncoderRuns,
      vaeRuns,
      timesteps: ts,
      shape: [...shape] as [number, number, number],
      batch,
    };
  } finally {
    await Promise.all(denoisers.map((d) => d.release?.()));
  }
}

/** Each model's family denoiser for this run's prompt (released again if one fails). */
async function createDenoisers(
  loaded: readonly LoadedModel[],
  ro: SdRunOptions,
  run: RunSettings,
  shape: [number, number, number],
): Promise<FamilyDenoiser[]> {
  const denoisers: FamilyDenoiser[] = [];
  try {
    for (const m of loaded) {
      const ctx: FamilyContext = {
        folder: m.folder,
        tokenizer: m.tokenizer,
        encodeText: (texts) => m.encoder.encode(texts),
        guidance: run.guidance,
        negativePrompt: run.negativePrompt,
        batch: run.batch,
        seed: run.seed,
        latentSize: [shape[1], shape[2]],
        name: m.name,
      };
      denoisers.push(await m.family.createDenoiser(ctx, m.spec.prompt ?? ro.prompt, m.conditions));
    }
  } catch (e) {
    await Promise.all(denoisers.map((d) => d.release?.()));
    throw e;
  }
  return denoisers;
}

/**
 * `decodeAll`: each non-target model finishes its own DDIM run from where AMDM left it (after its
 * s steps) down to t = 0, as the official code decodes every model (sources M§2.1); its DDIM
 * noise (η_ddim > 0) comes from stream 1000 + k of the seed. Replaces its latents in
 * `r.modelLatents`; returns the extra model calls per model.
 */
async function finishOwnRuns(
  models: readonly Denoiser[],
  target: number,
  r: { modelLatents: Float32Array[]; calls: readonly number[]; timesteps: readonly number[] },
  run: RunSettings,
  signal: AbortSignal | undefined,
): Promise<number[]> {
  const { steps, batch, seed, ddimEta } = run;
  const { shape, schedule } = run.paper;
  const finishCalls = new Array<number>(models.length).fill(0);
  for (let k = 0; k < models.length; k++) {
    if (k === target) continue;
    const own = await sampleDDIM(models[k], {
      steps,
      timesteps: r.timesteps,
      startStep: r.calls[k],
      latents: r.modelLatents[k],
      stream: 1000 + k,
      ddimEta,
      seed,
      shape,
      batch,
      schedule,
      signal,
    });
    r.modelLatents[k] = own.latents;
    finishCalls[k] = own.calls[0];
  }
  return finishCalls;
}

/** The VAE decoder on latents / scaling factor, then each sample as RGBA and PNG. */
async function decodeModel(
  m: LoadedModel,
  k: number,
  lat: Float32Array,
  run: RunSettings,
  latentSize: [number, number],
): Promise<ModelImages> {
  const { batch, scalingFactor } = run;
  const vae = m.vae!;
  const scaled = new Float32Array(lat.length);
  for (let i = 0; i < lat.length; i++) scaled[i] = lat[i] / scalingFactor;
  const { image, dims } = await decodeLatents(vae, scaled, batch, latentSize);
  if (dims.length !== 4 || dims[0] !== batch || dims[1] !== 3) {
    throw new RangeError(
      `${m.folder.dir}/${vae.file} returned an image of dims [${dims.join(', ')}]; expected [${batch}, 3, height, width]`,
    );
  }
  const [, , H, W] = dims;
  const images: RGBA[] = [];
  const png: Uint8Array[] = [];
  for (let b = 0; b < batch; b++) {
    const img = rgbaFromSdImage(image.subarray(b * 3 * H * W, (b + 1) * 3 * H * W), H, W);
    images.push(img);
    png.push(await encodePNG(img));
  }
  return { model: k, name: m.name, latents: lat, images, png };
}
