/**
 * `amdm experiment <name>`: the Shapes-world experiments (EXPERIMENTS.md). Each writes
 * results.json, results.csv, table.md and chart.svg into its output folder; EXPERIMENTS.md
 * records the full runs with their commands, whose output is committed in experiments/out/<name>.
 * `--quick` is the small smoke version CI runs: it writes to amdm-out/experiments/<name> and
 * refuses to replace a full run's folder, so following the README never changes the recorded
 * numbers.
 */
import path from 'node:path';
import * as Plot from '@observablehq/plot';
import { compareOnShapes, type ShapesMethod, type ShapesMethodResult } from '../toy/shapes/compare.ts';
import { makePromptSet } from '../toy/shapes/prompts.ts';
import { summarize, type ImageEvaluation } from '../toy/shapes/evaluate.ts';
import { makeWorld } from '../toy/shapes/world.ts';
import { renderPrompt } from '../toy/shapes/render.ts';
import type { RuleName } from '../core/rules.ts';
import type { StepTrace } from '../core/sampler.ts';
import { plotToSVG } from '../image/plot.ts';
import { jsonText, writeFileAtomic } from './files.ts';
import { prepareOutputFolder, type OutputFolder } from './output-folder.ts';
import { progressBar } from './progress.ts';
import { csvOfRecords, markdownTable, pm } from '../jobs/table.ts';

export const EXPERIMENT_NAMES = ['experts', 'eta', 'rules', 'sphere', 'weights'] as const;
export type ExperimentName = (typeof EXPERIMENT_NAMES)[number];

export interface ExperimentOptions {
  quick?: boolean;
  /** Output folder (default experiments/out/<name>; quick: amdm-out/experiments/<name>). */
  out?: string;
  seed?: number;
  /** Prompts and samples per prompt (defaults: 36 × 4 full, 3 × 2 quick). */
  prompts?: number;
  samples?: number;
  progress?: boolean;
  log?: (line: string) => void;
}

export interface ExperimentRow {
  [key: string]: string | number | null;
}

interface Plan {
  methods: ShapesMethod[];
  steps: number;
  /** Columns describing each method, in table order. */
  describe: (m: ShapesMethod) => Record<string, string | number>;
  chart?: (rows: ExperimentRow[]) => Plot.PlotOptions;
  traces?: boolean;
}

const RULES: RuleName[] = ['slerp', 'lerp', 'nlerp', 'vp'];

