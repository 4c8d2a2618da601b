/**
 * The cache of runs of a model alone: they do not depend on w, η, s or the rule, so moving
 * those sliders reruns AMDM only. Keyed by what a run does depend on; the oldest entry goes
 * first once the cache is full.
 */

export const CACHE_LIMIT = 32;

/** The cached view of `key` (with ms 0: it took no time now), or `run`'s, which is then kept. */
export async function cachedRun<V extends { ms: number }>(
  cache: Map<string, V>,
  key: string,
  run: () => Promise<V>,
): Promise<V> {
  const hit = cache.get(key);
  if (hit) return { ...hit, ms: 0 };
  const view = await run();
  cache.set(key, view);
  if (cache.size > CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  return view;
}
