/**
 * `--workers n` of `amdm zoo bench` and `amdm zoo calibrate` (src/experiments/zoo/workers.ts):
 * the shares, the threads per worker, and the same records / calibration for 1 and 2 workers.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runZooBench } from '../../../src/experiments/zoo/bench.ts';
import { runZooCalibrate } from '../../../src/experiments/zoo/calibrate.ts';
import { checkWorkers, shareOf, workerThreads } from '../../../src/experiments/zoo/workers.ts';
import { projectRoot } from '../../helpers/data.ts';

const zoo = join(projectRoot, 'models', 'mini-zoo');
const haveZoo = ['base', 'migc-mini', 'interactdiffusion-mini'].every((m) =>
  existsSync(join(zoo, m, 'unet', 'model.onnx')),
);
if (!haveZoo) console.warn(`[skip] zoo workers: the model folders under ${zoo} are missing`);

describe('worker shares', () => {
  it('deals items round-robin; the shares partition the items', () => {
    const items = [0, 1, 2, 3, 4, 5, 6];
    expect(shareOf(items, { index: 0, count: 3 })).toEqual([0, 3, 6]);
    expect(shareOf(items, { index: 2, count: 3 })).toEqual([2, 5]);
    expect(shareOf(items, undefined)).toEqual(items);
    const all = [0, 1, 2].flatMap((index) => shareOf(items, { index, count: 3 })).sort();
    expect(all).toEqual(items);
  });
  it('threads: the given count, else the cores divided among the workers (at least 1)', () => {
    expect(workerThreads(3, 2)).toBe(3);
    expect(workerThreads(0, 1)).toBe(os.cpus().length);
    expect(workerThreads(0, 1000)).toBe(1);
  });
  it('names a bad --workers', () => {
    expect(checkWorkers(2)).toBe(2);
    expect(() => checkWorkers(0)).toThrow('--workers must be an integer in [1, 1024], got 0');
    expect(() => checkWorkers(1.5)).toThrow('--workers must be an integer in [1, 1024], got 1.5');
  });
});

describe.skipIf(!haveZoo)('workers on the committed zoo folders', () => {
  const out = mkdtempSync(join(os.tmpdir(), 'zoo-workers-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));
  const records = (dir: string) =>
    readdirSync(join(dir, 'records'), { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => {
        const { seconds, ...rest } = JSON.parse(readFileSync(join(dir, 'records', f), 'utf8'));
        expect(seconds).toBeGreaterThan(0);
        return [f, rest];
      });

  it('zoo bench: 2 workers write the same records as 1', async () => {
    const base = { zoo, levels: [1, 2], perLevel: 1, seeds: 2, steps: 2, aggregateSteps: 1, log: () => {} };
    const methods = ['migc', 'interact+migc'];
    const one = await runZooBench({ ...base, methods, out: join(out, 'b1') });
    const two = await runZooBench({ ...base, methods, out: join(out, 'b2'), workers: 2 });
    expect([one.written, two.written]).toEqual([6, 6]);
    expect(records(join(out, 'b2'))).toEqual(records(join(out, 'b1')));
    const noSeconds = (r: typeof one) => r.methods!.map(({ seconds: _, ...m }) => m);
    expect(noSeconds(two)).toEqual(noSeconds(one));
  }, 120_000);

  it('zoo calibrate: 2 workers give the same calibration and images as 1', async () => {
    const base = { zoo, models: ['interactdiffusion-mini'], perLevel: 1, steps: 2, images: true, log: () => {} };
    const one = await runZooCalibrate({ ...base, out: join(out, 'c1') });
    const two = await runZooCalibrate({ ...base, out: join(out, 'c2'), workers: 2 });
    expect(two).toEqual(one);
    expect(one[0].skipped).toBe(1);
    for (const f of ['calibration.json', 'calibration.csv']) {
      expect(readFileSync(join(out, 'c2', f), 'utf8')).toBe(readFileSync(join(out, 'c1', f), 'utf8'));
    }
    const pngs = readdirSync(join(out, 'c1', 'images', 'interactdiffusion-mini')).sort();
    expect(pngs).toEqual(['L2-000-r0.png', 'L3-000-r0.png', 'L4-000-r0.png']);
    for (const f of pngs) {
      const a = readFileSync(join(out, 'c1', 'images', 'interactdiffusion-mini', f));
      expect(readFileSync(join(out, 'c2', 'images', 'interactdiffusion-mini', f))).toEqual(a);
    }
  }, 120_000);
});
