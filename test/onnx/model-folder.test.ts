import { rm, writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeSchedule, SD15_SCHEDULE } from '../../src/core/schedule.ts';
import { attr, graphBuilder } from '../../src/onnx/graph.ts';
import { loadModelFolder } from '../../src/onnx/model-folder.ts';
import { parseManifest } from '../../src/onnx/manifest.ts';
import { scheduleConfigFromJson } from '../../src/onnx/scheduler-config.ts';
import { SD15_SCHEDULER_CONFIG } from '../../fixtures/sd-tiny.ts';
import { tmpFolders } from './tmp-folders.ts';

const tmp = tmpFolders();
afterAll(() => tmp.cleanup());
const unetOnly = { components: ['unet'] as const };

describe('scheduler_config.json → ScheduleConfig', () => {
  it('maps the SD 1.x file to the core SD 1.x schedule', () => {
    expect(scheduleConfigFromJson(SD15_SCHEDULER_CONFIG)).toEqual({ ...SD15_SCHEDULE });
    const s = makeSchedule(scheduleConfigFromJson(SD15_SCHEDULER_CONFIG));
    expect(s.alphasCumprod[999]).toBeCloseTo(0.00466009851308, 12); // sources M§1.5
  });

  it("fills missing fields with DDIMScheduler's defaults and ignores unknown ones", () => {
    expect(scheduleConfigFromJson({ _class_name: 'PNDMScheduler', skip_prk_steps: true })).toEqual({
      betaSchedule: 'linear',
      betaStart: 0.0001,
      betaEnd: 0.02,
      numTrainTimesteps: 1000,
      setAlphaToOne: true,
      stepsOffset: 0,
      timestepSpacing: 'leading',
    });
  });

  it('rejects unsupported settings with messages naming the field', () => {
    expect(() =>
      scheduleConfigFromJson({ ...SD15_SCHEDULER_CONFIG, prediction_type: 'v_prediction' }, 'sched.json'),
    ).toThrow(
      'sched.json: prediction_type "v_prediction" is not supported; AMDM\'s DDIM step needs an epsilon-prediction model',
    );
    expect(() => scheduleConfigFromJson({ beta_schedule: 'cosine' }, 's.json')).toThrow(/^s\.json: beta_schedule: /);
    expect(() => scheduleConfigFromJson({ num_train_timesteps: 1.5 }, 's.json')).toThrow(
      /^s\.json: num_train_timesteps: /,
    );
    expect(() => scheduleConfigFromJson({ trained_betas: [0.1] })).toThrow('trained_betas is not supported');
    expect(() => scheduleConfigFromJson({ clip_sample: true })).toThrow('clip_sample: true is not supported');
  });
});

describe('amdm.json manifest', () => {
  const ok = { unet: { inputs: { x: 'latent', t: 'timestep', c: 'text', b: 'subject_boxes' } } };
  it('accepts known and free-form roles', () => {
    expect(parseManifest(ok).unet!.inputs).toEqual(ok.unet.inputs);
  });
  it('points at the bad field', () => {
    expect(() => parseManifest({ unet: { inputs: { x: 'latent', t: 'timestep', c: 'Text!' } } })).toThrow(
      /^amdm\.json: unet\.inputs\.c: a role is a lower-case name/,
    );
    expect(() => parseManifest({ unet: { inputs: { x: 'latent', t: 'timestep' } } })).toThrow(
      'amdm.json: unet.inputs: no input has the required role "text"',
    );
    expect(() => parseManifest({ unet: { inputs: { x: 'latent', y: 'latent', t: 'timestep', c: 'text' } } })).toThrow(
      'amdm.json: unet.inputs.y: role "latent" is already given to input "x"',
    );
    expect(() => parseManifest({ unet: { ...ok.unet, file: '../elsewhere.onnx' } })).toThrow(
      'amdm.json: unet.file: must be a path inside the model folder',
    );
    expect(() => parseManifest({ unet: ok.unet, extra: 1 })).toThrow(/^amdm\.json: \(root\): .*extra/);
  });
});

