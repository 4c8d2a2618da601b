/**
 * Per-image time of `amdm generate` on a job file, with the models loaded once: the job is read
 * as `amdm generate` reads it (`loadJob`), then `runJob` runs it `reps` times after one warm-up
 * through a pipeline kept across runs (the server's `createPipelineCache`, as `amdm serve` runs a
 * warm request). What a timed image costs: the job's checks, text encoding of every model's
 * prompt and the negative prompt, the initial noise, sampling (every UNet call, the CFG combine,
 * the DDIM step and for several models the aggregation and deviation steps), VAE decoding and
 * PNG encoding. Not timed: process start-up, loading the folders, writing the output folder.
 *
 * Prints one JSON line: per-image wall and process CPU seconds of each timed image, the UNet calls
 * per image, the peak RSS of the process (MiB, bench/peak-rss.ts). `--save <dir>` writes the last image's target.png
 * and latents.npy into an existing folder (to check that another stack made the same image).
 * bench/python_stack.py runs it against diffusers and the Python Algorithm 1.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { peakRssMiB } from './peak-rss.ts';

const usage =
  'usage: npx tsx bench/generate-per-image.ts <job.json> [--reps 3] [--threads n] [--save <dir>]\n' +
  "  --threads: the job's onnxruntime intra-op threads (default: the job's own)\n" +
  '  --save: an existing folder for the last image\'s target.png and latents.npy ("saveLatents" is set)';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    reps: { type: 'string', default: '3' },
    threads: { type: 'string' },
    save: { type: 'string' },
    help: { type: 'boolean' },
  },
});
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const intArg = (name: string, v: string, min: number): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} must be an integer ≥ ${min}, got ${v}\n${usage}`);
    process.exit(2);
  }
  return n;
};
if (positionals.length !== 1) {
  console.error(`expected one job file, got ${positionals.length} arguments\n${usage}`);
  process.exit(2);
}
const reps = intArg('reps', values.reps!, 1);
const threads = values.threads === undefined ? undefined : intArg('threads', values.threads, 0);

const { loadJob } = await import('../src/jobs/job-file.ts');
const { runJob } = await import('../src/jobs/generate.ts');
const { createPipelineCache } = await import('../src/server/pipelines.ts');

const job = await loadJob(positionals[0], { threads });
if (values.save !== undefined) job.saveLatents = true;
const pipelines = createPipelineCache(1);
try {
  await runJob(job, { pipelines }); // loads the folders; the warm-up image
  const wall: number[] = [];
  const cpu: number[] = [];
  let run: Awaited<ReturnType<typeof runJob>> | undefined;
  for (let r = 0; r < reps; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    run = await runJob(job, { pipelines });
    wall.push((performance.now() - t0) / 1000);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1e6);
  }
  if (values.save !== undefined)
    for (const f of run!.files)
      if (f.name === 'target.png' || f.name === 'latents.npy') writeFileSync(join(values.save, f.name), f.data);
  const rssMiB = peakRssMiB();
  console.log(JSON.stringify({ wall, cpu, unetCalls: run!.result.totalCalls, rssMiB, threads: job.threads }));
} finally {
  await pipelines.close();
}
