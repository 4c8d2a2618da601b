/**
 * `amdm bench coco-mig` on the tiny InteractDiffusion and MIGC fixtures with a handful of
 * COCO-MIG-format prompts: writes, resumes, regenerates a corrupted PNG, shards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFamilyFolder } from '../../../fixtures/families.ts';
import { cocoMigSeed, planCocoMig, runCocoMig, type CocoMigOptions } from '../../../src/experiments/coco-mig/run.ts';
import { cocoMigCommand } from '../../../src/cli/coco-mig-command.ts';
import { decodePNG } from '../../../src/image/png.ts';
import { generateSd } from '../../../src/sd/pipeline.ts';
import '../../../src/sd/families/index.ts';
import {
  COCO_MIG_NEGATIVE_PROMPT,
  cocoMigFileName,
  cocoMigInteract,
  cocoMigMigc,
  parseCocoMig,
} from '../../../src/sd/coco-mig.ts';

let root: string;
let base: Omit<CocoMigOptions, 'output'>;

const entry = (caption: string, labels: string[], boxes: number[][], id: string) => ({
  caption,
  segment: labels.map((label, i) => ({ bbox: boxes[i], label })),
  image_id: id,
});

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'amdm-coco-mig-'));
  const bench = {
    '0': entry(
      'a photo of a black cat and a white cat ',
      ['a black cat', 'a white cat'],
      [
        [0.1, 0.4, 0.7, 0.7],
        [0.5, 0.5, 0.8, 0.75],
      ],
      '500084',
    ),
    '1': entry('a photo of a red cup ', ['a red cup'], [[0.2, 0.2, 0.6, 0.9]], '74711'),
    '2': entry(
      'a photo of a blue dog and a green cat and a red cup ',
      ['a blue dog', 'a green cat', 'a red cup'],
      [
        [0, 0, 0.5, 0.5],
        [0.5, 0, 1, 0.5],
        [0.2, 0.5, 0.8, 1],
      ],
      '12',
    ),
    '3': entry('a photo of a white man ', ['a white man'], [[0.3, 0.1, 0.7, 1]], '329533'),
  };
  await writeFile(join(root, 'bench.json'), JSON.stringify(bench));
  base = {
    bench: join(root, 'bench.json'),
    interact: await writeFamilyFolder(join(root, 'interact'), 'interactdiffusion'),
    migc: await writeFamilyFolder(join(root, 'migc'), 'migc'),
    steps: 4,
    aggregateSteps: 2,
    migcSteps: 1,
    env: {},
  };
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('coco-mig runner', () => {
  it('writes {image_id:06d}_{key}.png, resumes, and regenerates a corrupted image', async () => {
    const output = join(root, 'all');
    const first = await runCocoMig({ ...base, output });
    expect((await readdir(output)).sort()).toEqual([
      '000012_2.png',
      '074711_1.png',
      '329533_3.png',
      '500084_0.png',
      'settings.json',
    ]);
    expect(first.written.length).toBe(4);
    const img = await decodePNG(new Uint8Array(await readFile(join(output, '500084_0.png'))));
    expect([img.width, img.height]).toEqual([64, 64]);
    const before = await readFile(join(output, '074711_1.png'));

    const second = await runCocoMig({ ...base, output });
    expect(second.written).toEqual([]);
    expect(second.skipped.length).toBe(4);

    await writeFile(join(output, '074711_1.png'), before.subarray(0, 40));
    const third = await runCocoMig({ ...base, output });
    expect(third.regenerated).toEqual([join(output, '074711_1.png')]);
    expect(third.written).toEqual(third.regenerated);
    // Same seed (seed + key) → the same image again.
    expect(Buffer.compare(await readFile(join(output, '074711_1.png')), before)).toBe(0);

    // Other settings into the same folder: refused before any model runs, naming each flag.
    await expect(runCocoMig({ ...base, output, steps: 5, aggregateSteps: 3 })).rejects.toThrow(
      `${output} holds images made with other settings (--steps 5 here, 4 there; --s 3 here, 2 there); resume with the same settings or give another --out`,
    );
    await expect(runCocoMig({ ...base, output, weight: 0.7 })).rejects.toThrow(/\(--w 0\.7 here, 0\.5 there\)/);
    expect(JSON.parse(await readFile(join(output, 'settings.json'), 'utf8')).settings).toMatchObject({
      steps: 4,
      aggregateSteps: 2,
      migcSteps: 1,
    });
  });
  it("makes each image as the SD pipeline (generateSd) does, bit for bit, with the paper's and the reference loop", async () => {
    const entries = parseCocoMig(JSON.parse(await readFile(base.bench, 'utf8')), base.bench);
    for (const preset of ['paper', 'reference'] as const) {
      const output = join(root, `pipeline-${preset}`);
      await runCocoMig({ ...base, output, keys: ['0', '2'], preset });
      for (const e of entries.filter((x) => x.key === '0' || x.key === '2')) {
        const r = await generateSd({
          models: [
            {
              folder: base.interact,
              kind: 'interactdiffusion',
              conditions: cocoMigInteract(e),
              name: 'interactdiffusion',
            },
            { folder: base.migc, kind: 'migc', conditions: cocoMigMigc(e, base.migcSteps), name: 'migc' },
          ],
          prompt: e.caption,
          negativePrompt: COCO_MIG_NEGATIVE_PROMPT,
          steps: base.steps,
          guidance: 7.5,
          seed: cocoMigSeed(0, e.key),
          ...(preset === 'paper'
            ? { aggregateSteps: base.aggregateSteps, weights: 0.5, eta: [0.3, 0.3], etaScale: 'sqrtDim', rule: 'slerp' }
            : { preset, reference: { omegas: [0.5], optimStart: 1, optimEnd: 3, p: [45, 55] } }),
        });
        const name = cocoMigFileName(e);
        expect(
          Buffer.compare(Buffer.from(r.target.png[0]), await readFile(join(output, name))),
          `${preset} ${name}`,
        ).toBe(0);
      }
    }
  });
  it('checks the output location before loading a model', async () => {
    const file = join(root, 'a-file');
    await writeFile(file, 'x');
    await expect(runCocoMig({ ...base, migc: join(root, 'none'), output: join(file, 'out') })).rejects.toThrow(
      /^output: cannot create the folder .*a-file\/out: .*a-file is a file, not a folder$/,
    );
  });
  it('flags are named as typed: --s against --steps, --migc-steps, a job file given as --bench', async () => {
    const cli = (args: string[]) =>
      cocoMigCommand()
        .exitOverride()
        .configureOutput({ writeErr: () => {}, writeOut: () => {} })
        .parseAsync([
          'node',
          'coco-mig',
          '--bench',
          base.bench,
          '--interact',
          base.interact,
          '--migc',
          base.migc,
          '--out',
          join(root, 'cli'),
          '--no-progress',
          ...args,
        ]);
    await expect(cli(['--steps', '4', '--s', '10'])).rejects.toThrow('--s must be ≤ --steps (4), got 10');
    await expect(cli(['--steps', '4', '--migc-steps', '30'])).rejects.toThrow(
      '--migc-steps must be in [-1, --steps − 1 = 3] (3 runs MIGC at every step), got 30',
    );
    const job = join(root, 'job.json');
    await writeFile(job, JSON.stringify({ prompt: 'x', models: [{ folder: 'a' }], aggregateSteps: 3 }));
    await expect(planCocoMig({ ...base, bench: job, output: join(root, 'x') })).rejects.toThrow(
      /job\.json looks like an `amdm generate` job file \(it has "models" or "prompt"\), not mig_bench\.json/,
    );
  });
  it('shards are disjoint, their union is every entry, and images do not depend on the sharding', async () => {
    const output = join(root, 'sharded');
    const a = await runCocoMig({ ...base, output, shard: '0/2' });
    const b = await runCocoMig({ ...base, output, shard: 'auto', shardCount: 2, env: { JOB_COMPLETION_INDEX: '1' } });
    expect(a.keys).toEqual(['0', '2']);
    expect(b.keys).toEqual(['1', '3']);
    expect((await readdir(output)).sort()).toEqual((await readdir(join(root, 'all'))).sort());
    for (const f of await readdir(output)) {
      expect(Buffer.compare(await readFile(join(output, f)), await readFile(join(root, 'all', f)))).toBe(0);
    }
  });
  it('checks the shard environment and the entries before loading a model', async () => {
    await expect(planCocoMig({ ...base, output: join(root, 'x'), shard: 'auto', env: {} })).rejects.toThrow(
      /needs JOB_COMPLETION_INDEX/,
    );
    await expect(
      planCocoMig({
        ...base,
        output: join(root, 'x'),
        shard: 'auto',
        env: { SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_COUNT: '4' },
      }),
    ).rejects.toThrow(/shard index 4 is outside \[0, 3\]/);
    await expect(planCocoMig({ ...base, output: join(root, 'x'), keys: ['9'] })).rejects.toThrow(/keys: "9" not in/);
    const bad = join(root, 'bad.json');
    await writeFile(bad, JSON.stringify({ '0': entry('c', ['a'], [[0, 0, 1.5, 1]], '1') }));
    await expect(runCocoMig({ ...base, bench: bad, output: join(root, 'x') })).rejects.toThrow(
      /"0"\.segment\[0\]\.bbox: a box must lie in \[0, 1\]/,
    );
    const p = await planCocoMig({
      ...base,
      output: join(root, 'x'),
      limit: 3,
      shard: 'auto',
      env: { SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_COUNT: '2', SLURM_ARRAY_TASK_MIN: '1' },
    });
    expect(p.entries.map((e) => e.key)).toEqual(['1']);
    expect([
      cocoMigSeed(5, '12'),
      cocoMigSeed(5, 'ab') === cocoMigSeed(5, 'ab'),
      cocoMigSeed(5, 'ab') !== cocoMigSeed(5, 'ba'),
    ]).toEqual([17, true, true]);
  });
  it('the commander subcommand exposes the flags', () => {
    const c = cocoMigCommand();
    const flags = c.options.map((o) => o.long);
    expect(flags).toEqual(
      expect.arrayContaining([
        '--bench',
        '--interact',
        '--migc',
        '--out',
        '--shard',
        '--shard-count',
        '--steps',
        '--s',
        '--w',
        '--eta',
        '--preset',
        '--device',
      ]),
    );
    expect(c.name()).toBe('coco-mig');
  });
  it('the Kubernetes and Slurm examples use only flags the subcommand has, with --shard auto', async () => {
    const known = new Set(cocoMigCommand().options.map((o) => o.long));
    const k8s = await readFile(new URL('../../../examples/k8s/coco-mig-indexed-job.yaml', import.meta.url), 'utf8');
    const slurm = await readFile(new URL('../../../examples/slurm/coco-mig.sbatch', import.meta.url), 'utf8');
    const k8sFlags = [...k8s.matchAll(/^\s+- (--[a-z-]+)/gm)].map((m) => m[1]);
    const slurmFlags = [...slurm.matchAll(/ (--[a-z-]+)(?= |$)/gm)]
      .map((m) => m[1])
      .filter((f) => !f.startsWith('--array') && !f.startsWith('--job'));
    expect(k8sFlags).toContain('--shard-count');
    expect(slurmFlags).toContain('--shard');
    for (const f of [...k8sFlags, ...slurmFlags]) expect(known.has(f), f).toBe(true);
    expect(k8s).toMatch(/completionMode: Indexed/);
    expect(/completions: (\d+)/.exec(k8s)![1]).toBe(/--shard-count=(\d+)/.exec(k8s)![1]);
  });
});