describe('loadModelFolder', () => {
  it('loads the SD 1.x folder: schedule, tokenizer paths, shapes from metadata', async () => {
    const dir = await tmp.sdTiny({ externalData: 'model.onnx_data' });
    const f = await loadModelFolder(dir);
    try {
      expect(f.schedule).toEqual({ ...SD15_SCHEDULE });
      expect(f.tokenizer!['vocab.json']).toBe(join(dir, 'tokenizer', 'vocab.json'));
      expect(f.modelIndex._class_name).toBe('ORTStableDiffusionPipeline');
      expect(f.manifest).toBeNull();
      expect([...f.unet.roles.keys()]).toEqual(['latent', 'timestep', 'text']);
      expect(f.textEncoder!.width).toBe(32);
      expect(f.vaeDecoder!.latentChannels).toBe(4);
      expect(f.unet.session.device).toBe('cpu');
    } finally {
      await f.release();
    }
  });

  it('names the missing file', async () => {
    const cases: [string, string][] = [
      ['model_index.json', 'is missing model_index.json'],
      ['scheduler/scheduler_config.json', 'is missing scheduler/scheduler_config.json'],
      ['tokenizer/merges.txt', 'is missing tokenizer/merges.txt'],
      ['unet/model.onnx', 'is missing unet/model.onnx'],
      ['vae_decoder/model.onnx', 'is missing vae_decoder/model.onnx'],
    ];
    for (const [file, msg] of cases) {
      const dir = await tmp.sdTiny();
      await rm(join(dir, file));
      await expect(loadModelFolder(dir)).rejects.toThrow(msg);
    }
    await expect(loadModelFolder(join(await tmp.path(), 'nope'))).rejects.toThrow(/does not exist or is not a folder/);
    // A UNet-only load does not need the tokenizer.
    const unetDir = await tmp.sdTiny();
    await rm(join(unetDir, 'tokenizer'), { recursive: true });
    const f = await loadModelFolder(unetDir, unetOnly);
    expect([f.tokenizer, f.textEncoder, f.vaeDecoder]).toEqual([null, null, null]);
    await f.release();
  });

  it('fails with the model path when the external data file is missing', async () => {
    const dir = await tmp.sdTiny({ externalData: 'weights.pb' });
    await rm(join(dir, 'unet', 'weights.pb'));
    await expect(loadModelFolder(dir, unetOnly)).rejects.toThrow(/could not load ONNX model .*unet.model\.onnx/);
  });

  it('rejects a v-prediction scheduler config', async () => {
    const dir = await tmp.sdTiny();
    await writeFile(
      join(dir, 'scheduler/scheduler_config.json'),
      JSON.stringify({ ...SD15_SCHEDULER_CONFIG, prediction_type: 'v_prediction' }),
    );
    await expect(loadModelFolder(dir, unetOnly)).rejects.toThrow(
      /scheduler_config\.json: prediction_type "v_prediction" is not supported/,
    );
  });

  it('lists what the graph has when the input names are not the standard ones', async () => {
    const dir = await tmp.sdTiny({ unetInputNames: { sample: 'x', encoder_hidden_states: 'context' } });
    await expect(loadModelFolder(dir, unetOnly)).rejects.toThrow(
      'unet/model.onnx has inputs x float32 [batch, 4, 8, 8], timestep float32 [], context float32 [batch, sequence, 32]; ' +
        'without an amdm.json the UNet inputs must be the standard sample, timestep, encoder_hidden_states (missing: sample, encoder_hidden_states) ' +
        '(unknown: x, context). Add an amdm.json that maps each input name to a role.',
    );
    // With a manifest mapping the names, it loads.
    await writeFile(
      join(dir, 'amdm.json'),
      JSON.stringify({ unet: { inputs: { x: 'latent', timestep: 'timestep', context: 'text' } } }),
    );
    const f = await loadModelFolder(dir, unetOnly);
    expect(f.unet.latent.name).toBe('x');
    expect(f.unet.text.name).toBe('context');
    await f.release();
  });

  it('reports manifest names the graph lacks, and graph inputs the manifest does not map', async () => {
    const dir = await tmp.sdTiny({ boxes: true });
    const f = await loadModelFolder(dir, unetOnly);
    expect(f.unet.roles.get('boxes')!.name).toBe('boxes');
    expect(f.unet.roles.get('scale')!.name).toBe('box_scale');
    await f.release();
    await writeFile(
      join(dir, 'amdm.json'),
      JSON.stringify({
        unet: {
          inputs: {
            sample: 'latent',
            timestep: 'timestep',
            encoder_hidden_states: 'text',
            boxes: 'boxes',
            scale: 'scale',
          },
        },
      }),
    );
    await expect(loadModelFolder(dir, unetOnly)).rejects.toThrow(
      "amdm.json maps input 'scale' (role scale) but unet/model.onnx has no such input; it has: sample float32 [batch, 4, 8, 8], timestep float32 [], encoder_hidden_states float32 [batch, sequence, 32], boxes float32 [batch, 4, 4], box_scale float32 []",
    );
    await writeFile(
      join(dir, 'amdm.json'),
      JSON.stringify({
        unet: { inputs: { sample: 'latent', timestep: 'timestep', encoder_hidden_states: 'text', boxes: 'boxes' } },
      }),
    );
    await expect(loadModelFolder(dir, unetOnly)).rejects.toThrow(
      'unet/model.onnx has inputs without a role in amdm.json: box_scale',
    );
    await writeFile(join(dir, 'amdm.json'), '{ "unet": ');
    await expect(loadModelFolder(dir, unetOnly)).rejects.toThrow(/amdm\.json is not valid JSON/);
  });

  it('opens extra graphs named in the manifest', async () => {
    const dir = await tmp.sdTiny();
    const unetBytes = await readFile(join(dir, 'unet/model.onnx'));
    await writeFile(join(dir, 'unet/second.onnx'), unetBytes);
    const std = { sample: 'latent', timestep: 'timestep', encoder_hidden_states: 'text' };
    await writeFile(
      join(dir, 'amdm.json'),
      JSON.stringify({ unet: { inputs: std }, graphs: { late: { file: 'unet/second.onnx', inputs: std } } }),
    );
    const f = await loadModelFolder(dir, unetOnly);
    const g = await f.openGraph('late');
    expect(g.file).toBe('unet/second.onnx');
    await expect(f.openGraph('early')).rejects.toThrow("amdm.json has no graph named 'early'; graphs: late");
    await f.release();
  });

  it('rejects a UNet whose latent has the wrong dtype, and ids of the wrong dtype', async () => {
    const dir = await tmp.sdTiny();
    const g = graphBuilder('bad_unet');
    g.input('sample', 'int32', ['batch', 4, 8, 8]);
    g.input('timestep', 'float32', []);
    g.input('encoder_hidden_states', 'float32', ['batch', 77, 32]);
    const xs = g.op('Cast', ['sample'], { to: attr.i(1) });
    const y = g.op(
      'Add',
      [g.op('Add', [xs, 'timestep']), g.op('ReduceMean', ['encoder_hidden_states'], { keepdims: attr.i(0) })],
      undefined,
      'out_sample',
    );
    g.output(y, 'float32', ['batch', 4, 8, 8]);
    await writeFile(join(dir, 'unet/model.onnx'), g.encode().model);
    await expect(loadModelFolder(dir, unetOnly)).rejects.toThrow(
      "unet/model.onnx: latent input 'sample' is int32 [batch, 4, 8, 8]; expected float32 or float16",
    );

    const dir2 = await tmp.sdTiny();
    const te = graphBuilder('bad_te');
    te.input('input_ids', 'float32', ['batch', 'sequence']);
    const h = te.op(
      'Tile',
      [te.op('Unsqueeze', ['input_ids', te.i64([1], [2])]), te.i64([3], [1, 1, 32])],
      undefined,
      'last_hidden_state',
    );
    te.output(h, 'float32', ['batch', 'sequence', 32]);
    await writeFile(join(dir2, 'text_encoder/model.onnx'), te.encode().model);
    await expect(loadModelFolder(dir2)).rejects.toThrow(
      "text_encoder/model.onnx: input 'input_ids' is float32 [batch, sequence]; expected int32 or int64",
    );
  });

  it('rejects a text encoder whose width differs from the UNet text width', async () => {
    const dir = await tmp.sdTiny();
    const te = graphBuilder('wide_te');
    te.input('input_ids', 'int64', ['batch', 'sequence']);
    const f = te.op('Cast', [te.op('Unsqueeze', ['input_ids', te.i64([1], [2])])], { to: attr.i(1) });
    const h = te.op('Tile', [f, te.i64([3], [1, 1, 16])], undefined, 'last_hidden_state');
    te.output(h, 'float32', ['batch', 'sequence', 16]);
    await writeFile(join(dir, 'text_encoder/model.onnx'), te.encode().model);
    await expect(loadModelFolder(dir)).rejects.toThrow(
      'text_encoder/model.onnx produces last_hidden_state of width 16 but unet/model.onnx expects encoder_hidden_states of width 32',
    );
  });

  it('validates its options', async () => {
    await expect(loadModelFolder('')).rejects.toThrow('dir must be a non-empty folder path, got ""');
    const dir = await tmp.sdTiny();
    await expect(loadModelFolder(dir, { components: ['vae_encoder' as never] })).rejects.toThrow(
      "components must hold only 'text_encoder', 'unet', 'vae_decoder', got \"vae_encoder\"",
    );
    await expect(loadModelFolder(dir, { device: 'gpu' as never })).rejects.toThrow(
      "device must be one of 'cpu', 'cuda', 'auto', got \"gpu\"",
    );
  });
});
