/**
 * Loaded pipelines kept across requests (warm starts): one per distinct set of load options
 * (folders, kinds, conditions, target, latent size, session settings), at most `max` of them;
 * the least recently used idle one is released to make room. Runs on one pipeline take turns
 * (its sessions and counters are shared), runs on different pipelines do not wait for each other.
 */
import type { PipelineSource } from '../jobs/generate.ts';
import { prepareSdPipeline, type SdPipeline, type SdPipelineOptions } from '../sd/pipeline.ts';

interface Entry {
  key: string;
  pipeline: Promise<SdPipeline>;
  users: number;
  /** Settles when the runs queued so far are over. */
  turn: Promise<void>;
}

export interface PipelineCache extends PipelineSource {
  /** Loaded (or loading) pipelines. */
  readonly size: number;
  /** Release every idle pipeline now, and each busy one when its runs are over. */
  close(): Promise<void>;
}

function keyOf(options: SdPipelineOptions): string {
  // onFallback is a function and differs per request; everything else decides what is loaded
  const { onFallback: _ignored, ...session } = options.session ?? {};
  return JSON.stringify({ ...options, session });
}

// Over 60 lines: a closure over the cache's entries, whose acquire, eviction and close keep its least-recently-used order.
export function createPipelineCache(max: number): PipelineCache {
  const entries = new Map<string, Entry>(); // insertion order = least recently used first
  let closed = false;
  const evict = async () => {
    for (const [key, e] of entries) {
      if (entries.size <= max) break;
      if (e.users > 0) continue;
      entries.delete(key);
      await e.pipeline.then(
        (p) => p.release(),
        () => undefined,
      );
    }
  };
  return {
    get size() {
      return entries.size;
    },
    async acquire(options) {
      if (closed) throw new Error('the pipeline cache is closed');
      const key = keyOf(options);
      let e = entries.get(key);
      if (e) {
        entries.delete(key); // move to the most recently used end
        entries.set(key, e);
      } else {
        e = { key, pipeline: prepareSdPipeline(options), users: 0, turn: Promise.resolve() };
        entries.set(key, e);
        const entry = e;
        // a folder that fails to load is not kept: the next request tries again
        e.pipeline.catch(() => entries.get(key) === entry && entries.delete(key));
      }
      const entry = e;
      entry.users++;
      const previous = entry.turn;
      let finish!: () => void;
      entry.turn = new Promise<void>((r) => (finish = r));
      const done = async () => {
        entry.users--;
        finish();
        await evict();
      };
      try {
        await previous;
        const pipeline = await entry.pipeline;
        await evict();
        return { pipeline, done };
      } catch (err) {
        await done();
        throw err;
      }
    },
    async close() {
      closed = true;
      const all = [...entries.values()];
      entries.clear();
      await Promise.all(
        all.map(async (e) => {
          await e.turn;
          await e.pipeline.then(
            (p) => p.release(),
            () => undefined,
          );
        }),
      );
    },
  };
}
