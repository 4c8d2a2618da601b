/**
 * The concurrency limit: at most `running` jobs at once, at most `queued` more waiting in
 * arrival order; beyond that a request is refused at once (429). A waiting request whose client
 * goes away leaves the queue.
 */
import { HttpError } from './errors.ts';

export interface Gate {
  /** Wait for a slot; resolves to the function that frees it. */
  enter(signal?: AbortSignal): Promise<() => void>;
  readonly running: number;
  readonly queued: number;
}

// Over 60 lines: a closure over the slots and the waiting queue, which enter, leave and an abort all update.
export function createGate(running: number, queued: number): Gate {
  let active = 0;
  const waiting: { go: () => void; signal?: AbortSignal; drop: () => void }[] = [];
  const leave = () => {
    active--;
    const next = waiting.shift();
    if (next) {
      next.signal?.removeEventListener('abort', next.drop);
      active++;
      next.go();
    }
  };
  const release = () => {
    let done = false;
    return () => {
      if (!done) {
        done = true;
        leave();
      }
    };
  };
  return {
    get running() {
      return active;
    },
    get queued() {
      return waiting.length;
    },
    enter(signal) {
      if (signal?.aborted) return Promise.reject(signal.reason);
      if (active < running) {
        active++;
        return Promise.resolve(release());
      }
      if (waiting.length >= queued) {
        return Promise.reject(
          new HttpError(
            429,
            `the server is busy: ${active} job(s) running and ${waiting.length} waiting (limits ${running} and ${queued}); retry later`,
            {
              headers: { 'retry-after': '5' },
            },
          ),
        );
      }
      return new Promise((resolve, reject) => {
        const entry = {
          go: () => resolve(release()),
          signal,
          drop: () => {
            const i = waiting.indexOf(entry);
            if (i >= 0) waiting.splice(i, 1);
            reject(signal!.reason);
          },
        };
        signal?.addEventListener('abort', entry.drop, { once: true });
        waiting.push(entry);
      });
    },
  };
}
