/** The Markdown report of bench/core-step.ts: machine and command, kernels, the sampler's step, the heap. */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { BackendName } from '../../src/core/backend.ts';
import { markdownTable } from '../../src/jobs/table.ts';
import { DIM, ETA, SHAPE, WEIGHT, type Options } from './options.ts';
import { COPY, KERNEL_BYTES, type KernelRow } from './kernels.ts';
import type { StepRow } from './sampler.ts';
import type { TorchResult } from './torch.ts';
import type { AllocRow, HeapRow } from './heap.ts';

/** What the measurements produced (medians over the rounds) and what they took. */
export interface BenchResults {
  o: Options;
  command: string;
  loadStart: string;
  kernels: KernelRow[];
  steps: StepRow[];
  torch: TorchResult | null;
  /** Why there is no PyTorch result. */
  torchWhy: string;
  heap: { rows: HeapRow[] | null; calls: AllocRow[] | null; why: string; command: string };
  /** Seconds of wall time per part, and of the whole run. */
  seconds: { kernels: number; sampler: number; torch: number; heap: number; total: number };
}

type TorchRow = TorchResult['results'][number];

/** Lookups and derived numbers the tables share. */
interface Context {
  fast: BackendName;
  threadsAll: number;
  tk(kernel: string, B: number, threads: number): TorchRow | undefined;
  ts(rule: string, N: number, B: number, threads: number): TorchRow | undefined;
  kr(kernel: string, B: number, backend: BackendName): KernelRow | undefined;
  sr(rule: string, N: number, B: number, backend: BackendName): StepRow | undefined;
  copyGBs(B: number): number;
  ofBound(bytes: number | undefined, ns: number, B: number): string;
  speedup(torchNs: number | undefined, ns: number | undefined): string;
}

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) return m[1].trim();
  } catch {
    /* not Linux */
  }
  return os.cpus()[0]?.model ?? 'unknown';
}

export const loadAverage = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' / ');

const f = (x: number, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : '—');

function context(r: BenchResults): Context {
  const { o, kernels, steps, torch: tr } = r;
  const fast: BackendName = o.backends.includes('wasm') ? 'wasm' : o.backends[0];
  const kr = (kernel: string, B: number, backend: BackendName) =>
    kernels.find((k) => k.kernel === kernel && k.B === B && k.backend === backend);
  /** GB/s of the copy (8 bytes per element) at batch B, on the fast backend's buffers. */
  const copyGBs = (B: number) => {
    const c = kr(COPY, B, fast);
    return c ? KERNEL_BYTES.copy / c.cpu : NaN;
  };
  return {
    fast,
    threadsAll: tr ? Math.max(...tr.threads) : os.cpus().length,
    tk: (kernel, B, threads) =>
      tr?.results.find((t) => t.kind === 'kernel' && t.kernel === kernel && t.B === B && t.threads === threads),
    ts: (rule, N, B, threads) =>
      tr?.results.find((t) => t.kind === 'step' && t.rule === rule && t.N === N && t.B === B && t.threads === threads),
    kr,
    sr: (rule, N, B, backend) => steps.find((s) => s.rule === rule && s.N === N && s.B === B && s.backend === backend),
    copyGBs,
    /** Share of the copy bound reached by a time of `ns` per element moving `bytes` per element. */
    ofBound: (bytes, ns, B) => (bytes === undefined ? '—' : `${f((100 * bytes) / copyGBs(B) / ns, 0)} %`),
    speedup: (torchNs, ns) => (torchNs === undefined || ns === undefined ? '—' : `${f(torchNs / ns)}×`),
  };
}

