/**
 * The process of `amdm serve`: the server listening (listen.ts) until SIGINT or SIGTERM, or until
 * the npm process that started it is gone; then its connections close and its models go.
 */
import { listen, type ListenOptions } from './listen.ts';

/**
 * Run through `npx amdm serve` or `npm run …`, the server is the grandchild of an npm process
 * that dies on SIGTERM without passing the signal on (its `sh -c` goes with it): the server,
 * orphaned, would keep its port. Under npm (`npm_command` is set) `onOrphaned` is called once
 * the parent process is gone; started any other way (a shell, nohup, a supervisor) nothing is
 * watched. Returns the stop function of the watch.
 */
export function watchParent(
  onOrphaned: () => void,
  { env = process.env, ppid = () => process.ppid, intervalMs = 500 } = {},
): () => void {
  if (env.npm_command === undefined) return () => {};
  const parent = ppid();
  const timer = setInterval(() => {
    if (ppid() === parent) return;
    clearInterval(timer);
    onOrphaned();
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * Listens with `opts`, says where on stdout (and the model roots), and stops the server on
 * SIGINT, SIGTERM or an orphaning (`watchParent`), then exits the process (status 1 when the
 * close failed). `opts.log` receives the server's lines and the reason it stops.
 */
export async function serveUntilStopped(opts: ListenOptions & { log: (line: string) => void }): Promise<void> {
  const server = await listen(opts);
  const roots = opts.modelRoots ?? [];
  console.log(
    `amdm serve: listening on ${server.url} (model roots: ${roots.length ? roots.join(', ') : 'none, only the demo runs'})`,
  );
  const stop = (why = 'stopping') => {
    opts.log(`amdm serve: ${why}`);
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', () => stop());
  process.once('SIGTERM', () => stop());
  watchParent(() => stop('the npm process that started it is gone; stopping'));
}
