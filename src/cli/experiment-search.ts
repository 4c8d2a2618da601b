/**
 * `amdm experiment search-shapes` and `confirm-shapes`: where, when and how much to merge
 * (windows, weight schedules, spatial maps from the prompt's boxes, the map-restricted deviation
 * step) for layout ← attribute in the Shapes world, searched honestly:
 *  1. search: successive halving (merge-search.ts) over a seeded sample of the option grid plus
 *     the paper's point and the map's best cell, on one prompt/noise set (prompt seed 4000 + seed,
 *     noise seed seed), the objective instance success (place and colour right) among settings
 *     with ≥ 90 % clean images;
 *  2. confirmation: the best few on fresh prompts (prompt seed 5000 + seed) and noise seeds
 *     (10 000 + seed) never used in the search, beside each expert alone, AMDM without the new
 *     options (the paper's point, the map's best cell) and the compositional baselines of
 *     experiment 6 that cost a few times AMDM (sum of scores DDPM and DDIM, projective, FKC with
 *     N = B), 16 prompts × 4 samples; paired differences with standard errors, and the Pareto frontier of colour right
 *     (the attribute control) against IoU ≥ 0.5 (the layout control).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Denoiser } from '../core/types.ts';
import { makeSchedule } from '../core/schedule.ts';
import { mixtureDenoiser } from '../toy/gmm.ts';
import { evaluateImage, type ImageEvaluation } from '../toy/shapes/evaluate.ts';
import { EXPERTS, type ExpertName } from '../toy/shapes/experts.ts';
import { makePromptSet, type ShapesPrompt } from '../toy/shapes/prompts.ts';
import { makeWorld, type ShapesWorld } from '../toy/shapes/world.ts';
import {
  MAP_BEST_SETTING,
  PAPER_SETTING,
  mergeSettingAtSteps,
  mergeSettingMethod,
  mergeSettingName,
  type MergeSetting,
} from '../toy/shapes/merge-setting.ts';
import { compareInWorkers } from './shapes-pool.ts';
import { composeMethods, looseBackground, resolveSettings, runMethod } from './compose-shapes-methods.ts';
import { experimentFolder, prepareExperimentOutput, rateColumns, type ExperimentOptions } from './experiment-common.ts';
import {
  successiveHalving,
  pairedDiff,
  paretoFrontier,
  type HalvingCandidate,
  type HalvingRound,
} from './merge-search.ts';
import { paretoChart as frontierChart, seededSample } from '../experiments/search-common.ts';
import { jsonText } from '../io/files.ts';
import { csvOfRecords, pm } from '../jobs/table.ts';
import { progressBar } from '../io/progress.ts';

const PAIR: ExpertName[] = ['layout', 'attribute'];
const STEPS = 50;

/** The option grid: 2 rules × 5 weights × 4 windows × 4 maps × 2–3 deviation steps. */
export function searchSpace(): MergeSetting[] {
  const weights: MergeSetting['weight'][] = [
    0.7,
    0.9,
    1,
    { kind: 'linear', from: 1, to: 0.5 },
    { kind: 'cosine', from: 1, to: 0.5 },
  ];
  const windows: [number, number][] = [
    [0, 30],
    [0, 40],
    [0, 45],
    [2, 40],
  ];
  const maps: MergeSetting['spatial'][] = [null, { feather: 0 }, { feather: 1 }, { feather: 2 }];
  const out: MergeSetting[] = [];
  for (const rule of ['lerp', 'slerp'] as const)
    for (const weight of weights)
      for (const window of windows)
        for (const spatial of maps) {
          const devs: MergeSetting['deviation'][] = [{ mode: 'none' }, { mode: 'relative', lambda: 0.2, inMap: false }];
          if (spatial) devs.push({ mode: 'relative', lambda: 0.2, inMap: true });
          for (const deviation of devs) out.push({ rule, weight, window, spatial, deviation });
        }
  return out;
}

/** The search's plan: candidates drawn from the grid, prompts per round, samples per prompt. */
export function searchPlan(quick: boolean) {
  return quick
    ? { sampled: 4, budgets: [1, 2], reduction: 3, samples: 1, steps: 10, keepBest: 2 }
    : { sampled: 52, budgets: [6, 12, 24], reduction: 3, samples: 2, steps: STEPS, keepBest: 3 };
}

/** `count` settings of the grid, drawn without replacement by a seeded shuffle. */
function sampleSettings(count: number, seed: number): MergeSetting[] {
  return seededSample(searchSpace(), count, seed, 7);
}