function machineSection(r: BenchResults, c: Context): string[] {
  const { o, torch: tr } = r;
  return [
    '## Machine and command',
    '',
    `- command: \`${r.command}\``,
    `- CPU: ${cpuModel()}, ${os.cpus().length} cores (os.cpus); load average at start ${r.loadStart}, at end ${loadAverage()}`,
    `- Node ${process.version} (V8 ${process.versions.v8}), ${os.type()} ${os.release()} ${os.arch()}`,
    `- PyTorch: ${tr ? `${tr.torch} via ${o.python}, threads ${tr.threads.join(' and ')}` : r.torchWhy}`,
    `- latent ${SHAPE.join('×')} (d = ${DIM}), w = ${WEIGHT}, η = ${ETA}·√d, η_ddim = 0; ${o.steps} steps with s = ${o.steps}; ${o.rounds} interleaved rounds (${[...o.backends, 'torch'].join(', ')}), each the median of ${o.reps} after ${o.warmup} warm-up; the median over the rounds`,
    '- "cpu": the process\'s CPU time (all its threads), which other work on the machine disturbs less; "wall": the wall clock. The kernels are single-threaded, so the 1-thread comparison uses CPU time and the all-cores one wall time.',
    `- roofline: copy bandwidth (Float32Array.set of B·d values in the ${c.fast} backend's memory, 8 B per element) ${o.batches.map((B) => `${f(c.copyGBs(B), 1)} GB/s at B = ${B}`).join(', ')}; "bound" = the share of that bandwidth a kernel reaches for the bytes it must move`,
    '',
  ];
}

function kernelSection(r: BenchResults, c: Context): string[] {
  const { o } = r;
  const jsOn = o.backends.includes('js'),
    wasmOn = o.backends.includes('wasm');
  const torchKernel = (k: string) => (k === 'ddimStepInto' ? 'ddim' : k);
  return [
    '## Kernels: ns per element of one call (element = one value of the B·d output)',
    '',
    markdownTable(
      [
        'kernel',
        'B',
        'bytes/el',
        'js cpu',
        'wasm cpu',
        'torch 1 thr cpu',
        'wasm speed-up vs torch 1',
        'wasm bound',
        'wasm wall',
        `torch ${c.threadsAll} thr wall`,
        `speed-up vs torch ${c.threadsAll}`,
      ],
      r.kernels
        .filter((k) => k.backend === c.fast)
        .map((k) => {
          const t1 = c.tk(torchKernel(k.kernel), k.B, 1),
            tn = c.tk(torchKernel(k.kernel), k.B, c.threadsAll);
          const j = jsOn ? c.kr(k.kernel, k.B, 'js') : undefined,
            w = wasmOn ? c.kr(k.kernel, k.B, 'wasm') : undefined;
          const bytes = KERNEL_BYTES[k.kernel];
          return [
            k.kernel,
            String(k.B),
            bytes === undefined ? '—' : String(bytes),
            f(j?.cpu ?? NaN),
            f(w?.cpu ?? NaN),
            f(t1?.cpu ?? NaN),
            c.speedup(t1?.cpu, w?.cpu),
            w ? c.ofBound(bytes, w.cpu, k.B) : '—',
            f(w?.wall ?? NaN),
            f(tn?.wall ?? NaN),
            c.speedup(tn?.wall, w?.wall),
          ];
        }),
    ),
    '',
  ];
}

