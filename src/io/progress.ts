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

/** One report of a run's progress (src/experiments/types.ts's ExperimentProgress). */
export interface ProgressReport {
  readonly done: number;
  readonly total: number;
  readonly label?: string;
  readonly item?: string;
}

/**
 * A progress callback drawn as bars: a bar per part of the run (a new one whenever the report's
 * label changes), stopped once all its units are done; `stop` ends the last one early.
 */
export function progressBars(opts: { enabled?: boolean } = {}): {
  report: (p: ProgressReport) => void;
  stop: () => void;
} {
  let bar: Progress | null = null;
  let label: string | undefined;
  const stop = () => {
    bar?.stop();
    bar = null;
  };
  return {
    report(p) {
      if (!bar || p.label !== label) {
        stop();
        label = p.label;
        bar = progressBar(p.total, p.label ?? '', opts);
      }
      bar.update(p.done, p.item);
      if (p.done >= p.total) stop();
    },
    stop,
  };
}
