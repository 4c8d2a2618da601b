import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodePNG } from '../../../src/image/png.ts';
import { runZooCalibrate } from '../../../src/experiments/zoo/calibrate.ts';
import { stylePng, unitImageFromRgba, zooModelSpec } from '../../../src/experiments/zoo/scene.ts';
import { bytesToUnit, renderStyle, type Scene } from '../../../src/toy/minimig/index.ts';
import { projectRoot } from '../../helpers/data.ts';

const SCENE: Scene = {
  instances: [
    { shape: 'square', colour: 'red', box: { x: 0, y: 0, size: 8 } },
    { shape: 'circle', colour: 'blue', box: { x: 16, y: 16, size: 16 - 2 } },
  ],
  relations: [{ subject: 1, object: 0, action: 'looking at' }],
  style: { texture: 'dots', tint: 'grey', phase: [1, 2] },
};

describe('zoo scene → model inputs', () => {
  it('each family gets its caption variant and conditions', () => {
    expect(zooModelSpec('sd', SCENE, 'f', 'base')).toEqual({
      folder: 'f',
      kind: 'sd',
      name: 'base',
      prompt: 'a blue circle looking at a red square on grey dots',
    });
    expect(zooModelSpec('interactdiffusion', SCENE, 'f', 'i')).toEqual({
      folder: 'f',
      kind: 'interactdiffusion',
      name: 'i',
      prompt: 'a blue circle looking at a red square on grey dots',
      conditions: {
        subjects: ['blue circle'],
        objects: ['red square'],
        actions: ['looking at'],
        subjectBoxes: [[0.5, 0.5, 30 / 32, 30 / 32]],
        objectBoxes: [[0, 0, 0.25, 0.25]],
      },
    });
    expect(zooModelSpec('migc', SCENE, 'f', 'm')?.conditions).toEqual({
      phrases: ['red square', 'blue circle'],
      boxes: [
        [0, 0, 0.25, 0.25],
        [0.5, 0.5, 30 / 32, 30 / 32],
      ],
    });
    expect(zooModelSpec('migc', SCENE, 'f', 'm')?.prompt).toBe('a red square and a blue circle on grey dots');
    expect(zooModelSpec('ipadapter', SCENE, 'f', 'p', 'ref.png')).toMatchObject({
      prompt: 'a blue circle looking at a red square',
      conditions: { image: 'ref.png' },
    });
    expect(zooModelSpec('interactdiffusion', { ...SCENE, relations: [] }, 'f', 'i')).toBeNull();
    expect(() => zooModelSpec('ipadapter', SCENE, 'f', 'p')).toThrow(
      "styleImage must name the style reference PNG for kind 'ipadapter'",
    );
    expect(() => zooModelSpec('flux', SCENE, 'f', 'x')).toThrow(
      "kind must be one of sd, interactdiffusion, migc, ipadapter (the zoo's families), got 'flux'",
    );
  });

  it('a style PNG decodes back to the exact render', async () => {
    const png = await decodePNG(await stylePng(SCENE.style));
    expect(unitImageFromRgba(png)).toEqual(bytesToUnit(renderStyle(SCENE.style)));
  });
});

const zoo = join(projectRoot, 'models', 'mini-zoo');
const haveZoo = ['base', 'migc-mini', 'interactdiffusion-mini'].every((m) =>
  existsSync(join(zoo, m, 'unet', 'model.onnx')),
);
if (!haveZoo) console.warn(`[skip] zoo calibrate: the model folders under ${zoo} are missing`);

describe.skipIf(!haveZoo)('amdm zoo calibrate --quick on the committed folders', () => {
  const out = mkdtempSync(join(tmpdir(), 'zoo-calibrate-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('runs each model alone, scores every image and writes json, csv and md', async () => {
    const lines: string[] = [];
    const models = ['base', 'interactdiffusion-mini', 'migc-mini'];
    const res = await runZooCalibrate({
      zoo,
      models,
      perLevel: 1,
      steps: 2,
      out,
      images: true,
      log: (l) => lines.push(l),
    });
    expect(res.map((m) => [m.name, m.kind, m.images.length, m.skipped])).toEqual([
      ['base', 'sd', 4, 0],
      ['interactdiffusion-mini', 'interactdiffusion', 3, 1], // L1 has no interaction
      ['migc-mini', 'migc', 4, 0],
    ]);
    for (const m of res) {
      for (const r of [...m.levels, m.overall]) {
        for (const v of [r.instanceSuccess, r.mIoU, r.styleSuccess, r.cleanRate])
          expect(v.value >= 0 && v.value <= 1).toBe(true);
      }
    }
    const csv = readFileSync(join(out, 'calibration.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe(
      'model,level,images,instance_success,instance_success_se,miou,miou_se,interaction_success,interaction_success_se,relation_success,relation_success_se,image_success,image_success_se,style_success,style_success_se,clean_rate,clean_rate_se',
    );
    expect(csv).toHaveLength(1 + 5 + 4 + 5);
    expect(csv[1].startsWith('base,L1,1,')).toBe(true);
    const json = JSON.parse(readFileSync(join(out, 'calibration.json'), 'utf8'));
    expect(json.settings).toMatchObject({ models, prompts: 4, steps: 2, guidance: 5 });
    expect(readFileSync(join(out, 'calibration.md'), 'utf8')).toContain(
      '| model | level | images | instance success |',
    );
    expect(existsSync(join(out, 'refs', 'L4-000.png'))).toBe(true);
    expect(existsSync(join(out, 'images', 'migc-mini', 'L2-000-r0.png'))).toBe(true);
    expect(existsSync(join(out, 'images', 'interactdiffusion-mini', 'L1-000-r0.png'))).toBe(false);
    expect(res[2].images.map((i) => i.seed)).toEqual([1_000_000, 2_000_000, 3_000_000, 4_000_000]);
    expect(lines.at(-1)).toContain('interaction success');
  }, 180_000);

  it('names a folder that is not a model', async () => {
    await expect(runZooCalibrate({ zoo, models: ['tokenizer'], out })).rejects.toThrow('--models: ');
  });

  it('writes its folder whole (with the manifest); a smoke run never replaces it, a foreign folder is refused before any model runs', async () => {
    const manifest = JSON.parse(readFileSync(join(out, '.amdm-output.json'), 'utf8'));
    expect(manifest).toMatchObject({ command: 'zoo calibrate', smoke: false });
    expect(manifest.files).toContain('refs/L1-000.png');
    expect(manifest.files).toContain('images/base/L1-000-r0.png');
    await expect(runZooCalibrate({ zoo, models: ['base'], perLevel: 1, steps: 1, out, quick: true })).rejects.toThrow(
      `--out: ${out} holds the full run of "zoo calibrate"; a smoke run (--quick) never replaces it`,
    );
    const foreign = mkdtempSync(join(tmpdir(), 'zoo-calibrate-foreign-'));
    writeFileSync(join(foreign, 'notes.txt'), 'mine');
    const lines: string[] = [];
    await expect(
      runZooCalibrate({ zoo, models: ['base'], perLevel: 1, steps: 1, out: foreign, log: (l) => lines.push(l) }),
    ).rejects.toThrow('already holds files that amdm did not write');
    expect(lines).toEqual([]);
    expect(readFileSync(join(foreign, 'notes.txt'), 'utf8')).toBe('mine');
    rmSync(foreign, { recursive: true, force: true });
  });
});