function stepSection(r: BenchResults, c: Context): string[] {
  const { o } = r;
  const jsOn = o.backends.includes('js');
  const stepBytes = (rule: string, N: number) =>
    KERNEL_BYTES[rule] === undefined ? undefined : 8 + 4 + 16 + 20 + ((N - 1) * KERNEL_BYTES[rule] + 8 + 4) / N;
  const lines = [
    '## One aggregated AMDM step: ns per element (one latent value of one model per step)',
    '',
    "`sampleAMDM` with zero-cost denoisers, CPU time, on each backend, with the wasm split: N·ddimStepInto and N·deviate (kernel table), the rule (timed inside the sampler), other = the rest (staging each ε into the backend's memory, the non-finite scans of ε and x′, the copy of the target's proposal). µs/step = cpu × N·B·d. bytes/el = what a step must move per element on wasm: ε staged (8) and scanned (4), DDIM (16), eq. 9 (20), and per model 1/N of the rule's passes over N − 1 pairs, the copy (8) and scan (4) of x′.",
    '',
    markdownTable(
      [
        'rule',
        'N',
        'B',
        'bytes/el',
        'js cpu',
        'wasm cpu',
        'wasm µs/step',
        'ddim',
        'rule',
        'deviate',
        'other',
        'torch 1 thr cpu',
        'wasm speed-up vs torch 1',
        'js speed-up vs torch 1',
        'wasm bound',
        'wasm wall',
        `torch ${c.threadsAll} thr wall`,
        `speed-up vs torch ${c.threadsAll}`,
      ],
      r.steps
        .filter((s) => s.backend === c.fast)
        .map((s) => {
          const t1 = c.ts(s.rule, s.N, s.B, 1),
            tn = c.ts(s.rule, s.N, s.B, c.threadsAll);
          const j = jsOn ? c.sr(s.rule, s.N, s.B, 'js') : undefined;
          const bytes = stepBytes(s.rule, s.N);
          const us = (s.cpu * s.N * s.B * DIM) / 1000;
          return [
            s.rule,
            String(s.N),
            String(s.B),
            bytes === undefined ? '—' : f(bytes, 0),
            f(j?.cpu ?? NaN),
            f(s.cpu),
            f(us, 0),
            f(s.ddim),
            f(s.ruleShare),
            f(s.deviate),
            f(s.other),
            f(t1?.cpu ?? NaN),
            c.speedup(t1?.cpu, s.cpu),
            c.speedup(t1?.cpu, j?.cpu),
            c.ofBound(bytes, s.cpu, s.B),
            f(s.wall),
            f(tn?.wall ?? NaN),
            c.speedup(tn?.wall, s.wall),
          ];
        }),
    ),
  ];
  if (r.torch && o.rules.includes('sphericalMean'))
    lines.push(
      '',
      'sphericalMean has no PyTorch counterpart here (an iterative Karcher mean; its cost depends on the inputs).',
    );
  lines.push('');
  return lines;
}

function heapSection(r: BenchResults): string[] {
  const { o, heap } = r;
  const lines = ['## Heap growth of the sampler loop per step (B = 1)', ''];
  if (!heap.rows) return [...lines, `Heap measurement ${heap.why}`];
  lines.push(
    `\`${heap.command}\`: heapUsed and arrayBuffers read at the target's model call of steps 10 and ${o.heapSteps - 10} of ${o.heapSteps} (all aggregated); 1 warm-up run, then 3 runs each after a full GC, median; "GCs" counts collections inside the 3 windows (0: nothing was reclaimed, so the delta is all that was allocated).`,
    '',
  );
  lines.push(
    markdownTable(
      ['rule', 'N', 'steps', 'heap B/step', 'arrayBuffers B/step', 'one latent (B)', 'heap / latent', 'GCs'],
      heap.rows.map((h) => [
        h.rule,
        String(h.N),
        String(h.window),
        f(h.heapPerStep, 1),
        f(h.arrayBuffersPerStep, 1),
        String(h.latentBytes),
        f(h.heapPerStep / h.latentBytes, 5),
        String(h.gcs),
      ]),
    ),
  );
  if (heap.calls) {
    lines.push(
      '',
      'Heap bytes per call of each piece on its own (B = 1; 5 windows after a full GC each, median of the last 3; the first windows include JIT code):',
      '',
    );
    lines.push(
      markdownTable(
        ['call', 'B/call', 'windows'],
        heap.calls.map((a) => [a.what, f(a.bytesPerCall, 1), a.windows]),
      ),
    );
  }
  return lines;
}

export function report(r: BenchResults): string {
  const c = context(r);
  const t = r.seconds;
  return [
    ...machineSection(r, c),
    ...kernelSection(r, c),
    ...stepSection(r, c),
    ...heapSection(r),
    '',
    `Bench time ${f(t.total, 1)} s (wall): kernels ${f(t.kernels, 1)}, sampler ${f(t.sampler, 1)}, PyTorch ${f(t.torch, 1)}, heap ${f(t.heap, 1)}.`,
  ].join('\n');
}