/** Per-instance success and per-image clean flags of a method's evaluations, in order. */
function scoresOf(evaluations: readonly ImageEvaluation[]) {
  return {
    values: evaluations.flatMap((e) => e.instances.map((i) => (i.ok ? 1 : 0))),
    guard: evaluations.map((e) => (e.fidelity.clean ? 1 : 0)),
  };
}

export interface SearchJSON {
  experiment: 'search-shapes';
  command: string;
  quick: boolean;
  seed: number;
  plan: ReturnType<typeof searchPlan>;
  seconds: number;
  rounds: { budget: number; rows: { name: string; objective: number; se: number; clean: number }[]; kept: string[] }[];
  /** The best settings in rank order (the confirmation runs the first `keepBest`). */
  best: { name: string; setting: MergeSetting }[];
}

export async function runSearchShapes(o: ExperimentOptions & { workers?: number } = {}): Promise<SearchJSON> {
  const log = o.log ?? ((l: string) => console.log(l));
  const quick = o.quick ?? false;
  const seed = o.seed ?? 0;
  const output = await prepareExperimentOutput('search-shapes', quick, o.out, [
    'results.json',
    'rounds.csv',
    'table.md',
  ]);
  const plan = searchPlan(quick);
  const world = makeWorld();
  const prompts = makePromptSet(world, { seed: 4000 + seed, count: plan.budgets.at(-1)!, withStyle: true });
  const settings = [PAPER_SETTING, MAP_BEST_SETTING, ...sampleSettings(plan.sampled, seed)].map((s) =>
    mergeSettingAtSteps(s, plan.steps),
  );
  const candidates = dedupe(settings.map((s) => ({ name: mergeSettingName(s), setting: s })));
  const started = Date.now();
  const rounds = await successiveHalving({
    candidates,
    budgets: plan.budgets,
    reduction: plan.reduction,
    evaluate: async (cands, from, to) => {
      const bar = progressBar(cands.length * (to - from), `search prompts ${from}–${to - 1}`, { enabled: o.progress });
      let done = 0;
      const res = await compareInWorkers(
        {
          prompts: prompts.slice(from, to),
          methods: cands.map((c) => mergeSettingMethod(c.setting, PAIR, c.name)),
          samplesPerPrompt: plan.samples,
          steps: plan.steps,
          seed: seed + from,
        },
        o.workers ?? 1,
        (m) => bar.update(++done, m),
      );
      bar.stop();
      return res.map((m) => scoresOf(m.evaluations));
    },
    onRound: (r) =>
      log(
        `search: ${r.rows.length} settings on ${r.budget} prompts; best ${r.rows[0].name} ${pm(r.rows[0].objective)}`,
      ),
  });
  const seconds = (Date.now() - started) / 1000;
  const last = rounds.at(-1)!;
  const byName = new Map(candidates.map((c) => [c.name, c.setting]));
  const json: SearchJSON = {
    experiment: 'search-shapes',
    command: `npx amdm experiment search-shapes${quick ? ' --quick' : ''}${o.seed ? ` --seed ${seed}` : ''}`,
    quick,
    seed,
    plan,
    seconds,
    rounds: rounds.map(roundJSON),
    best: last.kept.slice(0, plan.keepBest).map((name) => ({ name, setting: byName.get(name)! })),
  };
  await output.commit(
    new Map([
      ['results.json', jsonText(json)],
      [
        'rounds.csv',
        csvOfRecords(json.rounds.flatMap((r, i) => r.rows.map((x) => ({ round: i + 1, prompts: r.budget, ...x })))),
      ],
      ['table.md', searchTable(json)],
    ]),
  );
  log(
    `search: ${candidates.length} settings in ${seconds.toFixed(0)} s; best: ${json.best.map((b) => b.name).join('; ')}`,
  );
  log(`wrote ${output.path}/{results.json,rounds.csv,table.md}`);
  return json;
}

function dedupe<S>(cs: HalvingCandidate<S>[]): HalvingCandidate<S>[] {
  return cs.filter((c, i) => cs.findIndex((d) => d.name === c.name) === i);
}

function roundJSON(r: HalvingRound): SearchJSON['rounds'][number] {
  return {
    budget: r.budget,
    rows: r.rows.map((x) => ({ name: x.name, objective: x.objective.value, se: x.objective.se, clean: x.guard })),
    kept: r.kept,
  };
}