function plan(name: ExperimentName, quick: boolean): Plan {
  const T = quick ? 10 : 50;
  const s = quick ? 4 : 20;
  const amdm = (name: string, experts: ShapesMethod['experts'], extra: Partial<ShapesMethod> = {}): ShapesMethod => ({ name, experts, aggregateSteps: s, ...extra });
  switch (name) {
    case 'experts':
      return {
        steps: T,
        methods: [
          { name: 'oracle', experts: ['oracle'] },
          { name: 'layout', experts: ['layout'] },
          { name: 'attribute', experts: ['attribute'] },
          { name: 'style', experts: ['style'] },
          amdm('AMDM layout←attribute', ['layout', 'attribute']),
          amdm('AMDM layout←attribute+style', ['layout', 'attribute', 'style']),
          amdm('AMDM attribute←layout', ['attribute', 'layout']),
          amdm('AMDM attribute←layout+style', ['attribute', 'layout', 'style']),
        ],
        describe: (m) => ({ method: m.name }),
      };
    case 'eta': {
      const etas = quick ? [0, 0.3] : [0, 0.1, 0.2, 0.3, 0.4, 0.5];
      const abs = quick ? [] : [0.3, 3];
      const clipped = quick ? [0.3] : [0.1, 0.3, 0.5];
      return {
        steps: T,
        methods: [
          { name: 'layout alone', experts: ['layout'] },
          ...etas.map((e) => amdm(`η=${e} (×√d)`, ['layout', 'attribute'], { eta: e, etaScale: 'sqrtDim' })),
          ...abs.map((e) => amdm(`η=${e} (absolute)`, ['layout', 'attribute'], { eta: e, etaScale: 'absolute' })),
          ...clipped.map((e) => amdm(`η=${e} (×√d, clipped at μ)`, ['layout', 'attribute'], { eta: e, etaScale: 'sqrtDim', clipDeviation: true })),
        ],
        describe: (m) => ({ method: m.name, eta: m.experts.length > 1 ? Number(m.eta) : '', scale: m.experts.length > 1 ? String(m.etaScale) + (m.clipDeviation ? ' clipped' : '') : '' }),
        chart: (rows) => ({
          title: 'AMDM layout←attribute: η of eq. 9 (√d-scaled)',
          x: { label: 'η' }, y: { label: 'instance success', domain: [0, 1] }, color: { legend: true }, grid: true,
          marks: [
            Plot.ruleY(rows.filter((r) => r.method === 'layout alone'), { y: 'instanceSuccess', stroke: '#999', strokeDasharray: '4,3' }),
            Plot.ruleX(rows.filter((r) => r.scale === 'sqrtDim'), { x: 'eta', y1: (d: ExperimentRow) => Number(d.instanceSuccess) - 2 * Number(d.instanceSuccessSE), y2: (d: ExperimentRow) => Number(d.instanceSuccess) + 2 * Number(d.instanceSuccessSE) }),
            Plot.line(rows.filter((r) => r.scale === 'sqrtDim'), { x: 'eta', y: 'instanceSuccess', marker: 'circle', stroke: () => 'eq. 9' }),
            Plot.line(rows.filter((r) => r.scale === 'sqrtDim clipped'), { x: 'eta', y: 'instanceSuccess', marker: 'circle-stroke', stroke: () => 'eq. 9 clipped at μ' }),
            Plot.text(rows.filter((r) => r.scale === 'sqrtDim' || r.scale === 'sqrtDim clipped'), Plot.selectLast({ x: 'eta', y: 'instanceSuccess', z: 'scale', text: (d: ExperimentRow) => (d.scale === 'sqrtDim' ? 'eq. 9' : 'clipped at μ'), dx: 6, textAnchor: 'start' })),
            Plot.text(rows.filter((r) => r.method === 'layout alone'), { x: 0, y: 'instanceSuccess', text: () => 'layout alone', dy: -8, textAnchor: 'start', fill: '#777' }),
          ],
          marginRight: 90,
        }),
      };
    }
    case 'rules': {
      const ss = quick ? [2, 6] : [5, 10, 20, 30, 40];
      return {
        steps: T,
        methods: [
          { name: 'layout alone', experts: ['layout'] },
          // η = 0 isolates the merge rule: with the paper's η = 0.3·√d aggregation has no
          // measurable effect in this world (see the eta experiment), so rules cannot differ
          ...RULES.flatMap((rule) => ss.map((k) => amdm(`${rule} s=${k}`, ['layout', 'attribute'], { rule, aggregateSteps: k, eta: 0 }))),
        ],
        describe: (m) => ({ method: m.name, rule: m.experts.length > 1 ? String(m.rule) : '', s: m.experts.length > 1 ? Number(m.aggregateSteps) : 0 }),
        chart: (rows) => ({
          title: 'AMDM layout←attribute, η = 0: rule vs aggregation steps s (Figure 5a analog)',
          x: { label: 's (aggregation steps)' }, y: { label: 'instance success', domain: [0, 1] }, color: { legend: true }, grid: true,
          marks: [
            Plot.ruleY(rows.filter((r) => r.rule === ''), { y: 'instanceSuccess', stroke: '#999', strokeDasharray: '4,3' }),
            Plot.line(rows.filter((r) => r.rule !== ''), { x: 's', y: 'instanceSuccess', stroke: 'rule', marker: 'circle' }),
            Plot.text(rows.filter((r) => r.rule !== '' && r.rule !== 'nlerp'), Plot.selectLast({ x: 's', y: 'instanceSuccess', z: 'rule', text: 'rule', fill: 'rule', dx: 6, dy: -4, textAnchor: 'start' })),
            Plot.text(rows.filter((r) => r.rule === 'nlerp'), Plot.selectLast({ x: 's', y: 'instanceSuccess', text: 'rule', fill: 'rule', dx: 6, dy: 10, textAnchor: 'start' })),
            Plot.text(rows.filter((r) => r.rule === ''), { x: Math.min(...rows.filter((r) => r.rule !== '').map((r) => Number(r.s))), y: 'instanceSuccess', text: () => 'layout alone', dy: -8, textAnchor: 'start', fill: '#777' }),
          ],
          marginRight: 60,
        }),
      };
    }
    case 'sphere':
      return {
        steps: T,
        traces: true,
        methods: [
          { name: 'layout alone', experts: ['layout'] },
          ...RULES.map((rule) => amdm(rule, ['layout', 'attribute'], { rule })),
        ],
        describe: (m) => ({ method: m.name, rule: m.experts.length > 1 ? String(m.rule) : '' }),
      };
    case 'weights': {
      const ws = quick ? [0.2, 0.8] : [0, 0.1, 0.3, 0.5, 0.7, 0.9, 1];
      return {
        steps: T,
        methods: [
          { name: 'layout alone', experts: ['layout'] },
          { name: 'attribute alone', experts: ['attribute'] },
          ...ws.map((w) => amdm(`w=${w}`, ['layout', 'attribute'], { weights: w })),
        ],
        describe: (m) => ({ method: m.name, w: m.experts.length > 1 ? Number(m.weights) : '' }),
        chart: (rows) => ({
          title: 'AMDM layout←attribute: weight w of the attribute expert (eq. 8)',
          x: { label: 'w' }, y: { label: 'rate', domain: [0, 1] }, color: { legend: true }, grid: true,
          marks: [
            // colour right equals instance success and IoU ≥ 0.5 is 1 here (the target places exactly)
            Plot.line(rows.filter((r) => r.w !== ''), { x: 'w', y: 'instanceSuccess', stroke: () => 'instance success', marker: 'circle' }),
            Plot.line(rows.filter((r) => r.w !== ''), { x: 'w', y: 'cleanImages', stroke: () => 'clean images', marker: 'circle-stroke', strokeDasharray: '3,3' }),
            Plot.text(rows.filter((r) => r.w !== ''), Plot.selectLast({ x: 'w', y: 'instanceSuccess', text: () => 'instance success', dx: 6, textAnchor: 'start' })),
            Plot.text(rows.filter((r) => r.w !== ''), Plot.selectLast({ x: 'w', y: 'cleanImages', text: () => 'clean images', dx: 6, textAnchor: 'start' })),
          ],
          marginRight: 110,
        }),
      };
    }
  }
}

