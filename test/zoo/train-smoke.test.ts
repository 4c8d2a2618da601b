/**
 * Training smoke test of the mini-zoo (train/): on a random-valued MiniMIG file, a few steps of
 * every stage at tiny sizes, the export, the onnxruntime-vs-torch check, and the way back
 * (train/from_onnx.py) to a fine-tune. Runs in the project's Python environment (.venv, `npm run
 * setup:python`), else /usr/bin/python3 if it has torch and onnx; skipped with a printed reason when
 * neither has them, except under CI (which creates .venv), where it fails.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inCI, projectRoot } from '../helpers/data.ts';

const VENV_PY = join(projectRoot, '.venv', 'bin', 'python');
const PY = existsSync(VENV_PY) ? VENV_PY : '/usr/bin/python3';
const probe = spawnSync(PY, ['-c', 'import torch, onnx'], { encoding: 'utf8' });
const hasTorch = probe.status === 0;
const missing = `${PY} cannot import torch and onnx: ${(probe.stderr || String(probe.error)).trim().split('\n').pop()}`;
if (!hasTorch && inCI()) throw new Error(`train-smoke: ${missing} (run npm run setup:python)`);
if (!hasTorch) console.log(`train-smoke: skipped (${missing})`);

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
      // the exported folders back to checkpoints (each compared with onnxruntime inside), the VAE
      // encoder refit to the exported decoder, and an InteractDiffusion-mini fine-tune from them
      // (with the fusers' feed-forward, which the folder it started from lacks)
      const back = join(root, 'from-onnx');
      const rebuilt = run(PY, ['train/from_onnx.py', '--zoo', join(root, 'zoo'), '--out', back]);
      expect(rebuilt.match(/rebuilt vs onnxruntime/g)?.length).toBe(5);
      run(PY, [
        'train/train.py',
        'vae',
        '--out',
        join(back, 'vae-enc'),
        '--init',
        join(back, 'vae'),
        '--freeze-decoder',
        ...common,
      ]);
      run(PY, [
        'train/train.py',
        'interact',
        '--out',
        join(back, 'interact-ft'),
        '--vae',
        join(back, 'vae-enc'),
        '--base',
        join(back, 'base'),
        '--init',
        join(back, 'interact'),
        '--caption',
        'caption',
        '--phrases',
        'phrase',
        '--subject-weight',
        '2',
        '--relations-only',
        '--fuser-ff',
        ...common,
      ]);
      expect(readFileSync(join(back, 'interact-ft', 'log.csv'), 'utf8')).toMatch(/^step,loss,seconds\n1,/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }, 900_000);

  it("MIGC-mini's box-relative cell features: 0 at the box centre, mirrored across it, finite for padding", () => {
    // An 8x8 grid and the box [0.25, 0.75]^2: cells 2..5 lie inside, centred on the box's centre
    // line, so cell j and cell 7 - j have opposite relative coordinates (sin flips, cos stays).
    const script = [
      'import json, sys, torch',
      "sys.path.insert(0, 'train')",
      'import zoo_models as zm',
      'b = torch.tensor([[[0.25, 0.25, 0.75, 0.75], [0.0, 0.0, 0.0, 0.0]]])',
      'f = zm.box_relative_features(b, 8, 8, 3).reshape(1, 2, 8, 8, 2, 2, 3)  # [B,K,H,W,(v,u),(sin,cos),F]',
      'sin_u, cos_u, sin_v = f[0, 0, ..., 1, 0, :], f[0, 0, ..., 1, 1, :], f[0, 0, ..., 0, 0, :]',
      'mirror = (sin_u + sin_u.flip(1)).abs().max() + (cos_u - cos_u.flip(1)).abs().max() + (sin_v + sin_v.flip(0)).abs().max()',
      'u = torch.asin(sin_u[0, :, 0]) * 2 / torch.pi',
      'print(json.dumps({"mirror": float(mirror), "u": [round(float(x), 6) for x in u[2:6]], "finite": bool(torch.isfinite(f).all())}))',
    ].join('\n');
    const r = JSON.parse(run(PY, ['-c', script]));
    expect(r.mirror).toBeLessThan(1e-6);
    // u = (2x - x0 - x1) / (x1 - x0) at the cell centres x = 0.3125 … 0.6875
    expect(r.u).toEqual([-0.75, -0.25, 0.25, 0.75]);
    expect(r.finite).toBe(true);
  }, 60_000);
});