function searchTable(j: SearchJSON): string {
  const lines = [`# search-shapes (\`${j.command}\`, ${j.seconds.toFixed(0)} s)`, ''];
  j.rounds.forEach((r, i) => {
    lines.push(`## round ${i + 1}: ${r.rows.length} settings on ${r.budget} prompts × ${j.plan.samples} samples`, '');
    lines.push('| setting | instance success | clean images | kept |', '| --- | ---: | ---: | :---: |');
    for (const x of r.rows)
      lines.push(
        `| ${x.name} | ${pm({ value: x.objective, se: x.se })} | ${x.clean.toFixed(2)} | ${r.kept.includes(x.name) ? '✓' : ''} |`,
      );
    lines.push('');
  });
  return lines.join('\n');
}

/** One row of the confirmation. */
export interface ConfirmRow {
  method: string;
  kind: 'expert' | 'amdm' | 'amdm+options' | 'baseline';
  [key: string]: string | number | null;
}

/** The compositional baselines of experiment 6 whose cost is a few times AMDM's. */
const BASELINES = [
  'sum of scores (DDPM)',
  'sum of scores (DDIM η = 0)',
  'projective (loose background)',
  'FKC (N = B)',
];

/** `from`: the search run's folder (default: where `search-shapes` writes, full or quick). */
export async function runConfirmShapes(o: ExperimentOptions & { workers?: number; from?: string } = {}) {
  const log = o.log ?? ((l: string) => console.log(l));
  const quick = o.quick ?? false;
  const seed = o.seed ?? 0;
  const searchDir = path.resolve(o.from ?? experimentFolder('search-shapes', quick));
  let search: SearchJSON;
  try {
    search = JSON.parse(await readFile(path.join(searchDir, 'results.json'), 'utf8')) as SearchJSON;
  } catch {
    throw new Error(
      `confirm-shapes confirms the settings of a search run: run \`npx amdm experiment search-shapes${quick ? ' --quick' : ''}\` first (no ${path.join(searchDir, 'results.json')})`,
    );
  }
  const output = await prepareExperimentOutput('confirm-shapes', quick, o.out, [
    'results.json',
    'results.csv',
    'table.md',
    'pareto.svg',
  ]);
  const steps = search.plan.steps;
  const count = o.prompts ?? (quick ? 2 : 16);
  const B = o.samples ?? (quick ? 1 : 4);
  const world = makeWorld();
  const prompts = makePromptSet(world, { seed: 5000 + seed, count, withStyle: true });
  const noiseSeed = 10_000 + seed;
  const started = Date.now();
  const amdm = [
    {
      name: 'layout alone',
      kind: 'expert' as const,
      method: { name: 'layout alone', experts: ['layout'] as ExpertName[] },
    },
    {
      name: 'attribute alone',
      kind: 'expert' as const,
      method: { name: 'attribute alone', experts: ['attribute'] as ExpertName[] },
    },
    ...[
      ['AMDM paper', PAPER_SETTING],
      ['AMDM map best', MAP_BEST_SETTING],
    ].map(([n, s]) => ({
      name: n as string,
      kind: 'amdm' as const,
      method: mergeSettingMethod(mergeSettingAtSteps(s as MergeSetting, steps), PAIR, n as string),
    })),
    ...search.best.map((b, i) => ({
      name: `search #${i + 1}: ${b.name}`,
      kind: 'amdm+options' as const,
      method: mergeSettingMethod(b.setting, PAIR, `search #${i + 1}: ${b.name}`),
    })),
  ];
  const res = await compareInWorkers(
    { prompts, methods: amdm.map((m) => m.method), samplesPerPrompt: B, steps, seed: noiseSeed },
    o.workers ?? 1,
  );
  const evals = new Map<string, ImageEvaluation[]>(res.map((r) => [r.name, r.evaluations]));
  const baselines = await runBaselines(world, prompts, { B, steps, seed: noiseSeed, quick, progress: o.progress });
  for (const [n, e] of baselines) evals.set(n, e);
  const rows = confirmRows(
    [
      ...amdm.map((m) => ({ name: m.name, kind: m.kind })),
      ...[...baselines.keys()].map((n) => ({ name: n, kind: 'baseline' as const })),
    ],
    evals,
  );
  const seconds = (Date.now() - started) / 1000;
  const command = `npx amdm experiment confirm-shapes${quick ? ' --quick' : ''}${o.seed ? ` --seed ${seed}` : ''}`;
  const frontOf = (rs: ConfirmRow[]) =>
    paretoFrontier(
      rs,
      (r) => Number(r.colorAccuracy),
      (r) => Number(r.positionAccuracy),
    ).map((r) => r.method);
  const front = frontOf(rows);
  // per family: AMDM without the new options, AMDM with them, the baselines
  const frontiers = Object.fromEntries(
    (['amdm', 'amdm+options', 'baseline'] as const).map((k) => [k, frontOf(rows.filter((r) => r.kind === k))]),
  );
  const verdict = verdictOf(rows);
  const json = {
    experiment: 'confirm-shapes',
    command,
    quick,
    seed,
    prompts: count,
    samplesPerPrompt: B,
    steps,
    seconds,
    verdict,
    frontier: front,
    frontiers,
    rows,
  };
  await output.commit(
    new Map([
      ['results.json', jsonText(json)],
      ['results.csv', csvOfRecords(rows, [...new Set(rows.flatMap((r) => Object.keys(r)))])],
      ['table.md', confirmTable(json)],
      ['pareto.svg', paretoChart(rows, frontiers)],
    ]),
  );
  log(confirmTable(json));
  log(`wrote ${output.path}/{results.json,results.csv,table.md,pareto.svg} (${seconds.toFixed(0)} s)`);
  return json;
}

