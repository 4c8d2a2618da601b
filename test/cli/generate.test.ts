import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePNG } from '../../src/image/png.ts';
import { parseGenerateArgs, runGenerate } from '../../src/cli/generate.ts';
import { loadJob } from '../../src/jobs/job-file.ts';
import { parseJob } from '../../src/jobs/job-schema.ts';
import { graphBuilder } from '../../src/onnx/graph.ts';
import { tmpFolders } from '../onnx/tmp-folders.ts';

const tmp = tmpFolders();
let work: string;

beforeAll(async () => {
  work = await tmp.jobFolder();
});
afterAll(() => tmp.cleanup());

let jobN = 0;
/** Write a job file in the work folder (paths inside are relative to it). */
async function job(body: Record<string, unknown>): Promise<{ path: string; out: string }> {
  const n = jobN++;
  const out = `out-${n}`;
  const path = join(work, `job-${n}.json`);
  await writeFile(path, JSON.stringify({ output: out, ...body }));
  return { path, out: join(work, out) };
}

const quiet = { progress: false, log: () => undefined };

describe('amdm generate', () => {
  it('one model: writes the image and resolved.json with T UNet calls', async () => {
    const j = await job({ prompt: 'a red square', models: [{ folder: 'models/a' }], steps: 4, seed: 7 });
    const s = await runGenerate(j.path, quiet);
    expect(s.calls).toEqual([4]);
    expect((await readdir(j.out)).sort()).toEqual([
      '.amdm-output.json',
      'resolved.json',
      'results.json',
      'sheet.png',
      'target.png',
    ]);
    const img = await decodePNG(await readFile(join(j.out, 'target.png')));
    expect([img.width, img.height]).toEqual([64, 64]);
    const resolved = JSON.parse(await readFile(join(j.out, 'resolved.json'), 'utf8'));
    expect(resolved.job.models[0]).toEqual({ folder: join(work, 'models/a'), kind: 'sd', name: 'a', conditions: {} });
    expect(resolved.job).toMatchObject({
      steps: 4,
      aggregateSteps: 3,
      guidance: 7.5,
      negativePrompt: '',
      seed: 7,
      preset: 'paper',
      device: 'cpu',
    });
    expect(resolved).toMatchObject({
      calls: [4],
      totalCalls: 4,
      textEncoderRuns: 1,
      vaeRuns: 1,
      latentShape: [4, 8, 8],
      files: ['target.png', 'sheet.png', 'results.json'],
    });
    expect(resolved.timesteps).toEqual([751, 501, 251, 1]);
  });

  it('two models (AMDM) with saveAll and saveTrace, from the argument list', async () => {
    const j = await job({
      prompt: 'a red square',
      models: [
        { folder: 'models/a', name: 'A' },
        { folder: 'models/b', name: 'B' },
      ],
      target: 'B',
      steps: 5,
      aggregateSteps: 2,
      saveAll: true,
      saveTrace: true,
    });
    const s = await runGenerate([j.path, '--no-progress'], { log: () => undefined });
    expect(s.calls).toEqual([2, 5]);
    expect(s.totalCalls).toBe(10); // A finishes its own run for saveAll: 2 + 3
    expect((await readdir(j.out)).sort()).toEqual([
      '.amdm-output.json',
      'after-aggregation-0-A.png',
      'resolved.json',
      'results.json',
      'sheet.png',
      'target.png',
      'trace.json',
    ]);
    // The target's own image is the AMDM result, target.png: written once.
    const results = JSON.parse(await readFile(join(j.out, 'results.json'), 'utf8'));
    expect(results.images.map((i: { file: string; model: string }) => [i.file, i.model])).toEqual([
      ['target.png', 'B'],
      ['after-aggregation-0-A.png', 'A'],
    ]);
    expect(results.images[0].what).toBe(
      'the AMDM result: B (the target) after 2 aggregated steps with the other models and 3 alone',
    );
    expect(results.images[1].what).toMatch(
      /^A's own image: the first 2 of 5 steps shared \(aggregated\) with the target, then 3 steps alone — not the model alone$/,
    );
    expect(results.aggregateSteps).toBe(2);
    expect(results.images[0].scores).toBeUndefined(); // not a MiniMIG prompt
    // the sheet: two columns of 64×64 images upscaled 4× (240 / 64 rounded up), one row, notes below
    const sheet = await decodePNG(await readFile(join(j.out, 'sheet.png')));
    expect(sheet.width).toBe(6 + 2 * (4 * 64 + 6));
    expect(sheet.height).toBeGreaterThan(6 + 18 + 6 + 4 * 64 + 6);
    const trace = JSON.parse(await readFile(join(j.out, 'trace.json'), 'utf8'));
    expect(trace.steps).toHaveLength(5);
    expect(trace.steps.map((t: { aggregated: boolean }) => t.aggregated)).toEqual([true, true, false, false, false]);
    expect(trace.steps[0].deviations).toHaveLength(2);
    const resolved = JSON.parse(await readFile(join(j.out, 'resolved.json'), 'utf8'));
    expect(resolved.job.target).toBe(1);
    expect(resolved.finishCalls).toEqual([3, 0]);
  });

  it('a MiniMIG prompt id: a bad one is refused by the schema; images that are not 32×32 cannot be scored, and nothing is written', async () => {
    expect(() => parseJob({ prompt: 'p', models: [{ folder: 'a' }], minimig: 'L5-001' })).toThrow(
      /minimig: must be a MiniMIG prompt id such as "L3-002"/,
    );
    const j = await job({ prompt: 'a red square', models: [{ folder: 'models/a' }], steps: 2, minimig: 'L3-002' });
    await expect(runGenerate(j.path, quiet)).rejects.toThrow(
      'minimig: the MiniMIG evaluator scores 32×32 images, this job makes 64×64',
    );
    expect(existsSync(j.out)).toBe(false);
  });

  it('every relative path in a job file resolves against its folder, whatever the working folder', async () => {
    const j = await job({
      prompt: 'a red square',
      models: [
        { folder: 'models/a' },
        { folder: 'models/ip', kind: 'ipadapter', conditions: { image: 'styles/ref.png', scale: 0.8 } },
      ],
    });
    for (const path of [j.path, relative(process.cwd(), j.path)]) {
      const loaded = await loadJob(path);
      expect(loaded.models.map((m) => m.folder)).toEqual([join(work, 'models/a'), join(work, 'models/ip')]);
      expect(loaded.models[1].conditions).toEqual({ image: join(work, 'styles/ref.png'), scale: 0.8 });
      expect(loaded.output).toBe(j.out);
    }
    expect((await loadJob(j.path, { output: 'elsewhere' })).output).toBe(join(process.cwd(), 'elsewhere'));
  });

  it('windows, weight schedules and spatial maps from the job file: an all-0 map is the target alone; a late window finishes from its end', async () => {
    const two = { prompt: 'a red square', steps: 5, seed: 3 };
    const models = [
      { folder: 'models/a', name: 'A' },
      { folder: 'models/b', name: 'B' },
    ];
    const alone = await job({ ...two, models: [models[0]] });
    const zero = await job({ ...two, models, aggregateSteps: 3, eta: 0.4, spatial: [{ map: new Array(64).fill(0) }] });
    await runGenerate(alone.path, quiet);
    await runGenerate(zero.path, quiet);
    expect(await readFile(join(zero.out, 'target.png'))).toEqual(await readFile(join(alone.out, 'target.png')));
    const late = await job({
      ...two,
      models,
      windows: [[1, 3]],
      weights: [{ kind: 'linear', from: 0.9, to: 0.3 }],
      spatial: [{ boxes: [[0, 0, 0.5, 0.5]], feather: 1 }],
      spatialDeviation: true,
      saveAll: true,
      saveTrace: true,
    });
    const s = await runGenerate(late.path, quiet);
    expect(s.calls).toEqual([5, 2]);
    const trace = JSON.parse(await readFile(join(late.out, 'trace.json'), 'utf8'));
    expect(trace.steps.map((t: { weights?: number[] }) => t.weights)).toEqual([
      undefined,
      [0.9],
      [0.3],
      undefined,
      undefined,
    ]);
    const resolved = JSON.parse(await readFile(join(late.out, 'resolved.json'), 'utf8'));
    expect(resolved.finishCalls).toEqual([0, 2]); // B finishes steps 3 and 4 on its own
    expect(resolved.job.spatial).toEqual([{ boxes: [[0, 0, 0.5, 0.5]], feather: 1, invert: false }]);
    // the example of a regional job: MIGC-mini merged inside its own boxes on the first 40 steps
    const regional = parseJob(
      JSON.parse(await readFile(new URL('../../examples/jobs/regional-interact-migc.json', import.meta.url), 'utf8')),
    );
    expect([regional.windows, regional.weights, regional.eta, regional.spatial![0]!]).toMatchObject([
      [[0, 40]],
      0.9,
      0,
      { feather: 1, invert: false },
    ]);
  });

  it('unetWorkers: the other model in a worker thread gives the same image', async () => {
    const body = {
      prompt: 'a red square',
      models: [{ folder: 'models/a' }, { folder: 'models/b' }],
      steps: 4,
      seed: 3,
    };
    const here = await job({ ...body, aggregateSteps: 3, threads: 1 });
    const there = await job({ ...body, aggregateSteps: 3, threads: 1, unetWorkers: true });
    await runGenerate(here.path, quiet);
    const s = await runGenerate(there.path, quiet);
    expect(s.calls).toEqual([4, 3]);
    expect(await readFile(join(there.out, 'target.png'))).toEqual(await readFile(join(here.out, 'target.png')));
    expect(JSON.parse(await readFile(join(there.out, 'resolved.json'), 'utf8')).job.unetWorkers).toBe(true);
  });

  it('the --output option overrides the job and the example job parses', async () => {
    const j = await job({ prompt: 'x', models: [{ folder: 'models/a' }], steps: 2 });
    const other = join(work, 'elsewhere');
    await runGenerate([j.path, '--output', other, '--threads', '1'], quiet);
    expect(existsSync(join(other, 'target.png'))).toBe(true);
    expect(existsSync(j.out)).toBe(false);
    const example = JSON.parse(await readFile(new URL('../../examples/jobs/sd-tiny.json', import.meta.url), 'utf8'));
    expect(parseJob(example).models).toHaveLength(2);
  });

  it('the example job runs on fixture folders placed where it expects them', async () => {
    const root = await tmp.path('example');
    await mkdir(join(root, 'examples/jobs'), { recursive: true });
    await cp(new URL('../../examples/jobs/sd-tiny.json', import.meta.url), join(root, 'examples/jobs/sd-tiny.json'));
    await cp(join(work, 'models/a'), join(root, 'out/sd-tiny'), { recursive: true });
    await cp(join(work, 'models/b'), join(root, 'out/sd-tiny-2'), { recursive: true });
    const s = await runGenerate(join(root, 'examples/jobs/sd-tiny.json'), quiet);
    expect(s.outputDir).toBe(join(root, 'out/generate/sd-tiny'));
    expect(s.calls).toEqual([20, 3]);
  });

  const bad: [string, Record<string, unknown>, string | RegExp][] = [
    [
      'unknown condition key',
      { models: [{ folder: 'models/a' }, { folder: 'models/b', conditions: { boxes: [[0, 0, 1, 1]] } }] },
      'models[1].conditions: Unrecognized key: "boxes"',
    ],
    [
      'weights of the wrong length',
      { models: [{ folder: 'models/a' }, { folder: 'models/b' }], weights: [0.1, 0.2] },
      'weights: must hold 1 number(s), one per non-target model, got 2',
    ],
    [
      'a weight out of range',
      { models: [{ folder: 'models/a' }, { folder: 'models/b' }], weights: [1.5] },
      'weights[0]: Too big: expected number to be <=1',
    ],
    ['steps 0', { models: [{ folder: 'models/a' }], steps: 0 }, 'steps: Too small: expected number to be >=1'],
    [
      'an unknown kind',
      { models: [{ folder: 'models/a', kind: 'gligen' }] },
      /models\[0\]\.kind: unknown model kind "gligen"; registered kinds: .*sd/,
    ],
    ['an unknown field', { models: [{ folder: 'models/a' }], stepz: 3 }, '(job): Unrecognized key: "stepz"'],
    [
      'a missing folder',
      { models: [{ folder: 'models/a' }, { folder: 'models/none' }] },
      /models\[1\]: model folder .*models\/none does not exist or is not a folder/,
    ],
    [
      'the reference preset without settings',
      { models: [{ folder: 'models/a' }, { folder: 'models/b' }], preset: 'reference' },
      'reference: is required with preset "reference"',
    ],
    [
      'a target name that no model has',
      { models: [{ folder: 'models/a', name: 'a' }], target: 'b' },
      'target: no model is named "b"; names: "a"',
    ],
    [
      'an empty prompt',
      { models: [{ folder: 'models/a' }], prompt: ' ' },
      'prompt: must not be empty (give the text to generate',
    ],
    [
      'a weight that is not a number',
      { models: [{ folder: 'models/a' }, { folder: 'models/b' }], weights: 'half' },
      'weights: must be a number in [0, 1] or an array of them, one per non-target model, got string',
    ],
    [
      'a weight schedule out of range',
      { models: [{ folder: 'models/a' }, { folder: 'models/b' }], weights: { kind: 'cosine', from: 0, to: 1.5 } },
      'weights.to: Too big: expected number to be <=1',
    ],
    [
      'a window past the last step',
      { models: [{ folder: 'models/a' }, { folder: 'models/b' }], steps: 4, windows: [[1, 5]] },
      'windows[0]: must be [start, end) with 0 ≤ start ≤ end ≤ steps = 4, got [1, 5]',
    ],
    [
      'a spatial map of the wrong size (the latent is 8×8)',
      { models: [{ folder: 'models/a' }, { folder: 'models/b' }], spatial: [{ map: [0, 1] }] },
      'spatial[0].map must hold 64 weights (one per latent cell, H·W), got 2',
    ],
    [
      'migcSteps past the last step',
      {
        models: [
          { folder: 'models/a' },
          {
            folder: 'models/b',
            kind: 'migc',
            conditions: { caption: 'a cat', phrases: ['a cat'], boxes: [[0, 0, 1, 1]], migcSteps: 30 },
          },
        ],
      },
      'models[1].conditions.migcSteps: must be in [-1, steps − 1 = 2] (steps − 1 runs MIGC at every step), got 30',
    ],
    [
      'more steps than the schedule allows',
      { models: [{ folder: 'models/a' }], steps: 1000 },
      /steps must be ≤ 999 with 'leading' spacing and steps_offset 1/,
    ],
    // the output location is checked before the models: a missing folder is not reached
    [
      'an output under a regular file',
      { models: [{ folder: 'models/none' }], output: 'job-0.json/out' },
      /^output: cannot create the folder .*job-0\.json\/out: .*job-0\.json is a file, not a folder$/,
    ],
    [
      'etaScale with deviation "relative"',
      { models: [{ folder: 'models/a' }, { folder: 'models/b' }], deviation: 'relative', etaScale: 'sqrtDim' },
      'etaScale: applies only to deviation "eq9"; with deviation "relative" eta is the fraction λ ∈ [0, 1] of the way to μ: remove etaScale, got "sqrtDim"',
    ],
    [
      'λ above 1 with deviation "relative"',
      { models: [{ folder: 'models/a' }, { folder: 'models/b' }], deviation: 'relative', eta: [0.5, 1.5] },
      'eta[1]: with deviation "relative" eta is λ and must be in [0, 1], got 1.5',
    ],
    [
      'an unknown deviation',
      { models: [{ folder: 'models/a' }], deviation: 'clip' },
      /deviation: Invalid option: expected one of "eq9"\|"relative"/,
    ],
  ];
  for (const [what, body, msg] of bad) {
    it(`a bad job fails with a pointed message and writes nothing: ${what}`, async () => {
      const j = await job({ prompt: 'x', steps: 3, ...body });
      await expect(runGenerate(j.path, quiet)).rejects.toThrow(msg);
      expect(existsSync(j.out)).toBe(false);
    });
  }

  it('a prompt longer than the text encoder reads runs with a warning that says how many tokens are dropped', async () => {
    const lines: string[] = [];
    const j = await job({ prompt: 'a red square '.repeat(40), models: [{ folder: 'models/a', name: 'A' }], steps: 2 });
    await runGenerate(j.path, { progress: false, log: (m) => lines.push(m) });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^warning: models\[0\] \(A\): the prompt is (\d+) tokens and the text encoder reads (\d+), so the last \d+ are dropped; shorten it$/,
    );
    const [, tokens, reads, dropped] = /is (\d+) tokens .* reads (\d+), so the last (\d+)/.exec(lines[0])!.map(Number);
    expect(tokens - reads).toBe(dropped);
    expect(reads).toBeGreaterThan(0);
    const short: string[] = [];
    await runGenerate((await job({ prompt: 'a red square', models: [{ folder: 'models/a' }], steps: 2 })).path, {
      progress: false,
      log: (m) => short.push(m),
    });
    expect(short).toEqual([]);
  });

  it('a weight too large for JSON (1e999 parses as Infinity) is named as such', async () => {
    const p = join(work, 'huge.json');
    await writeFile(
      p,
      '{ "prompt": "x", "models": [{ "folder": "models/a" }, { "folder": "models/b" }], "weights": 1e999 }',
    );
    await expect(runGenerate(p, quiet)).rejects.toThrow(
      'weights: must be a number in [0, 1] or an array of them, one per non-target model, got Infinity (a number too large for JSON)',
    );
  });

  it('a rerun replaces the output folder: batch 2 after batch 1 leaves no target.png, resolved.json says the new run', async () => {
    const a = await job({ prompt: 'x', models: [{ folder: 'models/a' }], steps: 2, seed: 1, output: 'out-rerun' });
    await runGenerate(a.path, quiet);
    const b = await job({
      prompt: 'x',
      models: [{ folder: 'models/a' }],
      steps: 2,
      seed: 2,
      batch: 2,
      output: 'out-rerun',
    });
    await runGenerate(b.path, quiet);
    const out = join(work, 'out-rerun');
    expect((await readdir(out)).sort()).toEqual([
      '.amdm-output.json',
      'resolved.json',
      'results.json',
      'sheet.png',
      'target-0.png',
      'target-1.png',
    ]);
    expect(JSON.parse(await readFile(join(out, 'resolved.json'), 'utf8')).job.seed).toBe(2);
  });

  it('deviation: "eq9" by default; "relative" takes eta as λ and leaves etaScale to the sampler', () => {
    const two = { prompt: 'x', models: [{ folder: 'a' }, { folder: 'b' }] };
    expect(parseJob(two)).toMatchObject({ deviation: 'eq9', eta: 0.3 });
    expect(parseJob(two).etaScale).toBeUndefined();
    const rel = parseJob({ ...two, deviation: 'relative', eta: 0.4 });
    expect(rel).toMatchObject({ deviation: 'relative', eta: 0.4 });
    expect(rel.etaScale).toBeUndefined();
  });

  it('bad folders fail before any model runs and write nothing: mismatched latent shapes, wrong dtype', async () => {
    const big = join(work, 'models/big');
    await cp(join(work, 'models/a'), big, { recursive: true });
    const g = graphBuilder('big_unet');
    g.input('sample', 'float32', ['batch', 4, 16, 16]);
    g.input('timestep', 'float32', []);
    g.input('encoder_hidden_states', 'float32', ['batch', 'sequence', 32]);
    g.op('Identity', ['sample'], undefined, 'out_sample');
    g.output('out_sample', 'float32', ['batch', 4, 16, 16]);
    await writeFile(join(big, 'unet/model.onnx'), g.encode().model);
    const j = await job({ prompt: 'x', models: [{ folder: 'models/a' }, { folder: 'models/big' }] });
    await expect(runGenerate(j.path, quiet)).rejects.toThrow(
      /models\[1\] \(big\) has latent \[4, 16, 16\] .* AMDM needs one latent shape across models/,
    );
    expect(existsSync(j.out)).toBe(false);

    const intLatent = join(work, 'models/int');
    await cp(join(work, 'models/a'), intLatent, { recursive: true });
    const h = graphBuilder('int_unet');
    h.input('sample', 'int32', ['batch', 4, 8, 8]);
    h.input('timestep', 'float32', []);
    h.input('encoder_hidden_states', 'float32', ['batch', 'sequence', 32]);
    h.op('Cast', ['sample'], { to: { kind: 'int', value: 1 } }, 'out_sample');
    h.output('out_sample', 'float32', ['batch', 4, 8, 8]);
    await writeFile(join(intLatent, 'unet/model.onnx'), h.encode().model);
    const k = await job({ prompt: 'x', models: [{ folder: 'models/int' }] });
    await expect(runGenerate(k.path, quiet)).rejects.toThrow(
      "models[0]: unet/model.onnx: latent input 'sample' is int32 [batch, 4, 8, 8]; expected float32 or float16",
    );
    expect(existsSync(k.out)).toBe(false);
  });

  it("device 'cuda' without the CUDA provider fails and writes nothing", async () => {
    const j = await job({ prompt: 'x', models: [{ folder: 'models/a' }], steps: 2, device: 'cuda' });
    const r = await runGenerate(j.path, quiet).then(
      () => null,
      (e: Error) => e,
    );
    if (r === null) return; // a machine with the CUDA provider
    expect(r.message).toMatch(
      /^models\[0\]: device 'cuda' was requested but the CUDA execution provider could not be used/,
    );
    expect(existsSync(j.out)).toBe(false);
  });

  it('bad files and arguments', async () => {
    await expect(runGenerate(join(work, 'none.json'), quiet)).rejects.toThrow(/^cannot read the job file .*none\.json/);
    const p = join(work, 'broken.json');
    await writeFile(p, '{ "prompt": ');
    await expect(runGenerate(p, quiet)).rejects.toThrow(/broken\.json is not valid JSON/);
    expect(() => parseGenerateArgs([])).toThrow('generate takes one job file, got none');
    expect(() => parseGenerateArgs(['a.json', '--device', 'tpu'])).toThrow(
      '--device must be one of cpu, cuda, auto, got "tpu"',
    );
    expect(() => parseGenerateArgs(['a.json', '--threads', '1.5'])).toThrow(
      '--threads must be an integer in [0, 1024], got "1.5"',
    );
    expect(parseGenerateArgs(['a.json', '-o', 'd', '--device', 'auto', '--no-progress'])).toEqual({
      jobPath: 'a.json',
      options: { output: 'd', device: 'auto', progress: false },
    });
  });
});
