/**
 * The models of `amdm bench coco-mig` (coco-mig.ts): the InteractDiffusion and MIGC folders
 * loaded and checked against each other, and one benchmark image made with them (AMDM, or the
 * official loop), decoded and written as a PNG.
 */
import { sampleAMDMReference } from '../core/reference.ts';
import { sampleAMDM } from '../core/sampler.ts';
import { makeSchedule, timesteps as scheduleTimesteps, type NoiseSchedule } from '../core/schedule.ts';
import { encodePNG } from '../image/png.ts';
import { rgbaFromSdImage } from '../image/raster.ts';
import { decodeLatents } from '../onnx/components.ts';
import { loadModelFolder, type ModelFolder } from '../onnx/model-folder.ts';
import { loadClipTokenizer } from '../sd/clip-tokenizer-files.ts';
import { cocoMigInteract, cocoMigMigc, type CocoMigEntry } from '../sd/coco-mig.ts';
import { standaloneContext } from '../sd/families/context.ts';
import { interactDiffusionFamily } from '../sd/families/interactdiffusion.ts';
import { migcFamily } from '../sd/families/migc.ts';
import { writeFileAtomic } from '../io/files.ts';
import type { CocoMigRunSettings } from './coco-mig-settings.ts';

/** SD 1.x VAE scaling factor (sources M§6). */
const SCALING_FACTOR = 0.18215;

/** The two folders, their shared schedule and latent shape, and their tokenizers. */
export interface CocoMigModels {
  interact: ModelFolder;
  migc: ModelFolder;
  schedule: NoiseSchedule;
  timesteps: number[];
  shape: number[];
  tokI: Awaited<ReturnType<typeof loadClipTokenizer>>;
  tokM: Awaited<ReturnType<typeof loadClipTokenizer>>;
}

/**
 * Loads both folders (each pushed onto `folders` as soon as it is loaded, for the caller to
 * release) and checks them against every entry left to make and against each other.
 */
export async function openCocoMigModels(
  dirs: { interact: string; migc: string },
  entries: readonly CocoMigEntry[],
  s: CocoMigRunSettings,
  folders: ModelFolder[],
): Promise<CocoMigModels> {
  const session = { device: s.device, ...(s.threads ? { intraOpNumThreads: s.threads } : {}) };
  const interact = await loadModelFolder(dirs.interact, session);
  folders.push(interact);
  const migc = await loadModelFolder(dirs.migc, { ...session, components: ['unet', 'text_encoder'] });
  folders.push(migc);
  for (const entry of entries) {
    interactDiffusionFamily.checkFolder!(interact, cocoMigInteract(entry));
    migcFamily.checkFolder!(migc, cocoMigMigc(entry, s.migcSteps));
  }
  const shapeOf = (f: ModelFolder) => [f.unet.latentChannels, f.unet.latentHeight, f.unet.latentWidth];
  const [si, sm] = [shapeOf(interact), shapeOf(migc)];
  if (si.some((d, k) => d === null || d !== sm[k])) {
    throw new RangeError(
      `the InteractDiffusion latent [${si.join(', ')}] and the MIGC latent [${sm.join(', ')}] must be equal and fixed`,
    );
  }
  for (const k of Object.keys(interact.schedule) as (keyof typeof interact.schedule)[]) {
    if (interact.schedule[k] !== migc.schedule[k])
      throw new RangeError(`the two folders have different noise schedules (${k}); AMDM needs one shared schedule`);
  }
  const schedule = makeSchedule(interact.schedule);
  const timesteps = scheduleTimesteps(schedule, s.steps);
  const shape = si as number[];
  const tokI = await loadClipTokenizer(interact.tokenizer!.dir);
  const tokM = await loadClipTokenizer(migc.tokenizer!.dir);
  return { interact, migc, schedule, timesteps, shape, tokI, tokM };
}

/** One entry's image: both denoisers made for it, sampled with the run's preset, decoded and written to `path`. */
export async function makeCocoMigImage(
  m: CocoMigModels,
  entry: CocoMigEntry,
  seed: number,
  s: CocoMigRunSettings,
  path: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  const base = { guidance: s.guidance, negativePrompt: s.negativePrompt, seed, timesteps: m.timesteps };
  const dI = await interactDiffusionFamily.createDenoiser(
    await standaloneContext(m.interact, { ...base, tokenizer: m.tokI, name: 'interactdiffusion' }),
    entry.caption,
    cocoMigInteract(entry),
  );
  const dM = await migcFamily.createDenoiser(
    await standaloneContext(m.migc, { ...base, tokenizer: m.tokM, name: 'migc' }),
    entry.caption,
    cocoMigMigc(entry, s.migcSteps),
  );
  const common = { models: [dI, dM], target: 0, steps: s.steps, shape: m.shape, batch: 1, seed, schedule: m.schedule };
  const { ref } = s;
  const latents =
    s.preset === 'paper'
      ? (
          await sampleAMDM({
            ...common,
            aggregateSteps: s.aggregateSteps,
            weights: s.weight,
            eta: s.eta,
            etaScale: s.etaScale,
            rule: s.rule,
            signal,
          })
        ).latents
      : (
          await sampleAMDMReference({
            ...common,
            omegas: [ref.omega],
            optimStart: ref.optimStart,
            optimEnd: ref.optimEnd,
            p: ref.p,
          })
        ).latents;
  const scaled = latents.map((v) => v / SCALING_FACTOR);
  const { image, dims } = await decodeLatents(m.interact.vaeDecoder!, scaled, 1, [m.shape[1], m.shape[2]]);
  await writeFileAtomic(path, await encodePNG(rgbaFromSdImage(image, dims[2], dims[3])));
}