/** The baselines on the same prompts, experts and noise seeds (seed + p per prompt, as compareOnShapes). */
async function runBaselines(
  world: ShapesWorld,
  prompts: readonly ShapesPrompt[],
  o: { B: number; steps: number; seed: number; quick: boolean; progress?: boolean },
): Promise<Map<string, ImageEvaluation[]>> {
  const settings = resolveSettings(o.quick, { steps: o.steps, aggregateSteps: Math.min(20, o.steps) });
  const methods = composeMethods(settings, false).filter((m) => BASELINES.includes(m.name));
  const schedule = makeSchedule();
  const out = new Map<string, ImageEvaluation[]>(methods.map((m) => [m.name, []]));
  const bar = progressBar(prompts.length * methods.length, 'confirm baselines', { enabled: o.progress });
  let done = 0;
  for (let p = 0; p < prompts.length; p++) {
    const ps = o.seed + p;
    const models = new Map<string, Denoiser>();
    for (const e of PAIR)
      models.set(e, mixtureDenoiser(EXPERTS[e](world, prompts[p], { seed: ps }), schedule, { name: e }));
    models.set('background', mixtureDenoiser(looseBackground(world, prompts[p], ps), schedule, { name: 'background' }));
    for (const m of methods) {
      const r = await runMethod(m, models, { world, schedule, B: o.B, seed: ps, settings });
      for (let b = 0; b < o.B; b++)
        out.get(m.name)!.push(evaluateImage(world, prompts[p], r.samples.subarray(b * world.dim, (b + 1) * world.dim)));
      bar.update(++done, m.name);
    }
  }
  bar.stop();
  return out;
}

/** Rates with SEs, and paired differences (instance and image success) against every expert and baseline. */
function confirmRows(
  methods: { name: string; kind: ConfirmRow['kind'] }[],
  evals: Map<string, ImageEvaluation[]>,
): ConfirmRow[] {
  const inst = (n: string) => evals.get(n)!.flatMap((e) => e.instances.map((i) => (i.ok ? 1 : 0)));
  const img = (n: string) => evals.get(n)!.map((e) => (e.allInstancesOk ? 1 : 0));
  // the experts, the baselines, and AMDM's best without the new options (the map's cell)
  const refs = methods
    .filter((m) => m.kind === 'expert' || m.kind === 'baseline' || m.name === 'AMDM map best')
    .map((m) => m.name);
  return methods.map((m) => {
    const row: ConfirmRow = { method: m.name, kind: m.kind, ...rateColumns(evals.get(m.name)!) };
    for (const ref of refs) {
      if (ref === m.name) continue;
      const di = pairedDiff(inst(m.name), inst(ref)),
        dm = pairedDiff(img(m.name), img(ref));
      row[`Δinstance vs ${ref}`] = di.value;
      row[`Δinstance vs ${ref} SE`] = di.se;
      row[`Δimage vs ${ref}`] = dm.value;
      row[`Δimage vs ${ref} SE`] = dm.se;
    }
    return row;
  });
}

/**
 * The goal: an AMDM setting whose instance and image success each beat every expert alone and
 * every baseline by ≥ 0.10 (paired difference, and more than 2 paired SEs above 0). Returns the
 * winners' names, or the smallest margin of the best AMDM row otherwise.
 */