/**
 * The evaluator's rates over a set of images as flat columns with standard errors: instance,
 * image and style success, mIoU, colour right, IoU ≥ 0.5, clean images. Shared by every
 * Shapes-world experiment table.
 */
export function rateColumns(evaluations: readonly ImageEvaluation[]): ExperimentRow {
  const o = summarize(evaluations).overall;
  const inst = evaluations.flatMap((e) => e.instances);
  const n = inst.length;
  const color = inst.filter((i) => i.colorOk).length / n;
  const pos = inst.filter((i) => i.iou >= 0.5).length / n;
  return {
    instanceSuccess: o.instanceSuccess.value, instanceSuccessSE: o.instanceSuccess.se,
    mIoU: o.mIoU.value, mIoUSE: o.mIoU.se,
    imageSuccess: o.imageSuccess.value, imageSuccessSE: o.imageSuccess.se,
    styleSuccess: o.styleSuccess?.value ?? null, styleSuccessSE: o.styleSuccess?.se ?? null,
    colorAccuracy: color, colorAccuracySE: Math.sqrt((color * (1 - color)) / n),
    positionAccuracy: pos, positionAccuracySE: Math.sqrt((pos * (1 - pos)) / n),
    cleanImages: o.cleanImages.value, cleanImagesSE: o.cleanImages.se,
    instances: n, images: evaluations.length,
  };
}

/** The numbers of one method as a flat row (rates with standard errors, model calls). */
function rowOf(m: ShapesMethodResult): ExperimentRow {
  return { ...rateColumns(m.evaluations), calls: m.calls };
}

/** The default output folder: the recorded full runs, or the smoke runs' scratch folder. */
export function experimentFolder(name: string, quick: boolean): string {
  return quick ? path.join('amdm-out', 'experiments', name) : path.join('experiments', 'out', name);
}

/** The files an experiment's folder holds (the map writes its own list). */
const EXPERIMENT_FILES = ['results.json', 'results.csv', 'table.md', 'chart.svg', 'sphere.csv'] as const;

/**
 * Checks (before any sampling) and prepares an experiment's output folder; quick runs are smoke
 * runs. `files`: the names the experiment writes (an earlier version's folder holding only those
 * may be replaced).
 */
