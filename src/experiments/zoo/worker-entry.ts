/**
 * The program of one `--workers` process (workers.ts forks it): it receives one task, runs
 * its share of `amdm zoo bench` or `amdm zoo calibrate`, and sends the result back. A module of
 * its own, so that the commands it runs and the module that forks it do not import each other.
 */
import type { WorkerMessage, ZooWorkerTask } from './workers.ts';

async function runTask(task: ZooWorkerTask): Promise<unknown> {
  const options = { ...task.options, workers: 1, share: task.share, log: () => {} };
  if (task.command === 'bench') return (await import('./bench.ts')).runZooBench(options);
  const { calibrateShare } = await import('./calibrate-model.ts');
  return calibrateShare(options as unknown as Parameters<typeof calibrateShare>[0]);
}

if (process.send) {
  process.once('message', (task: ZooWorkerTask) => {
    runTask(task)
      .then((result) => process.send!({ result } satisfies WorkerMessage))
      .catch((e: unknown) =>
        process.send!({ error: e instanceof Error ? (e.stack ?? e.message) : String(e) } satisfies WorkerMessage),
      );
  });
}
