/**
 * One run of a prepared SD pipeline (`SdPipeline.run`): each model's family denoiser for the
 * prompt, the sampler, the non-target models' own runs (`decodeAll`), the VAE decoder and PNGs.
 */
import { throwIfAborted } from '../core/abort.ts';
import { sampleAMDMReference } from '../core/reference.ts';
import { sampleAMDM, sampleDDIM, type StepTrace } from '../core/sampler.ts';
import { resolveAMDMPlan } from '../core/sampler-plan.ts';
import { torchRandn } from '../core/torch-rng.ts';
import type { Denoiser } from '../core/types.ts';
import { encodePNG } from '../image/png.ts';
import { rgbaFromSdImage, type RGBA } from '../image/raster.ts';
import { decodeLatents } from '../onnx/components.ts';
import type { FamilyContext, FamilyDenoiser } from './family.ts';
import { checkPrompts, resolveRunSettings, type RunSettings } from './pipeline-settings.ts';
import type {
  LoadedModel,
  ModelImages,
  PreparedModels,
  SdResult,
  SdRunOptions,
  SdSamplerResult,
} from './pipeline-types.ts';

/** One run of a prepared pipeline: denoisers, the sampler (AMDM, the reference loop or a custom one), decoding. */
export async function runPipeline(prepared: PreparedModels, options: SdRunOptions): Promise<SdResult> {
  const { loaded, target, decodeAll, shape } = prepared;
  // 1. check the prompts and resolve the run's settings
  checkPrompts(options);
  const settings = resolveRunSettings(prepared, options);
  const { steps, batch } = settings;
  // 2. encode the prompts into each model's denoiser; the target's reports progress
  const encodersUsed = [...new Set(loaded.map((m) => m.encoder))];
  const runsBefore = encodersUsed.reduce((a, e) => a + e.runs, 0);
  const denoisers = await createDenoisers(loaded, options, settings, shape);
  const models = withProgress(denoisers, { target, steps, options, startLast: prepared.startLast });
  try {
    // 3. sample (AMDM, the reference loop or a custom sampler), tracing the steps when asked
    const trace: StepTrace[] | null = options.trace && settings.preset === 'paper' ? [] : null;
    const onStep =
      trace || options.onStep
        ? (s: StepTrace) => {
            trace?.push(s);
            options.onStep?.(s);
          }
        : undefined;
    const r = await sample(prepared, settings, models, options.signal, onStep);
    const { latents, modelLatents, calls, timesteps: ts } = r;
    // 4. with decodeAll, every other model finishes its own image from where the run left it
    const finishCalls = decodeAll
      ? await finishOwnRuns(models, target, r, settings, options.signal)
      : new Array<number>(loaded.length).fill(0);
    // 5. decode the target's latents (and every model's with decodeAll)
    let vaeRuns = 0;
    const decode = async (k: number, lat: Float32Array): Promise<ModelImages> => {
      vaeRuns++;
      return decodeModel(loaded[k], k, lat, settings, [shape[1], shape[2]]);
    };
    const targetImages = await decode(target, latents);
    let all: ModelImages[] | null = null;
    if (decodeAll) {
      all = [];
      for (let k = 0; k < loaded.length; k++) all.push(k === target ? targetImages : await decode(k, modelLatents[k]));
    }
    // 6. the images and what the run cost
    const textEncoderRuns = encodersUsed.reduce((a, e) => a + e.runs, 0) - runsBefore;
    const totalCalls = calls.reduce((a, b) => a + b, 0) + finishCalls.reduce((a, b) => a + b, 0);
    return {
      target: targetImages,
      models: all,
      trace,
      aggregatedAt: r.aggregatedAt ?? null,
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

/**
 * The denoisers with the target's counting its calls for `onProgress` and checking the abort
 * signal. `startLast`: the models whose UNets run on this thread while others run in worker
 * threads (`unetWorkers`); each yields once before its call, so that the sampler has posted the
 * workers' calls of the step before this thread runs a UNet (onnxruntime-node already defers a
 * run to a `setImmediate`, then runs it on this thread; a backend that ran at once would hold
 * this thread for the whole call before the workers start).
 */
function withProgress(
  denoisers: readonly Denoiser[],
  o: { target: number; steps: number; options: SdRunOptions; startLast: readonly number[] },
): Denoiser[] {
  const { target, steps, options, startLast } = o;
  let done = 0;
  const progressTarget: Denoiser = {
    name: denoisers[target].name,
    eps: async (x, t, b) => {
      // the reference preset's loop takes no signal: stop it here, before the target's next call
      throwIfAborted(options.signal);
      if (startLast.includes(target)) await undefined;
      const e = await denoisers[target].eps(x, t, b);
      done++;
      options.onProgress?.(done, steps);
      return e;
    },
  };
  const afterWorkers = (d: Denoiser): Denoiser => ({
    name: d.name,
    eps: async (x, t, b) => {
      await undefined;
      return d.eps(x, t, b);
    },
  });
  return denoisers.map((d, k) => (k === target ? progressTarget : startLast.includes(k) ? afterWorkers(d) : d));
}

/** The run's sampler: a custom one (`SdRunOptions.sampler`), the official-code loop, or Algorithm 1. */
async function sample(
  prepared: PreparedModels,
  settings: RunSettings,
  models: Denoiser[],
  signal: AbortSignal | undefined,
  onStep: ((s: StepTrace) => void) | undefined,
): Promise<{
  latents: Float32Array;
  modelLatents: Float32Array[];
  calls: number[];
  timesteps: number[];
  aggregatedAt?: number[];
}> {
  if (settings.sampler) {
    const { target, shape, schedule } = prepared;
    const { batch, steps, seed } = settings;
    const r = await settings.sampler({ models, target, shape, batch, steps, seed, schedule, signal });
    checkSamplerResult(r, models.length, batch * shape[0] * shape[1] * shape[2]);
    return { ...r, modelLatents: [] };
  }
  const latents = settings.noise === 'torch' ? torchLatents(models.length, settings, prepared.shape) : undefined;
  if (settings.reference) return sampleAMDMReference({ ...settings.reference, models, latents });
  return sampleAMDM({ ...settings.paper, models, signal, onStep, latents, concurrent: prepared.concurrent });
}

/**
 * noise 'torch': model k starts from `torch.randn([batch, C, H, W], generator=
 * torch.Generator().manual_seed(seed + k))`, the latents diffusers' pipeline draws on the CPU
 * (`randn_tensor`; DDIM's init_noise_sigma is 1).
 */
export function torchLatents(
  models: number,
  settings: Pick<RunSettings, 'seed' | 'batch'>,
  shape: readonly number[],
): Float32Array[] {
  return Array.from({ length: models }, (_, k) => torchRandn(settings.seed + k, [settings.batch, ...shape]));
}

function checkSamplerResult(r: SdSamplerResult, models: number, size: number): void {
  if (!r || !(r.latents instanceof Float32Array) || r.latents.length !== size)
    throw new RangeError(`sampler must return latents: a Float32Array of batch·C·H·W = ${size} values`);
  if (!Array.isArray(r.calls) || r.calls.length !== models)
    throw new RangeError(`sampler must return calls: one count per model (${models})`);
  if (!Array.isArray(r.timesteps)) throw new RangeError('sampler must return timesteps: the timesteps visited');
}

/** Each model's family denoiser for this run's prompt (released again if one fails). */
async function createDenoisers(
  loaded: readonly LoadedModel[],
  options: SdRunOptions,
  settings: RunSettings,
  shape: [number, number, number],
): Promise<FamilyDenoiser[]> {
  const denoisers: FamilyDenoiser[] = [];
  const timesteps = runTimesteps(settings, loaded.length);
  try {
    for (const m of loaded) {
      const ctx: FamilyContext = {
        folder: m.folder,
        tokenizer: m.tokenizer,
        encodeText: (texts) => m.encoder.encode(texts),
        guidance: settings.guidance,
        negativePrompt: settings.negativePrompt,
        batch: settings.batch,
        seed: settings.seed,
        latentSize: [shape[1], shape[2]],
        name: m.name,
        ...(timesteps ? { timesteps } : {}),
      };
      denoisers.push(await m.family.createDenoiser(ctx, m.spec.prompt ?? options.prompt, m.conditions));
    }
  } catch (e) {
    await Promise.all(denoisers.map((d) => d.release?.()));
    throw e;
  }
  return denoisers;
}

/**
 * The timesteps AMDM visits, handed to the families so that a step-dependent one (MIGC switches
 * graphs at step MIGCsteps, M§4.3) knows the run's step index even when its window starts late
 * (it is first called at step start_k, not 0). The reference loop and custom samplers have no
 * per-model windows: their families count their calls (undefined).
 */
function runTimesteps(settings: RunSettings, models: number): readonly number[] | undefined {
  if (settings.sampler || settings.reference) return undefined;
  return resolveAMDMPlan({ ...settings.paper, models }).timesteps;
}

/**
 * `decodeAll`: each non-target model finishes its own DDIM run from where AMDM left it (after its
 * s steps, or the end of its window) down to t = 0, as the official code decodes every model (sources M§2.1); its DDIM
 * noise (η_ddim > 0) comes from stream 1000 + k of the seed. Replaces its latents in
 * `r.modelLatents`; returns the extra model calls per model.
 */
async function finishOwnRuns(
  models: readonly Denoiser[],
  target: number,
  r: { modelLatents: Float32Array[]; calls: readonly number[]; timesteps: readonly number[] },
  settings: RunSettings,
  signal: AbortSignal | undefined,
): Promise<number[]> {
  const { steps, batch, seed, ddimEta } = settings;
  const { shape, schedule } = settings.paper;
  const finishCalls = new Array<number>(models.length).fill(0);
  // where each model stopped: the end of its window (`windows`), or step 0 when it never ran
  const { windows } = resolveAMDMPlan({ ...settings.paper, models: models.length });
  for (let k = 0; k < models.length; k++) {
    if (k === target) continue;
    const own = await sampleDDIM(models[k], {
      steps,
      timesteps: r.timesteps,
      startStep: r.calls[k] === 0 ? 0 : windows[k][1],
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
  settings: RunSettings,
  latentSize: [number, number],
): Promise<ModelImages> {
  const { batch, scalingFactor } = settings;
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
