/** 3. The same math in PyTorch (bench/torch_step.py), when the interpreter imports torch. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { ETA, SHAPE, TORCH_RULES, WEIGHT, type Options } from './options.ts';

export interface TorchResult {
  torch: string;
  threads: number[];
  results: (
    | { kind: 'kernel'; kernel: string; threads: number; B: number; wall: number; cpu: number }
    | { kind: 'step'; rule: string; N: number; threads: number; B: number; wall: number; cpu: number }
  )[];
}

export function runTorch(o: Options): { result: TorchResult | null; why: string } {
  if (!o.torch) return { result: null, why: 'skipped (--no-torch)' };
  if (!existsSync(o.python))
    return { result: null, why: `skipped: ${o.python} not found (Debian: apt-get install -y python3-torch)` };
  const probe = spawnSync(o.python, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    const msg = (probe.stderr || probe.error?.message || '').trim().split('\n').pop();
    return {
      result: null,
      why: `skipped: ${o.python} cannot import torch (${msg}); Debian: apt-get install -y python3-torch`,
    };
  }
  const script = fileURLToPath(new URL('../torch_step.py', import.meta.url));
  const rules = o.rules.filter((r) => TORCH_RULES.includes(r));
  const args = [
    script,
    '--shape',
    SHAPE.join(','),
    '--models',
    o.models.join(','),
    '--batches',
    o.batches.join(','),
    '--rules',
    rules.join(','),
    '--steps',
    String(o.steps),
    '--reps',
    String(o.reps),
    '--warmup',
    String(Math.min(1, o.warmup)),
    '--threads',
    `1,${os.cpus().length}`,
    '--eta',
    String(ETA),
    '--weight',
    String(WEIGHT),
    '--kernel-ms',
    String(o.kernelMs),
  ];
  const run = spawnSync(o.python, args, { encoding: 'utf8', maxBuffer: 16 << 20 });
  if (run.status !== 0)
    return {
      result: null,
      why: `failed: ${o.python} ${args.join(' ')} exited ${run.status}: ${run.stderr.trim().split('\n').pop()}`,
    };
  return { result: JSON.parse(run.stdout) as TorchResult, why: '' };
}
