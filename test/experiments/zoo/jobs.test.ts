import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runGenerate } from '../../../src/cli/generate.ts';
import { parseJob } from '../../../src/jobs/job-schema.ts';
import { writeZooJobs } from '../../../src/experiments/zoo/jobs.ts';
import { projectRoot } from '../../helpers/data.ts';
import { decodePNG } from '../../../src/image/png.ts';
import { evaluateScene, minimigPrompt } from '../../../src/toy/minimig/index.ts';
import { unitImageFromRgba } from '../../../src/jobs/minimig-image.ts';

const jobsDir = join(projectRoot, 'examples', 'jobs');
const names = [
  'mini-base',
  'mini-interactdiffusion',
  'mini-migc',
  'mini-ipadapter',
  'mini-interact-migc',
  'mini-interact-migc-ip',
];
const tmp = mkdtempSync(join(tmpdir(), 'zoo-jobs-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

type Job = { models: { folder: string; conditions?: { image?: string } }[]; [k: string]: unknown };
const load = (dir: string, name: string) => JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as Job;
/** The job with model folders and the style image made absolute against its own folder. */
function normalized(dir: string, name: string): Job {
  const j = load(dir, name);
  return {
    ...j,
    output: undefined,
    models: j.models.map((m) => ({
      ...m,
      folder: resolve(dir, m.folder),
      conditions: m.conditions?.image
        ? { ...m.conditions, image: basename(resolve(dir, m.conditions.image)) }
        : m.conditions,
    })),
  };
}

describe('examples/jobs/mini-*.json', () => {
  it('are what `amdm zoo jobs` writes (regenerated into another folder), with the same style PNG', async () => {
    const files = await writeZooJobs({ out: tmp, zoo: join(projectRoot, 'models', 'mini-zoo') });
    expect(files.map((f) => basename(f))).toEqual(['mini-style-L3-002.png', ...names.map((n) => `${n}.json`)]);
    for (const n of names) expect(normalized(tmp, n), n).toEqual(normalized(jobsDir, n));
    expect(readFileSync(join(tmp, 'mini-style-L3-002.png'))).toEqual(
      readFileSync(join(jobsDir, 'mini-style-L3-002.png')),
    );
  });

  it('name every file relative to the job file: the style image beside it', () => {
    for (const n of ['mini-ipadapter', 'mini-interact-migc-ip']) {
      const image = load(jobsDir, n).models.at(-1)!.conditions!.image!;
      expect(image).toBe('mini-style-L3-002.png');
      expect(existsSync(resolve(jobsDir, image))).toBe(true);
    }
  });

  it('use the paper settings: w = 0.5 / [0.5, 0.65], η = 0.3·√d, s = 20 of T = 50, InteractDiffusion as target', () => {
    for (const n of names) parseJob(load(jobsDir, n), n);
    const two = parseJob(load(jobsDir, 'mini-interact-migc'));
    const three = parseJob(load(jobsDir, 'mini-interact-migc-ip'));
    expect([two.weights, two.eta, two.etaScale, two.aggregateSteps, two.steps, two.target]).toEqual([
      0.5,
      0.3,
      'sqrtDim',
      20,
      50,
      0,
    ]);
    expect([three.weights, three.models.map((m) => m.kind)]).toEqual([
      [0.5, 0.65],
      ['interactdiffusion', 'migc', 'ipadapter'],
    ]);
  });
});

const haveZoo = ['base', 'interactdiffusion-mini', 'migc-mini', 'ipadapter-mini'].every((m) =>
  existsSync(join(projectRoot, 'models', 'mini-zoo', m, 'unet', 'model.onnx')),
);
if (!haveZoo) console.warn('[skip] example jobs run: the mini-zoo model folders are missing');

describe.skipIf(!haveZoo)('the mini example jobs run (3 steps, s = 2)', () => {
  for (const n of names) {
    it(
      n,
      async () => {
        const j = load(jobsDir, n);
        const path = join(tmp, `run-${n}.json`);
        const out = join(tmp, `out-${n}`);
        const models = j.models.map((m) => ({
          ...m,
          folder: resolve(jobsDir, m.folder),
          ...(m.conditions?.image
            ? { conditions: { ...m.conditions, image: resolve(jobsDir, m.conditions.image) } }
            : {}),
        }));
        writeFileSync(
          path,
          JSON.stringify({
            ...j,
            models,
            steps: 3,
            aggregateSteps: j.aggregateSteps === undefined ? undefined : 2,
            output: out,
          }),
        );
        const s = await runGenerate(path, { progress: false, log: () => {} });
        expect(s.calls[0]).toBe(3);
        // a MiniMIG prompt: every image is scored by the world's evaluator, as results.json says
        const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
        const scene = minimigPrompt(3, 2).scene;
        expect(results.minimig.id).toBe('L3-002');
        expect(results.images.length).toBe(j.saveAll ? j.models.length : 1);
        for (const img of results.images) {
          const rgba = await decodePNG(readFileSync(join(out, img.file)));
          expect(img.scores).toEqual(JSON.parse(JSON.stringify(evaluateScene(scene, unitImageFromRgba(rgba)))));
        }
        expect(readdirSync(out)).toContain('target.png');
      },
      60_000,
    );
  }
});
