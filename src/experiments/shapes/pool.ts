/**
 * `compareOnShapes` spread over worker processes: the methods are dealt round-robin to
 * `workers` child processes, each samples its methods on all prompts, and the results come back
 * in method order. Every method's numbers depend only on its settings, the prompts and the
 * seed, so the result is identical for any number of workers (a test checks it). Used by the
 * long experiments (`amdm experiment map`, `search-shapes`, `confirm-shapes`, so it sits beside
 * them rather than in map/); one worker runs in this process.
 */
import { fork } from 'node:child_process';
import { compareOnShapes, type ShapesMethod } from '../../toy/shapes/compare.ts';
import type { ShapesPrompt } from '../../toy/shapes/prompts.ts';
import type { ImageEvaluation } from '../../toy/shapes/evaluate.ts';

/** What a worker needs: plain data only (methods must not hold functions). */
export interface PoolJob {
  prompts: readonly ShapesPrompt[];
  methods: readonly ShapesMethod[];
  samplesPerPrompt: number;
  steps: number;
  seed: number;
}

export interface PoolMethodResult {
  name: string;
  calls: number;
  evaluations: ImageEvaluation[];
}

/** Run from the TypeScript sources (a checkout), the worker needs tsx's loader; from dist/, nothing. */
const WORKER_EXEC_ARGV = import.meta.url.endsWith('.ts') ? ['--import', 'tsx'] : [];

type WorkerMessage = { progress: string } | { results: PoolMethodResult[] } | { error: string };

async function runHere(job: PoolJob, onDone?: (method: string) => void): Promise<PoolMethodResult[]> {
  const r = await compareOnShapes({ ...job, onProgress: (q) => onDone?.(q.method) });
  return r.methods.map((m) => ({ name: m.name, calls: m.calls, evaluations: m.evaluations }));
}

/** Runs the job; `onDone` is called once per (prompt, method) finished. */
export async function compareInWorkers(
  job: PoolJob,
  workers: number,
  onDone?: (method: string) => void,
): Promise<PoolMethodResult[]> {
  if (!Number.isInteger(workers) || workers < 1) throw new RangeError(`workers must be an integer ≥ 1, got ${workers}`);
  const n = Math.min(workers, job.methods.length);
  if (n === 1) return runHere(job, onDone);
  const shares = Array.from({ length: n }, (_, w) => job.methods.map((_, i) => i).filter((i) => i % n === w));
  const parts = await Promise.all(
    shares.map(
      (idx) =>
        new Promise<PoolMethodResult[]>((resolve, reject) => {
          const child = fork(new URL(import.meta.url), ['--shapes-pool-worker'], { execArgv: WORKER_EXEC_ARGV });
          let done = false;
          child.on('message', (m: WorkerMessage) => {
            if ('progress' in m) onDone?.(m.progress);
            else {
              done = true;
              child.disconnect();
              if ('results' in m) resolve(m.results);
              else reject(new Error(`worker failed: ${m.error}`));
            }
          });
          child.on('exit', (code) => {
            if (!done) reject(new Error(`worker exited with code ${code} before returning its results`));
          });
          child.on('error', reject);
          child.send({ ...job, methods: idx.map((i) => job.methods[i]) });
        }),
    ),
  );
  const out = new Array<PoolMethodResult>(job.methods.length);
  shares.forEach((idx, w) =>
    idx.forEach((i, j) => {
      out[i] = parts[w][j];
    }),
  );
  return out;
}

if (process.argv.includes('--shapes-pool-worker') && process.send) {
  process.once('message', (job: PoolJob) => {
    runHere(job, (method) => process.send!({ progress: method }))
      .then((results) => process.send!({ results }))
      .catch((e: unknown) => process.send!({ error: e instanceof Error ? (e.stack ?? e.message) : String(e) }));
  });
}
