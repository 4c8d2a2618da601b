/**
 * `amdm demo`: the main job (src/jobs/demo.ts) with a progress bar; prints its table and writes
 * grid.png and results.json, each atomically.
 */
import path from 'node:path';
import { computeDemo, type DemoSettings } from '../jobs/demo.ts';
import type { ExpertDenoiserFactory, ShapesCompareResult } from '../toy/shapes/compare.ts';
import { ensureDir, writeFileAtomic, writeJSONAtomic } from './files.ts';
import { progressBar, type Progress } from './progress.ts';

export { DEMO_DEFAULTS, paperS } from '../jobs/demo.ts';

export interface DemoOptions extends DemoSettings {
  out: string;
  progress?: boolean;
  /** Where to print (default console.log). */
  log?: (line: string) => void;
}

export async function runDemo(o: DemoOptions, factory?: ExpertDenoiserFactory): Promise<ShapesCompareResult> {
  const log = o.log ?? ((l: string) => console.log(l));
  const bar: { it?: Progress } = {}; // its total is known at the first report
  const run = await computeDemo(o, {
    factory,
    onProgress: (p) => (bar.it ??= progressBar(p.total, 'sampling', { enabled: o.progress })).update(p.done, p.method),
  });
  bar.it?.stop();
  for (const l of run.lines) log(l);
  const outDir = path.resolve(o.out);
  await ensureDir(outDir);
  if (run.grid) await writeFileAtomic(path.join(outDir, 'grid.png'), run.grid);
  await writeJSONAtomic(path.join(outDir, 'results.json'), { settings: { ...o, log: undefined, progress: undefined, out: outDir }, ...run.results });
  log('');
  log(`wrote ${run.grid ? path.join(outDir, 'grid.png') + ' (rows: prompt, each expert alone, AMDM; first sample per prompt) and ' : ''}${path.join(outDir, 'results.json')} in ${run.results.seconds.toFixed(1)} s`);
  return run.result;
}
