/**
 * `amdm demo`: the main job (src/jobs/demo.ts) with a progress bar; prints its table and writes
 * grid.png and results.json as one output folder (checked before sampling, swapped in whole).
 */
import path from 'node:path';
import { computeDemo, type DemoSettings } from '../jobs/demo.ts';
import type { ExpertDenoiserFactory, ShapesCompareResult } from '../toy/shapes/compare.ts';
import { jsonText } from '../io/files.ts';
import { prepareOutputFolder } from '../io/output-folder.ts';
import { progressBar, type Progress } from '../io/progress.ts';

export { DEMO_DEFAULTS, MAP_BEST, paperS, sOfT } from '../jobs/demo.ts';

export interface DemoOptions extends DemoSettings {
  out: string;
  progress?: boolean;
  /** Where to print (default console.log). */
  log?: (line: string) => void;
}

export async function runDemo(o: DemoOptions, factory?: ExpertDenoiserFactory): Promise<ShapesCompareResult> {
  const log = o.log ?? ((l: string) => console.log(l));
  const output = await prepareOutputFolder(o.out, {
    command: 'demo',
    param: '--out',
    writes: /^(grid\.png|results\.json)$/,
  });
  const bar: { it?: Progress } = {}; // its total is known at the first report
  const run = await computeDemo(o, {
    factory,
    onProgress: (p) => (bar.it ??= progressBar(p.total, 'sampling', { enabled: o.progress })).update(p.done, p.method),
  });
  bar.it?.stop();
  for (const l of run.lines) log(l);
  const files = new Map<string, Uint8Array | string>();
  if (run.grid) files.set('grid.png', run.grid);
  files.set(
    'results.json',
    jsonText({ settings: { ...o, log: undefined, progress: undefined, out: output.path }, ...run.results }),
  );
  await output.commit(files);
  log('');
  log(
    `wrote ${run.grid ? path.join(output.path, 'grid.png') + ' (rows: prompt, each expert alone, AMDM; first sample per prompt) and ' : ''}${path.join(output.path, 'results.json')} in ${run.results.seconds.toFixed(1)} s`,
  );
  return run.result;
}