function verdictOf(rows: ConfirmRow[]): { winners: string[]; note: string } {
  const refs = rows.filter((r) => r.kind === 'expert' || r.kind === 'baseline').map((r) => r.method);
  const margins = rows
    .filter((r) => r.kind === 'amdm' || r.kind === 'amdm+options')
    .map((r) => {
      const ds = refs.flatMap((ref) =>
        ['instance', 'image'].map((k) => ({
          ref,
          k,
          v: Number(r[`Δ${k} vs ${ref}`]),
          se: Number(r[`Δ${k} vs ${ref} SE`]),
        })),
      );
      const worst = ds.reduce((a, b) => (b.v < a.v ? b : a));
      return { method: r.method, ok: ds.every((d) => d.v >= 0.1 && d.v - 2 * d.se > 0), worst };
    });
  const winners = margins.filter((m) => m.ok).map((m) => m.method);
  const best = margins.reduce((a, b) => (b.worst.v > a.worst.v ? b : a));
  const note = winners.length
    ? `won by ${winners.join('; ')}`
    : `no setting wins: the closest, ${best.method}, is ${best.worst.v >= 0 ? '+' : ''}${best.worst.v.toFixed(3)} ± ${best.worst.se.toFixed(3)} in ${best.worst.k} success against ${best.worst.ref}`;
  return { winners, note };
}

function confirmTable(j: {
  command: string;
  prompts: number;
  samplesPerPrompt: number;
  steps: number;
  verdict: { note: string };
  frontier: string[];
  frontiers: Record<string, string[]>;
  rows: ConfirmRow[];
}): string {
  const refs = ['layout alone', 'attribute alone', 'AMDM map best', 'sum of scores (DDIM η = 0)'];
  const lines = [
    `# confirm-shapes (\`${j.command}\`): ${j.prompts} fresh prompts × ${j.samplesPerPrompt} samples, T = ${j.steps}`,
    '',
    `| method | instance success | image success | colour right | IoU ≥ 0.5 | clean | ${refs.map((r) => `Δ instance vs ${r}`).join(' | ')} | Δ image vs AMDM map best | Δ image vs sum of scores (DDIM) | Pareto: all / its family |`,
    `| --- | ---: | ---: | ---: | ---: | ---: | ${refs.map(() => '---:').join(' | ')} | ---: | ---: | :---: |`,
  ];
  const d = (r: ConfirmRow, key: string) =>
    r[key] === undefined
      ? '—'
      : `${Number(r[key]) >= 0 ? '+' : '−'}${Math.abs(Number(r[key])).toFixed(3)} ± ${Number(r[`${key} SE`]).toFixed(3)}`;
  for (const r of j.rows) {
    const est = (k: string) => pm({ value: Number(r[k]), se: Number(r[`${k}SE`]) });
    lines.push(
      `| ${r.method} | ${est('instanceSuccess')} | ${est('imageSuccess')} | ${est('colorAccuracy')} | ${est('positionAccuracy')} | ${Number(r.cleanImages).toFixed(2)} | ${refs.map((ref) => d(r, `Δinstance vs ${ref}`)).join(' | ')} | ${d(r, 'Δimage vs AMDM map best')} | ${d(r, 'Δimage vs sum of scores (DDIM η = 0)')} | ${j.frontier.includes(r.method) ? '✓' : ''} / ${j.frontiers[r.kind]?.includes(r.method) ? '✓' : ''} |`,
    );
  }
  lines.push(
    '',
    'Pareto: not dominated in (colour right, IoU ≥ 0.5) by any row / by a row of its family (AMDM without the new options, AMDM with them, the baselines).',
    '',
    `Verdict (≥ 0.10 over every expert alone and every baseline, paired, > 2 SE): ${j.verdict.note}.`,
    '',
  );
  return lines.join('\n');
}

/** Colour right (attribute control) across, IoU ≥ 0.5 (layout control) up; each family's frontier joined. */
function paretoChart(rows: ConfirmRow[], frontiers: Record<string, string[]>): string {
  const pts = rows.map((r) => ({
    label: r.method,
    kind: r.kind,
    x: Number(r.colorAccuracy),
    y: Number(r.positionAccuracy),
    joint: Number(r.instanceSuccess),
  }));
  return frontierChart(pts, frontiers, {
    width: 760,
    marginRight: 200,
    x: { label: 'colour right (attribute control) →', domain: [0, 1] },
    y: { label: '↑ IoU ≥ 0.5 (layout control)', domain: [0, 1.02] },
    labelChars: 38,
  });
}
