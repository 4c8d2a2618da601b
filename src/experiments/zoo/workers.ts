/**
 * `--workers n` of `amdm zoo bench` and `amdm zoo calibrate`: the images are dealt round-robin to
 * n child processes (worker-entry.ts; as the Shapes map deals its methods to its pool), each with its own
 * model pool and onnxruntime sessions. An image depends only on its prompt, seed and method, so
 * the results are the same for any n (tests check it); the parent gathers them in order.
 * onnxruntime-node runs a session synchronously on the JS thread, so processes are what lets
 * several UNets run at once.
 */
import { fork } from 'node:child_process';
import os from 'node:os';

/** Run from the TypeScript sources (a checkout), the worker needs tsx's loader; from dist/, nothing. */
const WORKER_EXEC_ARGV = import.meta.url.endsWith('.ts') ? ['--import', 'tsx'] : [];
/**
 * The module each worker process runs: worker-entry.ts beside this file in the sources (under
 * tsx), worker-entry.js beside its build in dist/ (a checkout after `npm run build`, and the
 * published package).
 */
const WORKER_ENTRY = new URL(`./worker-entry.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url);

/** One worker's task: a command of this folder's modules with plain-data options and its share. */
export interface ZooWorkerTask {
  command: 'bench' | 'calibrate';
  options: Record<string, unknown>;
  /** Worker `index` of `count` takes the items i with i mod count = index. */
  share: WorkerShare;
}

export interface WorkerShare {
  index: number;
  count: number;
}

export type WorkerMessage = { result: unknown } | { error: string };

/** The items of one worker's share (all items without a share). */
export function shareOf<T>(items: readonly T[], share: WorkerShare | undefined): T[] {
  return share ? items.filter((_, i) => i % share.count === share.index) : [...items];
}

/** onnxruntime intra-op threads per worker: the cores divided among the workers unless set. */
export function workerThreads(threads: number, workers: number): number {
  return threads > 0 ? threads : Math.max(1, Math.floor(os.cpus().length / workers));
}

/** Checks `--workers`; returns n. */
export function checkWorkers(workers: unknown): number {
  if (!Number.isInteger(workers) || (workers as number) < 1 || (workers as number) > 1024)
    throw new RangeError(`--workers must be an integer in [1, 1024], got ${String(workers)}`);
  return workers as number;
}

/** Runs `count` workers on `command` (each with options and its share); their results in worker order. */
export async function runInWorkers<R>(
  command: ZooWorkerTask['command'],
  options: Record<string, unknown>,
  count: number,
): Promise<R[]> {
  // functions do not cross the process boundary; the parent logs
  const plain = Object.fromEntries(Object.entries(options).filter(([, v]) => typeof v !== 'function'));
  return Promise.all(
    Array.from(
      { length: count },
      (_, index) =>
        new Promise<R>((resolve, reject) => {
          const child = fork(WORKER_ENTRY, [], {
            execArgv: WORKER_EXEC_ARGV,
            serialization: 'advanced',
          });
          let done = false;
          child.on('message', (m: WorkerMessage) => {
            done = true;
            child.disconnect();
            if ('result' in m) resolve(m.result as R);
            else reject(new Error(`worker ${index + 1}/${count} failed: ${m.error}`));
          });
          child.on('exit', (code) => {
            if (!done) reject(new Error(`worker ${index + 1}/${count} exited with code ${code} before its results`));
          });
          child.on('error', reject);
          child.send({ command, options: plain, share: { index, count } } satisfies ZooWorkerTask);
        }),
    ),
  );
}
