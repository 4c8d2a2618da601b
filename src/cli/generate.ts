/**
 * `amdm generate job.json`: text-to-image with one or more SD-1.x ONNX model folders (AMDM over
 * several, plain DDIM for one). The job file is described in job-schema.ts.
 *
 * Order of work, so that a bad job, a bad folder or a bad output location fails before any
 * model runs and leaves nothing behind: parse and validate the job → check (and create) the
 * output location → load every folder (files, input names, dtypes, conditions, equal latent
 * shapes and schedules, CUDA when requested) → check the sampler options → sample (progress bar
 * on stderr) → decode → only then write the output folder as a whole (output-folder.ts: a rerun
 * replaces it, an interrupt leaves the previous one):
 *   target.png (target-<b>.png for batch > 1)     the AMDM result (plain DDIM with one model)
 *   after-aggregation-<k>-<name>.png              each other model's own image from the shared
 *                                                 first s steps (saveAll; not the model alone)
 *   sheet.png                                     the contact sheet: prompt, boxes and legend,
 *                                                 every image upscaled and labelled
 *   results.json                                  every image file and what it is; for a MiniMIG
 *                                                 prompt ("minimig") the evaluator's scores
 *   trace.json                                    per-step trace (saveTrace)
 *   resolved.json                                 the settings with every default filled in,
 *                                                 absolute paths, and the run's call counts
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { describe } from '../core/validate.ts';
import { BACKENDS, DEVICES, type Backend, type Device } from '../onnx/session.ts';
import { runJob, type JobRun } from '../jobs/generate.ts';
import { generateReport } from '../jobs/generate-report.ts';
import { jsonText } from '../io/files.ts';
import { prepareOutputFolder } from '../io/output-folder.ts';
import { parseJob, type GenerateJob } from '../jobs/job-schema.ts';

export interface GenerateCliOptions {
  /** Output folder (overrides the job's `output`; relative to the working folder). */
  output?: string;
  /** Overrides the job's `device`. */
  device?: Device;
  /** Overrides the job's `backend`. */
  backend?: Backend;
  /** Overrides the job's `threads`. */
  threads?: number;
  /** Show a progress bar on stderr (default: when stderr is a terminal). */
  progress?: boolean;
  /** Receives notes (e.g. the CPU fallback of device 'auto'); default: a line on stderr. */
  log?: (message: string) => void;
}

export interface GenerateSummary {
  outputDir: string;
  /** Absolute paths of the files written, resolved.json last. */
  files: string[];
  job: GenerateJob;
  calls: number[];
  totalCalls: number;
  textEncoderRuns: number;
  vaeRuns: number;
  /** results.json's document: every image file, what it is and (MiniMIG) its scores. */
  results: Record<string, unknown>;
}

/** `generate <job.json> [--output dir] [--device cpu|cuda|auto] [--backend node|web|auto] [--threads n] [--no-progress]`. */
export function parseGenerateArgs(argv: readonly string[]): { jobPath: string; options: GenerateCliOptions } {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      output: { type: 'string', short: 'o' },
      device: { type: 'string' },
      backend: { type: 'string' },
      threads: { type: 'string' },
      progress: { type: 'boolean' },
      'no-progress': { type: 'boolean' },
    },
  });
  if (positionals.length !== 1) {
    throw new RangeError(
      `generate takes one job file, got ${positionals.length ? positionals.map((p) => JSON.stringify(p)).join(' ') : 'none'}`,
    );
  }
  const options: GenerateCliOptions = {};
  if (values.output !== undefined) options.output = values.output;
  if (values.device !== undefined) {
    if (!(DEVICES as readonly string[]).includes(values.device))
      throw new RangeError(`--device must be one of ${DEVICES.join(', ')}, got ${JSON.stringify(values.device)}`);
    options.device = values.device as Device;
  }
  if (values.backend !== undefined) {
    if (!(BACKENDS as readonly string[]).includes(values.backend))
      throw new RangeError(`--backend must be one of ${BACKENDS.join(', ')}, got ${JSON.stringify(values.backend)}`);
    options.backend = values.backend as Backend;
  }
  if (values.threads !== undefined) {
    const n = Number(values.threads);
    if (!Number.isInteger(n) || n < 0 || n > 1024)
      throw new RangeError(`--threads must be an integer in [0, 1024], got ${JSON.stringify(values.threads)}`);
    options.threads = n;
  }
  if (values.progress) options.progress = true;
  if (values['no-progress']) options.progress = false;
  return { jobPath: positionals[0], options };
}

/**
 * The paths a job file's model conditions name (an IP-Adapter's style image): resolved, like
 * the model folders and the output, against the job file's folder.
 */
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
export async function loadJob(
  jobPath: string,
  overrides: Pick<GenerateCliOptions, 'output' | 'device' | 'backend' | 'threads'> = {},
): Promise<GenerateJob> {
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

/**
 * Run a job: `runGenerate('job.json', { output, device, threads, progress })`, or with the
 * command's arguments `runGenerate(['job.json', '--output', 'dir'])`.
 */
export async function runGenerate(
  jobOrArgv: string | readonly string[],
  opts: GenerateCliOptions = {},
): Promise<GenerateSummary> {
  let jobPath: string;
  let options = opts;
  if (Array.isArray(jobOrArgv)) {
    const parsed = parseGenerateArgs(jobOrArgv);
    jobPath = parsed.jobPath;
    options = { ...parsed.options, ...opts };
  } else if (typeof jobOrArgv === 'string') {
    jobPath = jobOrArgv;
  } else {
    throw new TypeError(`runGenerate takes a job file path or the argument list, got ${describe(jobOrArgv)}`);
  }
  const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const job = await loadJob(jobPath, options);
  const output = await prepareOutputFolder(job.output, {
    command: 'generate',
    param: options.output !== undefined ? '--output' : 'output',
    // model-<k>-<name>.png: what earlier versions named the images after aggregation
    writes:
      /^(target(-\d+)?\.png|(model|after-aggregation)-\d+-.+\.png|sheet\.png|results\.json|trace\.json|latents\.npy|resolved\.json)$/,
  });

  const showBar = options.progress ?? Boolean(process.stderr.isTTY);
  const bar = showBar
    ? new cliProgress.SingleBar(
        {
          stream: process.stderr,
          format: 'generate |{bar}| step {value}/{total} | {duration_formatted}',
          hideCursor: true,
          clearOnComplete: false,
          noTTYOutput: true,
        },
        cliProgress.Presets.shades_classic,
      )
    : null;
  let run: JobRun;
  try {
    run = await runJob(job, {
      log,
      onReady: () => bar?.start(job.steps, 0),
      onProgress: bar ? (done) => bar.update(done) : undefined,
    });
  } finally {
    bar?.stop();
  }

  // Everything is computed: write the output folder.
  const files = new Map<string, Uint8Array | string>();
  for (const f of run.files) files.set(f.name, f.data);
  const report = await generateReport(run);
  files.set('sheet.png', report.sheet);
  files.set('results.json', jsonText(report.results));
  if (run.trace) files.set('trace.json', jsonText(run.trace));
  files.set('resolved.json', jsonText({ ...run.resolved, jobFile: resolve(jobPath), files: [...files.keys()] }));
  const written = await output.commit(files);
  const { result } = run;
  return {
    outputDir: output.path,
    files: written,
    job,
    calls: result.calls,
    totalCalls: result.totalCalls,
    textEncoderRuns: result.textEncoderRuns,
    vaeRuns: result.vaeRuns,
    results: report.results,
  };
}
