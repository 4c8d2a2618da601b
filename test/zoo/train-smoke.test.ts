/**
 * Training smoke test of the mini-zoo (train/): on a random-valued MiniMIG file, a few steps of
 * every stage at tiny sizes, the export, and the onnxruntime-vs-torch check. Needs
 * /usr/bin/python3 with torch and onnx; skipped with a printed reason when they are missing.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../helpers/data.ts';

const PY = '/usr/bin/python3';
const probe = spawnSync(PY, ['-c', 'import torch, onnx'], { encoding: 'utf8' });
const hasTorch = probe.status === 0;
if (!hasTorch)
  console.log(
    `train-smoke: skipped (${PY} cannot import torch and onnx: ${(probe.stderr || String(probe.error)).trim().split('\n').pop()})`,
  );

const run = (file: string, args: string[]) =>
  execFileSync(file, args, {
    cwd: projectRoot,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, OMP_NUM_THREADS: '1' },
  });

describe.skipIf(!hasTorch)('mini-zoo training smoke', () => {
  it('trains every stage for 2 steps, exports folders whose ONNX graphs match torch', () => {
    const root = mkdtempSync(join(tmpdir(), 'amdm-zoo-smoke-'));
    try {
      const data = join(root, 'random.bin');
      const runs = join(root, 'runs');
      run(PY, ['train/minimig.py', '--random', data, '--count', '64']);
      const common = ['--data', data, '--smoke', '--steps', '2', '--batch', '4', '--log-every', '1'];
      run(PY, ['train/train.py', 'vae', '--out', join(runs, 'vae'), ...common]);
      run(PY, ['train/train.py', 'base', '--out', join(runs, 'base'), '--vae', join(runs, 'vae'), ...common]);
      for (const stage of ['interact', 'migc', 'ipadapter']) {
        run(PY, [
          'train/train.py',
          stage,
          '--out',
          join(runs, stage),
          '--vae',
          join(runs, 'vae'),
          '--base',
          join(runs, 'base'),
          ...common,
        ]);
      }
      const log = readFileSync(join(runs, 'base', 'log.csv'), 'utf8')
        .trim()
        .split('\n');
      expect(log[0]).toBe('step,loss,seconds');
      expect(
        log
          .slice(1)
          .map((l) => Number(l.split(',')[1]))
          .every((v) => Number.isFinite(v) && v > 0),
      ).toBe(true);
      const check = join(root, 'check');
      run(PY, [
        'train/export.py',
        '--runs',
        runs,
        '--out',
        join(root, 'zoo'),
        '--tokenizer',
        'models/mini-zoo/tokenizer',
        '--data',
        data,
        '--check-dir',
        check,
      ]);
      const out = run('npx', ['tsx', 'train/check-onnx.ts', check]);
      expect(out).toContain('all checks passed');
      // 4 folders: text encoder, VAE, UNet each (+ migc plain, + ip encoder and projection)
      expect(out.match(/^ok {3}\S+\/unet out_sample/gm)?.length).toBe(4);
      expect(out).toMatch(/ok {3}builders guidance_mask/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }, 900_000);
});
