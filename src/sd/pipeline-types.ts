/**
 * The SD pipeline's public types and constants (options, results, the prepared pipeline) and the
 * loaded-model record shared by its modules (pipeline.ts, pipeline-load.ts, pipeline-settings.ts,
 * pipeline-run.ts).
 */
import type { SpatialSpec } from '../core/spatial.ts';
import type { AMDMOptions, StepTrace } from '../core/sampler.ts';
import type { NoiseSchedule, ScheduleConfig } from '../core/schedule.ts';
import type { Denoiser } from '../core/types.ts';
import type { RGBA } from '../image/raster.ts';
import type { SessionOptions } from '../onnx/session.ts';
import type { ModelFolder, VaeDecoderModel } from '../onnx/model-folder.ts';
import type { ClipTokenizer } from './clip-tokenizer.ts';
import type { ModelFamily } from './family.ts';
import type { PromptEncoder } from './text.ts';

/** SD 1.x `vae.config.scaling_factor`. */
export const SD_SCALING_FACTOR = 0.18215;
export const PRESETS = ['paper', 'reference'] as const;
export type Preset = (typeof PRESETS)[number];
/**
 * Where the initial latents come from: 'amdm' (default): model k draws from `gaussianRng(seed,
 * stream)` (core/sampler.ts); 'torch': model k's latents are `torch.randn([batch, C, H, W],
 * generator=torch.Generator().manual_seed(seed + k))`, as a diffusers user draws them on the CPU
 * (core/torch-rng.ts), so runs can be compared with diffusers latent for latent.
 */
export const NOISE_SOURCES = ['amdm', 'torch'] as const;
export type NoiseSource = (typeof NOISE_SOURCES)[number];

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
  /**
   * UNets in worker threads (backend 'node'; default false): `true` runs every UNet but the
   * target's in its own worker thread, an array runs those of the listed (non-target) model
   * indices there. The models' calls of an aggregated step then run at the same time
   * (onnxruntime-node runs the sessions of one thread in turn); the UNets left on this thread
   * (always the target's) start after the workers' calls are posted, one after the other. Keep a
   * cheap model on this thread when the models outnumber the cores. Same images bit for bit;
   * costs one more UNet session per model in a worker.
   */
  unetWorkers?: boolean | readonly number[];
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
  /** Per non-target model: the steps [start, end) it is merged on, or null for [0, s) (`sampleAMDM`'s `windows`). */
  windows?: AMDMOptions['windows'];
  /**
   * Per non-target model: a spatial weight map over the latent's H×W (or null), given as the
   * weights or as boxes (fractions of the image) with a feathered edge (core/spatial.ts).
   */
  spatial?: readonly (SpatialSpec | null)[];
  /** Restrict the mapped models' deviation steps to their maps. */
  spatialDeviation?: boolean;
  etaScale?: AMDMOptions['etaScale'];
  rule?: AMDMOptions['rule'];
  ddimEta?: number;
  /** CFG scale (default 7.5, AMDM_DEFAULTS.guidance). */
  guidance?: number;
  seed?: number;
  /** Initial latents: 'amdm' (default) or 'torch' (`NOISE_SOURCES`). */
  noise?: NoiseSource;
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
  /**
   * A sampler run instead of AMDM over this run's model denoisers (each its family's CFG ε), e.g.
   * a compositional baseline (`composeSampler`, sd/compose-sampler.ts). Paper preset only and not
   * with `decodeAll`; the AMDM options (s, weights, η, rule, ddimEta, trace) are then unused.
   */
  sampler?: SdSampler;
  signal?: AbortSignal;
}

/** What a custom sampler of a run gets: every model's denoiser, in model order, and the run's settings. */
export interface SdSamplerContext {
  readonly models: readonly Denoiser[];
  readonly target: number;
  /** [C, H, W] of one latent sample. */
  readonly shape: readonly [number, number, number];
  readonly batch: number;
  readonly steps: number;
  readonly seed: number;
  readonly schedule: NoiseSchedule;
  readonly signal?: AbortSignal;
}

export interface SdSamplerResult {
  /** Final latents, batch·C·H·W values. */
  latents: Float32Array;
  /** Batched UNet calls per model. */
  calls: number[];
  /** The training timesteps visited, in sampling order. */
  timesteps: number[];
}

export type SdSampler = (context: SdSamplerContext) => Promise<SdSamplerResult>;

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

/** A loaded model folder with its family, conditions, tokenizer, prompt encoder and (if decoded) VAE. */
export interface LoadedModel {
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

/** The loaded models of a prepared pipeline and what a run needs of them. */
export interface PreparedModels {
  readonly loaded: readonly LoadedModel[];
  readonly target: number;
  readonly decodeAll: boolean;
  /** [C, H, W] of one latent sample, shared by every model. */
  readonly shape: [number, number, number];
  readonly schedule: NoiseSchedule;
  /** Whether the sampler starts the active models' calls of a step together (UNets in worker threads). */
  readonly concurrent: boolean;
  /** With `concurrent`: the models whose UNets run on this thread, which yield once before each call. */
  readonly startLast: readonly number[];
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