export function prepareExperimentOutput(name: string, quick: boolean, out: string | undefined, files: readonly string[] = EXPERIMENT_FILES): Promise<OutputFolder> {
  return prepareOutputFolder(out ?? experimentFolder(name, quick), {
    command: `experiment ${name}`,
    smoke: quick,
    param: out === undefined ? 'output folder' : '--out',
    writes: new RegExp(`^(${files.map((f) => f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})$`),
  });
}

export async function runExperiment(name: ExperimentName, o: ExperimentOptions = {}): Promise<ExperimentRow[]> {
  const log = o.log ?? ((l: string) => console.log(l));
  const quick = o.quick ?? false;
  const p = plan(name, quick);
  const world = makeWorld();
  const seed = o.seed ?? 0;
  const prompts = makePromptSet(world, { seed: 1000 + seed, count: o.prompts ?? (quick ? 3 : 36), withStyle: true });
  const samples = o.samples ?? (quick ? 2 : 4);
  const output = await prepareExperimentOutput(name, quick, o.out);
  const bar = progressBar(prompts.length * p.methods.length, name, { enabled: o.progress });
  // sphere: per step and method, ‖x′‖/√d of the merged latent and ‖x‖/√d of the target's proposal
  const steps: Record<string, { mixed: number[][]; target: number[][] }> = {};
  const started = Date.now();
  const res = await compareOnShapes({
    world, prompts, methods: p.methods, samplesPerPrompt: samples, steps: p.steps, seed,
    onProgress: (q) => bar.update(q.done, q.method),
    onStep: p.traces
      ? (t: StepTrace, run) => {
        const rec = (steps[run.method] ??= { mixed: [], target: [] });
        const sq = Math.sqrt(world.dim);
        (rec.target[t.step] ??= []).push(...Array.from(t.proposalNorms[0], (v) => v / sq));
        if (t.mixedNorms) (rec.mixed[t.step] ??= []).push(...Array.from(t.mixedNorms, (v) => v / sq));
      }
      : undefined,
  });
  bar.stop();
  const rows = res.methods.map((m, i) => ({ ...p.describe(p.methods[i]), ...rowOf(m) }));
  const files = new Map<string, string>();
  files.set('results.csv', csvOfRecords(rows));
  const table = markdownTable(
    ['method', 'instance success', 'mIoU', 'image success', 'style success', 'colour right', 'IoU ≥ 0.5', 'clean images', 'calls'],
    res.methods.map((m, i) => {
      const r = rows[i];
      const e = (v: string) => ({ value: Number(r[v]), se: Number(r[`${v}SE`]) });
      return [m.name, pm(e('instanceSuccess')), pm(e('mIoU')), pm(e('imageSuccess')), r.styleSuccess === null ? '—' : pm(e('styleSuccess')), pm(e('colorAccuracy')), pm(e('positionAccuracy')), pm(e('cleanImages')), String(r.calls)];
    }),
  );
  let sphereRows: ExperimentRow[] = [];
  if (p.traces) {
    // the clean data's per-element RMS, for the sphere each x_t would sit on
    const data = prompts.map((q) => renderPrompt(world, q));
    const rms2 = data.reduce((s, img) => s + img.reduce((a, v) => a + v * v, 0) / world.dim, 0) / data.length + world.sigma0 ** 2;
    for (const [method, rec] of Object.entries(steps)) {
      rec.target.forEach((vals, step) => {
        const mixed = rec.mixed[step];
        sphereRows.push({ method, step, targetMean: mean(vals), targetSD: sd(vals), mixedMean: mixed ? mean(mixed) : null, mixedSD: mixed ? sd(mixed) : null });
      });
    }
    const { timesteps } = await import('../core/schedule.ts');
    const { makeSchedule } = await import('../core/schedule.ts');
    const sch = makeSchedule();
    const ts = timesteps(sch, p.steps);
    sphereRows = sphereRows.map((r) => {
      const i = Number(r.step);
      const tPrev = i + 1 < ts.length ? ts[i] - Math.floor(1000 / p.steps) : -1;
      const a = tPrev < 0 ? sch.finalAlphaCumprod : sch.alphasCumprod[tPrev];
      return { ...r, expected: Math.sqrt(a * rms2 + 1 - a) };
    });
    files.set('sphere.csv', csvOfRecords(sphereRows, ['method', 'step', 'targetMean', 'targetSD', 'mixedMean', 'mixedSD', 'expected']));
    const chart = sphereChart(sphereRows);
    files.set('chart.svg', plotToSVG(chart, { figure: 'svg' }));
  } else if (p.chart) {
    files.set('chart.svg', plotToSVG(p.chart(rows), { figure: 'svg' }));
  }
  const seconds = (Date.now() - started) / 1000;
  const command = `npm run experiment -- ${name}${quick ? ' --quick' : ''}${o.seed ? ` --seed ${seed}` : ''}`;
  const meta = { experiment: name, command, quick, seed, prompts: prompts.length, samplesPerPrompt: samples, steps: p.steps, seconds };
  files.set('results.json', jsonText({ ...meta, rows, sphere: sphereRows.length ? sphereRows : undefined }));
  files.set('table.md', `${table}\n`);
  await output.commit(files);
  log(`experiment '${name}': ${prompts.length} prompts × ${samples} samples, T = ${p.steps} (${seconds.toFixed(1)} s)`);
  log(table);
  if (sphereRows.length) {
    const last = (m: string) => sphereRows.filter((r) => r.method === m && r.mixedMean !== null).at(-1);
    log('\n‖x′‖/√d of the merged latent at the last aggregated step (mean ± sd over samples):');
    for (const rule of RULES) {
      const r = last(rule);
      if (r) log(`  ${rule.padEnd(6)} ${Number(r.mixedMean).toFixed(3)} ± ${Number(r.mixedSD).toFixed(3)}   (target alone: ${Number(sphereRows.find((q) => q.method === 'layout alone' && q.step === r.step)?.targetMean).toFixed(3)}, expected ${Number(r.expected).toFixed(3)})`);
    }
  }
  log(`wrote ${output.path}/{${[...files.keys()].sort().join(',')}}`);
  return rows;
}

