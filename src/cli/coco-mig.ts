/**
 * `amdm bench coco-mig`: generate the COCO-MIG benchmark images with AMDM over
 * InteractDiffusion (target) and MIGC, as AMDM's `infer800.py` (sources M§4.6, §2.5).
 *
 * - reads the 800-entry mig_bench.json and maps each entry with src/sd/coco-mig.ts;
 * - shards (`--shard i/n`, or `--shard auto` from a Kubernetes Indexed Job / Slurm job array);
 * - resumes: an image already written AND readable (decodePNG succeeds) is skipped, an
 *   unreadable one is generated again; every image is written atomically;
 * - records the sampling settings in `settings.json` before the first image and resumes only
 *   with the same settings (a rerun with another --steps/--s/--w… is refused, naming the
 *   setting), so a folder never mixes images made with different settings;
 * - checks (and creates) the output folder and sweeps temporary files of killed runs before a
 *   model is loaded;
 * - validates every entry of the shard against both families and folders before a model runs;
 * - shows a progress bar with ETA on stderr (cli-progress).
 * Each image's seed is `seed + key` (cocoMigSeed), so an image does not depend on the sharding.
 */
import { readdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { throwIfAborted } from '../core/abort.ts';
import { sampleAMDMReference } from '../core/reference.ts';
import { AMDM_DEFAULTS } from '../core/defaults.ts';
import { ruleNames } from '../core/rule-registry.ts';
import { sampleAMDM } from '../core/sampler.ts';
import { makeSchedule, timesteps as scheduleTimesteps } from '../core/schedule.ts';
import { checkInt, checkNumber, checkOneOf } from '../core/validate.ts';
import { decodePNG, encodePNG } from '../image/png.ts';
import { rgbaFromSdImage } from '../image/raster.ts';
import { decodeLatents } from '../onnx/components.ts';
import { loadModelFolder, type ModelFolder } from '../onnx/model-folder.ts';
import { DEVICES, type Device } from '../onnx/session.ts';
import { loadClipTokenizer } from '../sd/clip-tokenizer-files.ts';
import {
  COCO_MIG_NEGATIVE_PROMPT,
  cocoMigFileName,
  cocoMigInteract,
  cocoMigMigc,
  parseCocoMig,
  parseShard,
  shardItems,
  type CocoMigEntry,
  type Shard,
} from '../sd/coco-mig.ts';
import { standaloneContext } from '../sd/families/context.ts';
import { interactDiffusionFamily } from '../sd/families/interactdiffusion.ts';
import { MIGC_DEFAULT_STEPS, migcFamily } from '../sd/families/migc.ts';
import { createFileAtomic, ensureDir, jsonText, sweepTempFiles, writeFileAtomic } from './files.ts';
import { ruleArg, ruleHelp } from './options.ts';

/** SD 1.x VAE scaling factor (sources M§6). */
const SCALING_FACTOR = 0.18215;

export interface CocoMigOptions {
  /** mig_bench.json. */
  bench: string;
  /** Output folder for `{image_id:06d}_{key}.png`. */
  output: string;
  /** InteractDiffusion folder (target) and MIGC folder. */
  interact: string;
  migc: string;
  /** "i/n", "auto" or undefined (everything). */
  shard?: string;
  /** Shard count for `--shard auto` under Kubernetes. */
  shardCount?: number;
  /** Environment for `--shard auto` (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Only these entry keys (before sharding). */
  keys?: readonly string[];
  /** Only the first `limit` entries (before sharding). */
  limit?: number;
  /** Paper settings (InteractDiffusion + MIGC): T = 50, s = 20, w = 0.5, η = 0.3 (√d-scaled). */
  steps?: number;
  aggregateSteps?: number;
  weight?: number;
  /** η per model [interact, migc] or one for both. */
  eta?: number | readonly [number, number];
  etaScale?: 'sqrtDim' | 'absolute';
  /** A registered aggregation rule. */
  rule?: string;
  guidance?: number;
  negativePrompt?: string;
  migcSteps?: number;
  seed?: number;
  /** 'paper' (default) or 'reference' (the official loop: vp merge ω, optim 1..3, p per model). */
  preset?: 'paper' | 'reference';
  reference?: { omega: number; optimStart: number; optimEnd: number; p: readonly [number, number] };
  device?: Device;
  threads?: number;
  /** Progress bar on stderr (default: when stderr is a terminal). */
  progress?: boolean;
  signal?: AbortSignal;
}

export interface CocoMigSummary {
  outputDir: string;
  shard: Shard;
  /** Keys of this shard, in order. */
  keys: string[];
  /** Paths written (new or regenerated). */
  written: string[];
  /** Paths already present and readable. */
  skipped: string[];
  /** Paths that were present but unreadable, and were generated again. */
  regenerated: string[];
}

/** infer800.py's official-loop values: ω 0.5, optim 1..3, p interact 45 / migc 55. */
export const COCO_MIG_REFERENCE = Object.freeze({ omega: 0.5, optimStart: 1, optimEnd: 3, p: [45, 55] as const });

/** The file in the output folder that records the settings every image there was made with. */
export const COCO_MIG_SETTINGS_FILE = 'settings.json';

/** The settings an image depends on (besides its entry), with the flag that sets each. */
const SETTING_FLAGS = {
  steps: '--steps',
  aggregateSteps: '--s',
  weight: '--w',
  eta: '--eta',
  etaScale: '--eta-scale',
  rule: '--rule',
  guidance: '--guidance',
  negativePrompt: 'negativePrompt',
  migcSteps: '--migc-steps',
  seed: '--seed',
  preset: '--preset',
  reference: 'reference',
} as const;
type CocoMigSettings = { [K in keyof typeof SETTING_FLAGS]: unknown };

/**
 * Records `settings` in the folder (first run), or checks that they equal the recorded ones;
 * the RangeError names every setting that differs, as the flag the user typed.
 */
async function claimSettings(outputDir: string, settings: CocoMigSettings): Promise<void> {
  const file = join(outputDir, COCO_MIG_SETTINGS_FILE);
  if (await createFileAtomic(file, jsonText({ command: 'bench coco-mig', settings }))) return;
  let recorded: Partial<CocoMigSettings>;
  try {
    recorded = (JSON.parse(await readFile(file, 'utf8')) as { settings: CocoMigSettings }).settings ?? {};
  } catch (e) {
    throw new Error(
      `${file} cannot be read (${(e as Error).message}); it records the settings of the images in ${outputDir}`,
    );
  }
  const show = (v: unknown) => (v === undefined ? '(not set)' : JSON.stringify(v));
  const diffs = (Object.keys(SETTING_FLAGS) as (keyof CocoMigSettings)[])
    .filter((k) => JSON.stringify(recorded[k]) !== JSON.stringify(settings[k]))
    .map((k) => `${SETTING_FLAGS[k]} ${show(settings[k])} here, ${show(recorded[k])} there`);
  const images = (await readdir(outputDir)).some((n) => n.endsWith('.png'));
  if (diffs.length && !images) {
    await writeFileAtomic(file, jsonText({ command: 'bench coco-mig', settings }));
  } else if (diffs.length) {
    throw new RangeError(
      `${outputDir} holds images made with other settings (${diffs.join('; ')}); resume with the same settings or give another --out`,
    );
  }
}

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
  let text: string;
  try {
    text = await readFile(opts.bench, 'utf8');
  } catch (e) {
    throw new Error(`bench: cannot read ${resolve(opts.bench)}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SyntaxError(`bench: ${resolve(opts.bench)} is not valid JSON: ${(e as Error).message}`);
  }
  let entries = parseCocoMig(json, opts.bench);
  if (opts.keys !== undefined) {
    const have = new Set(entries.map((e) => e.key));
    const missing = opts.keys.filter((k) => !have.has(k));
    if (missing.length)
      throw new RangeError(`keys: ${missing.map((k) => JSON.stringify(k)).join(', ')} not in ${opts.bench}`);
    const want = new Set(opts.keys);
    entries = entries.filter((e) => want.has(e.key));
  }
  if (opts.limit !== undefined) entries = entries.slice(0, checkInt('limit', opts.limit, 1));
  entries = shardItems(entries, shard);
  for (const e of entries) {
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
  return { entries, shard };
}

export async function runCocoMig(opts: CocoMigOptions): Promise<CocoMigSummary> {
  const { entries, shard } = await planCocoMig(opts);
  const steps = checkInt('steps', opts.steps ?? AMDM_DEFAULTS.steps, 1, 1000);
  const aggregateSteps = checkInt(
    'aggregateSteps',
    opts.aggregateSteps ?? Math.min(AMDM_DEFAULTS.aggregateSteps, steps),
    0,
    steps,
  );
  const weight = checkNumber('weight', opts.weight ?? AMDM_DEFAULTS.weight, 0, 1);
  const etaOpt = opts.eta ?? AMDM_DEFAULTS.eta;
  const eta = typeof etaOpt === 'number' ? [etaOpt, etaOpt] : [...etaOpt];
  if (eta.length !== 2) throw new RangeError(`eta must be a number or [interact, migc], got ${eta.length} values`);
  eta.forEach((v, i) => checkNumber(`eta[${i}]`, v, 0, 1e6));
  const etaScale = checkOneOf('etaScale', opts.etaScale ?? AMDM_DEFAULTS.etaScale, ['sqrtDim', 'absolute'] as const);
  const rule = checkOneOf('rule', opts.rule ?? AMDM_DEFAULTS.rule, ruleNames());
  const guidance = checkNumber('guidance', opts.guidance ?? AMDM_DEFAULTS.guidance, 0, 100);
  const negativePrompt = opts.negativePrompt ?? COCO_MIG_NEGATIVE_PROMPT;
  // MIGC runs at steps i ≤ migcSteps; steps − 1 already means every step
  const migcSteps = checkInt('migcSteps', opts.migcSteps ?? Math.min(MIGC_DEFAULT_STEPS, steps - 1), -1, steps - 1);
  const seed = checkInt('seed', opts.seed ?? AMDM_DEFAULTS.seed, 0, 2 ** 40);
  const preset = checkOneOf('preset', opts.preset ?? 'paper', ['paper', 'reference'] as const);
  const ref = opts.reference ?? COCO_MIG_REFERENCE;
  if (preset === 'reference') {
    checkNumber('reference.omega', ref.omega, 0, 1);
    checkInt('reference.optimStart', ref.optimStart, 0, steps - 1);
    checkInt('reference.optimEnd', ref.optimEnd, ref.optimStart, steps - 1);
    if (!Array.isArray(ref.p) || ref.p.length !== 2) throw new RangeError('reference.p must be [interact, migc]');
    ref.p.forEach((v, i) => checkNumber(`reference.p[${i}]`, v, 0, 1e6));
  }
  const device = checkOneOf('device', opts.device ?? 'cpu', DEVICES);
  const threads = checkInt('threads', opts.threads ?? 0, 0, 1024);
  const outputDir = await ensureDir(opts.output, 'output');
  sweepTempFiles(outputDir);
  await claimSettings(outputDir, {
    steps,
    aggregateSteps,
    weight,
    eta,
    etaScale,
    rule,
    guidance,
    negativePrompt,
    migcSteps,
    seed,
    preset,
    reference:
      preset === 'reference'
        ? { omega: ref.omega, optimStart: ref.optimStart, optimEnd: ref.optimEnd, p: [...ref.p] }
        : null,
  });
  const summary: CocoMigSummary = {
    outputDir,
    shard,
    keys: entries.map((e) => e.key),
    written: [],
    skipped: [],
    regenerated: [],
  };

  // Resume: what is left to do.
  const todo: { entry: CocoMigEntry; path: string; again: boolean }[] = [];
  for (const entry of entries) {
    const path = join(outputDir, cocoMigFileName(entry));
    if (existsSync(path)) {
      if (await readable(path)) summary.skipped.push(path);
      else todo.push({ entry, path, again: true });
    } else todo.push({ entry, path, again: false });
  }
  if (todo.length === 0) return summary;

  const session = { device, ...(threads ? { intraOpNumThreads: threads } : {}) };
  const folders: ModelFolder[] = [];
  try {
    const interact = await loadModelFolder(opts.interact, session);
    folders.push(interact);
    const migc = await loadModelFolder(opts.migc, { ...session, components: ['unet', 'text_encoder'] });
    folders.push(migc);
    for (const { entry } of todo) {
      interactDiffusionFamily.checkFolder!(interact, cocoMigInteract(entry));
      migcFamily.checkFolder!(migc, cocoMigMigc(entry, migcSteps));
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
    const ts = scheduleTimesteps(schedule, steps);
    const shape = si as number[];
    const tokI = await loadClipTokenizer(interact.tokenizer!.dir);
    const tokM = await loadClipTokenizer(migc.tokenizer!.dir);

    const bar =
      (opts.progress ?? Boolean(process.stderr.isTTY))
        ? new cliProgress.SingleBar(
            {
              format: 'coco-mig |{bar}| {value}/{total} images · {duration_formatted} elapsed, ETA {eta_formatted}',
              stream: process.stderr,
              etaBuffer: 10,
            },
            cliProgress.Presets.shades_classic,
          )
        : null;
    bar?.start(todo.length, 0);
    try {
      for (const { entry, path, again } of todo) {
        throwIfAborted(opts.signal, 'coco-mig run');
        const base = { guidance, negativePrompt, seed: cocoMigSeed(seed, entry.key), timesteps: ts };
        const dI = await interactDiffusionFamily.createDenoiser(
          await standaloneContext(interact, { ...base, tokenizer: tokI, name: 'interactdiffusion' }),
          entry.caption,
          cocoMigInteract(entry),
        );
        const dM = await migcFamily.createDenoiser(
          await standaloneContext(migc, { ...base, tokenizer: tokM, name: 'migc' }),
          entry.caption,
          cocoMigMigc(entry, migcSteps),
        );
        const latents =
          preset === 'paper'
            ? (
                await sampleAMDM({
                  models: [dI, dM],
                  target: 0,
                  steps,
                  aggregateSteps,
                  weights: weight,
                  eta,
                  etaScale,
                  rule,
                  shape,
                  batch: 1,
                  seed: base.seed,
                  schedule,
                  signal: opts.signal,
                })
              ).latents
            : (
                await sampleAMDMReference({
                  models: [dI, dM],
                  target: 0,
                  steps,
                  omegas: [ref.omega],
                  optimStart: ref.optimStart,
                  optimEnd: ref.optimEnd,
                  p: ref.p,
                  shape,
                  batch: 1,
                  seed: base.seed,
                  schedule,
                })
              ).latents;
        const scaled = latents.map((v) => v / SCALING_FACTOR);
        const { image, dims } = await decodeLatents(interact.vaeDecoder!, scaled, 1, [shape[1], shape[2]]);
        await writeFileAtomic(path, await encodePNG(rgbaFromSdImage(image, dims[2], dims[3])));
        summary.written.push(path);
        if (again) summary.regenerated.push(path);
        bar?.increment();
      }
    } finally {
      bar?.stop();
    }
  } finally {
    await Promise.all(folders.map((f) => f.release()));
  }
  return summary;
}

const intOpt =
  (name: string, min: number, max = Number.MAX_SAFE_INTEGER) =>
  (v: string) => {
    if (!/^-?\d+$/.test(v))
      throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
    return checkInt(name, Number(v), min, max);
  };
const numOpt = (name: string, min: number, max: number) => (v: string) => checkNumber(name, Number(v), min, max);

/** The `coco-mig` subcommand (for `amdm bench`): flags map one to one onto {@link CocoMigOptions}. */
export function cocoMigCommand(): Command {
  return new Command('coco-mig')
    .description(
      'COCO-MIG benchmark images with AMDM (InteractDiffusion ← MIGC), {image_id:06d}_{key}.png, resumable and shardable',
    )
    .requiredOption('--bench <file>', 'mig_bench.json (800 entries)')
    .requiredOption('--interact <dir>', 'InteractDiffusion model folder (target)')
    .requiredOption('--migc <dir>', 'MIGC model folder')
    .option('--out <dir>', 'output folder', 'out/coco-mig')
    .option(
      '--shard <i/n|auto>',
      'shard i of n (0-based), or auto (JOB_COMPLETION_INDEX + --shard-count, or SLURM_ARRAY_TASK_ID/COUNT)',
    )
    .option(
      '--shard-count <n>',
      'number of shards for --shard auto under a Kubernetes Indexed Job',
      intOpt('--shard-count', 1),
    )
    .option('--limit <n>', 'only the first n entries', intOpt('--limit', 1))
    .option('--steps <T>', 'DDIM steps', intOpt('--steps', 1, 1000), AMDM_DEFAULTS.steps)
    .option('--s <s>', `aggregation steps (default min(${AMDM_DEFAULTS.aggregateSteps}, T))`, intOpt('--s', 0, 1000))
    .option('--w <w>', 'weight of MIGC in the merge', numOpt('--w', 0, 1), AMDM_DEFAULTS.weight)
    .option('--eta <η>', 'deviation step η (both models)', numOpt('--eta', 0, 1e6), AMDM_DEFAULTS.eta)
    .addOption(
      new Option('--eta-scale <scale>', 'η per dimension (×√d) or absolute')
        .choices(['sqrtDim', 'absolute'])
        .default(AMDM_DEFAULTS.etaScale),
    )
    .option('--rule <rule>', ruleHelp(), ruleArg, AMDM_DEFAULTS.rule)
    .option('--guidance <g>', 'CFG scale', numOpt('--guidance', 0, 100), AMDM_DEFAULTS.guidance)
    .option(
      '--migc-steps <n>',
      `last step that runs MIGC (-1: none, T − 1: every step; default min(${MIGC_DEFAULT_STEPS}, T − 1))`,
      intOpt('--migc-steps', -1),
    )
    .option('--seed <seed>', 'base seed (image seed = seed + key)', intOpt('--seed', 0, 2 ** 40), AMDM_DEFAULTS.seed)
    .addOption(
      new Option('--preset <preset>', 'paper (sampleAMDM) or reference (the official loop)')
        .choices(['paper', 'reference'])
        .default('paper'),
    )
    .addOption(new Option('--device <device>', 'onnxruntime device').choices([...DEVICES]).default('cpu'))
    .option('--threads <n>', 'intra-op threads per session (0 = default)', intOpt('--threads', 0, 1024), 0)
    .option('--no-progress', 'hide the progress bar')
    .action(async (o) => {
      // the cross-flag limits, in the user's words (runCocoMig names its options)
      if (o.s !== undefined && o.s > o.steps) throw new RangeError(`--s must be ≤ --steps (${o.steps}), got ${o.s}`);
      if (o.migcSteps !== undefined && o.migcSteps > o.steps - 1) {
        throw new RangeError(
          `--migc-steps must be in [-1, --steps − 1 = ${o.steps - 1}] (${o.steps - 1} runs MIGC at every step), got ${o.migcSteps}`,
        );
      }
      const s = await runCocoMig({
        bench: o.bench,
        output: o.out,
        interact: o.interact,
        migc: o.migc,
        shard: o.shard,
        shardCount: o.shardCount,
        limit: o.limit,
        steps: o.steps,
        aggregateSteps: o.s,
        weight: o.w,
        eta: o.eta,
        etaScale: o.etaScale,
        rule: o.rule,
        guidance: o.guidance,
        migcSteps: o.migcSteps,
        seed: o.seed,
        preset: o.preset,
        device: o.device,
        threads: o.threads,
        progress: o.progress && Boolean(process.stderr.isTTY),
      });
      console.log(
        `shard ${s.shard.index}/${s.shard.count}: ${s.keys.length} images, ${s.written.length} written (${s.regenerated.length} regenerated), ${s.skipped.length} already done → ${s.outputDir}`,
      );
    });
}
