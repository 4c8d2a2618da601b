/** A progress bar on stderr (cli-progress), silent when stderr is not a terminal unless forced. */
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, info?: string): void;
  stop(): void;
}

export function progressBar(total: number, label: string, opts: { enabled?: boolean } = {}): Progress {
  const enabled = opts.enabled ?? Boolean(process.stderr.isTTY);
  if (!enabled) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} |{bar}| {value}/{total} {info} · {duration_formatted} elapsed, ETA {eta_formatted}`,
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { info: '' });
  return {
    update: (done, info = '') => bar.update(done, { info }),
    stop: () => bar.stop(),
  };
}
