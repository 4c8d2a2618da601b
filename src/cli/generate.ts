/**
 * `amdm generate job.json`: text-to-image with one or more SD-1.x ONNX model folders (AMDM over
 * several, plain DDIM for one). The job file is described in job-schema.ts.
 *
 * Order of work, so that a bad job, a bad folder or a bad output location fails before any
 * model runs and leaves nothing behind: parse and validate the job (jobs/job-file.ts) → check
 * (and create) the output location → load every folder (files, input names, dtypes, conditions,
 * equal latent shapes and schedules, CUDA when requested) → check the sampler options → sample
 * (progress bar on stderr) → decode → only then write the output folder as a whole
 * (jobs/generate-folder.ts lists its files). The models' code loads only when a job runs.
 */
import { parseArgs } from 'node:util';
import { Option, type Command, type OptionValues } from 'commander';
import { describe } from '../core/validate.ts';
import { intArg } from '../io/options.ts';
import { BACKENDS, DEVICES, type Backend, type Device } from '../onnx/session.ts';
import type { GenerateSummary } from '../jobs/generate-folder.ts';
import type { JobRun } from '../jobs/generate.ts';

export type { GenerateSummary } from '../jobs/generate-folder.ts';

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
  const [{ loadJob }, { prepareGenerateFolder, writeGenerateFolder }, { runJob }, { resolve }] = await Promise.all([
    import('../jobs/job-file.ts'),
    import('../jobs/generate-folder.ts'),
    import('../jobs/generate.ts'),
    import('node:path'),
  ]);
  const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const job = await loadJob(jobPath, options);
  const output = await prepareGenerateFolder(job, options.output !== undefined ? '--output' : 'output');
  const bar = (options.progress ?? Boolean(process.stderr.isTTY)) ? await stepBar() : null;
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
  return writeGenerateFolder(run, output, { job, jobFile: resolve(jobPath) });
}

/** The progress bar of the sampler's steps on stderr. */
async function stepBar() {
  const { default: cliProgress } = await import('cli-progress');
  return new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: 'generate |{bar}| step {value}/{total} | {duration_formatted}',
      hideCursor: true,
      clearOnComplete: false,
      noTTYOutput: true,
    },
    cliProgress.Presets.shades_classic,
  );
}

/** The `generate` action: runs the job file and prints what it wrote and the UNet calls. */
async function runGenerateCommand(job: string, opts: OptionValues): Promise<void> {
  const r = await runGenerate(job, {
    output: opts.output,
    device: opts.device,
    backend: opts.backend,
    threads: opts.threads,
    progress: opts.progress && Boolean(process.stderr.isTTY),
  });
  const amdmCalls = r.calls.reduce((a, b) => a + b, 0);
  const finish = r.totalCalls - amdmCalls;
  console.log(
    `wrote ${r.files.length} files to ${r.outputDir} (UNet calls ${r.calls.join(' + ')}${finish > 0 ? ` + ${finish} to finish every model's own image` : ''} = ${r.totalCalls})`,
  );
  const { generateSummaryLines } = await import('../jobs/generate-report.ts');
  for (const line of generateSummaryLines(r.results)) console.log(line);
}

/** Adds `generate` to the program. */
export function addGenerateCommand(program: Command): void {
  program
    .command('generate')
    .description(
      'run a job file: SD-1.x-family ONNX models, one (DDIM) or several (AMDM); writes PNGs and resolved.json',
    )
    .argument('<job>', 'job file (JSON; see examples/jobs/)')
    .option('-o, --output <dir>', "output folder (overrides the job's output)")
    .addOption(
      new Option('--device <device>', "onnxruntime device (overrides the job's)").choices(['cpu', 'cuda', 'auto']),
    )
    .addOption(
      new Option(
        '--backend <backend>',
        "onnxruntime-node, onnxruntime-web (WASM) or node when it loads (overrides the job's)",
      ).choices(['node', 'web', 'auto']),
    )
    .option('--threads <n>', 'intra-op threads per session', intArg(0, 1024))
    .option('--no-progress', 'hide the progress bar')
    .action(runGenerateCommand);
}
