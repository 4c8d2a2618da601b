/**
 * Time per sampling step on the mini-zoo, aggregated steps (the first s = 20 of T = 50, where the
 * models' calls may overlap) apart from the target's lone steps, for each placement of the UNets:
 * the target alone, AMDM with 2 and 3 models on the main thread, every non-target UNet in a
 * worker thread (`unetWorkers: true`), and one of the three in a worker (`unetWorkers: [k]`, the
 * other after the target's on the main thread). One L3 prompt, 1 intra-op thread per session,
 * medians over `--reps` images after one warm-up; the gaps between `onStep` calls.
 *
 *   npx tsx bench/zoo-steps.ts [--reps 3] [--zoo models/mini-zoo]
 */
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { minimigPrompt } from '../src/toy/minimig/index.ts';
import { prepareSdPipeline, type SdPipelineOptions } from '../src/sd/pipeline.ts';
import { AMDM_DEFAULTS } from '../src/core/defaults.ts';
import '../src/sd/families/index.ts';
import { folderKind, folderScalingFactor, stylePng, zooModelSpec } from '../src/experiments/zoo/scene.ts';
import { markdownTable } from '../src/jobs/table.ts';
import { intArg } from './int-arg.ts';

const usage = 'usage: npx tsx bench/zoo-steps.ts [--reps 3] [--zoo models/mini-zoo]';
const { values } = parseArgs({
  options: { reps: { type: 'string', default: '3' }, zoo: { type: 'string', default: 'models/mini-zoo' } },
});
const reps = intArg('reps', values.reps!, 1, usage);
const zoo = values.zoo!;
const T = AMDM_DEFAULTS.steps;
const s = AMDM_DEFAULTS.aggregateSteps;

const PLACEMENTS: [string, number, SdPipelineOptions['unetWorkers']][] = [
  ['InteractDiffusion-mini alone', 1, false],
  ['AMDM ← MIGC-mini, main thread', 2, false],
  ['AMDM ← MIGC-mini, MIGC-mini in a worker', 2, true],
  ['AMDM ← MIGC-mini + IP-Adapter-mini, main thread', 3, false],
  ['AMDM ← MIGC-mini + IP-Adapter-mini, both in workers', 3, true],
  ['AMDM ← MIGC-mini + IP-Adapter-mini, MIGC-mini in a worker', 3, [1]],
  ['AMDM ← MIGC-mini + IP-Adapter-mini, IP-Adapter-mini in a worker', 3, [2]],
];

const scratch = mkdtempSync(join(os.tmpdir(), 'zoo-steps-'));
try {
  const p = minimigPrompt(3, 2);
  const ref = join(scratch, 'style.png');
  writeFileSync(ref, await stylePng(p.reference));
  const names = ['interactdiffusion-mini', 'migc-mini', 'ipadapter-mini'];
  const specs = [];
  for (const n of names) specs.push(zooModelSpec(await folderKind(join(zoo, n)), p.scene, join(zoo, n), n, ref)!);
  const scalingFactor = await folderScalingFactor(join(zoo, names[0]));
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
  const rows: string[][] = [];
  for (const [label, n, unetWorkers] of PLACEMENTS) {
    const models = specs.slice(0, n);
    const pipe = await prepareSdPipeline({ models, session: { intraOpNumThreads: 1 }, unetWorkers });
    const run = {
      prompt: models[0].prompt,
      negativePrompt: '',
      steps: T,
      guidance: 5,
      seed: p.seed,
      scalingFactor,
      ...(n === 1 ? {} : { aggregateSteps: s, weights: n === 2 ? [0.5] : [0.5, 0.65], eta: AMDM_DEFAULTS.eta }),
    };
    try {
      await pipe.run(run);
      const aggregated: number[] = [];
      const lone: number[] = [];
      for (let r = 0; r < reps; r++) {
        let last = performance.now();
        let k = 0;
        const onStep = () => {
          const now = performance.now();
          (k++ < s ? aggregated : lone).push(now - last);
          last = now;
        };
        await pipe.run({ ...run, onStep });
      }
      rows.push([label, median(aggregated).toFixed(2), median(lone).toFixed(2)]);
    } finally {
      await pipe.release();
    }
  }
  const load = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');
  console.log(
    `Per step on the mini-zoo (T = ${T}, s = ${s}, 1 thread per session, median over ${reps} images; load average ${load} at the end)\n`,
  );
  console.log(markdownTable(['placement', 'aggregated step (ms)', 'lone step (ms)'], rows, { textColumns: 1 }));
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