/** ‖x′‖/√d of the merged latent per step for each rule (log scale: vp leaves the sphere by 50×). */
export function sphereChart(sphereRows: ExperimentRow[]): Plot.PlotOptions {
  const merged = sphereRows.filter((r) => r.mixedMean !== null);
  const alone = sphereRows.filter((r) => r.method === 'layout alone');
  return {
    title: 'Norm of the merged latent per step, ‖x′‖/√d (Figure 5b analog)',
    x: { label: 'step' }, y: { label: '‖x‖/√d', type: 'log' }, color: { legend: true }, grid: true, marginRight: 150,
    marks: [
      Plot.line(alone, { x: 'step', y: 'targetMean', stroke: '#555', strokeDasharray: '4,3' }),
      Plot.line(alone, { x: 'step', y: 'expected', stroke: '#aaa' }),
      Plot.text(alone, Plot.selectLast({ x: 'step', y: 'targetMean', text: () => 'target alone', dx: 6, dy: -6, textAnchor: 'start', fill: '#555' })),
      Plot.text(alone, Plot.selectLast({ x: 'step', y: 'expected', text: () => 'expected √(ᾱ·E x₀² + 1 − ᾱ)', dx: 6, dy: 8, textAnchor: 'start', fill: '#888' })),
      Plot.areaY(merged, { x: 'step', y1: (d: ExperimentRow) => Math.max(1e-3, Number(d.mixedMean) - Number(d.mixedSD)), y2: (d: ExperimentRow) => Number(d.mixedMean) + Number(d.mixedSD), fill: 'method', fillOpacity: 0.15 }),
      Plot.line(merged, { x: 'step', y: 'mixedMean', stroke: 'method' }),
      Plot.text(merged, Plot.selectLast({ x: 'step', y: 'mixedMean', z: 'method', text: 'method', fill: 'method', dx: 6, textAnchor: 'start' })),
    ],
  };
}

/** Rewrites chart.svg of a finished run from its results.json (after a change to the charts). */
export async function replotExperiment(name: ExperimentName, out?: string, quick = false): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const outDir = path.resolve(out ?? experimentFolder(name, quick));
  const json = JSON.parse(await readFile(path.join(outDir, 'results.json'), 'utf8')) as { rows: ExperimentRow[]; sphere?: ExperimentRow[]; quick: boolean };
  const p = plan(name, json.quick);
  const chart = json.sphere ? sphereChart(json.sphere) : p.chart?.(json.rows);
  if (!chart) throw new Error(`experiment '${name}' has no chart`);
  const file = path.join(outDir, 'chart.svg');
  await writeFileAtomic(file, plotToSVG(chart, { figure: 'svg' }));
  return file;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]) => {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, xs.length - 1));
};
