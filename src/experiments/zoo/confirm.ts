/**
 * `amdm zoo confirm`: the best settings of `amdm zoo search` on fresh prompts and noise never used
 * in the search (prompt seed 4000 + seed, noise seed 400 + seed; the search's are 3000… and
 * 300…), beside, on the same prompts and noise: each model alone, AMDM without the new options
 * (the paper's point, the zoo map's best and middle cells, experiment 11) and the compositional
 * baselines that cost a few times AMDM (sum of ε with DDPM and with DDIM, projective with mini SD
 * as the background, FKC with 4 particles; experiment 12). Du's sum with U-HMC (14× AMDM's calls)
 * is left out. Paired differences count prompts as the units; the goal's verdict and the Pareto
 * frontiers are in search-report.ts.
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ZooBenchRecord as BenchRecord } from './bench-records.ts';
import { ZOO_METHODS as MINIMIG_METHODS } from './methods.ts';
import { experimentFolder, prepareExperimentOutput } from '../common.ts';
import { jsonText } from '../../io/files.ts';
import { csvOfRecords } from '../../jobs/table.ts';
import { pairedDifference, type PairedMetric } from '../../toy/minimig/index.ts';
import { promptSetOf, runPromptSet } from './search-runs.ts';
import {
  confirmTable,
  confirmVerdict,
  frontiersOf,
  isReference,
  paretoChart,
  summaryColumns,
  type ConfirmJSON,
  type ConfirmKind,
  type ConfirmRow,
  type SearchJSON,
} from './search-report.ts';
import {
  ZOO_MAP_BEST_SETTING,
  ZOO_MAP_MIDDLE_SETTING,
  ZOO_PAPER_SETTING,
  zooSettingMethod,
} from './search-settings.ts';
import type { ZooSearchOptions } from './search.ts';

export const CONFIRM_PROMPT_SEED = 4000;
export const CONFIRM_NOISE_SEED = 400;

export interface ZooConfirmOptions extends ZooSearchOptions {
  /** The search run's folder (default: where `zoo search` writes, full or quick). */
  from?: string;
  /** Prompts per level (default 12; quick 1). */
  perLevel?: number;
  /** Run FKC (4 particles: 400 UNet calls per image; default true). */
  fkc?: boolean;
}

export interface ConfirmMethod {
  method: string;
  label: string;
  kind: ConfirmKind;
}

/** The rows: each model alone, AMDM without the new options, the search's best, the baselines (FKC when `fkc`). */
export function confirmMethods(
  best: readonly { method: string; label: string }[],
  steps: number,
  fkc: boolean,
): ConfirmMethod[] {
  const baselines: [string, string][] = [
    ['interact+migc:sum', 'sum of ε (DDPM)'],
    ['interact+migc:sum-ddim', 'sum of ε (DDIM η = 0)'],
    ['interact+migc:projective', 'projective (background mini SD)'],
    ...(fkc ? [['interact+migc:fkc', 'FKC (N = 4)'] as [string, string]] : []),
  ];
  return [
    { method: 'interact', label: MINIMIG_METHODS.interact.label, kind: 'expert' },
    { method: 'migc', label: MINIMIG_METHODS.migc.label, kind: 'expert' },
    { method: zooSettingMethod(ZOO_PAPER_SETTING, steps), label: "AMDM, paper's point", kind: 'amdm' },
    {
      method: zooSettingMethod(ZOO_MAP_BEST_SETTING, steps),
      label: 'AMDM, map best (lerp w=0.9 s=40 η=0)',
      kind: 'amdm',
    },
    {
      method: zooSettingMethod(ZOO_MAP_MIDDLE_SETTING, steps),
      label: 'AMDM, map middle (slerp w=0.5 s=40 η=0)',
      kind: 'amdm',
    },
    ...best.map((b, i) => ({ method: b.method, label: `search #${i + 1}: ${b.label}`, kind: 'amdm+options' as const })),
    ...baselines.map(([method, label]) => ({ method, label, kind: 'baseline' as const })),
  ];
}

const PAIRED: readonly [string, PairedMetric][] = [
  ['relation', 'relationSuccess'],
  ['image', 'imageSuccess'],
  ['instance', 'instanceSuccess'],
  ['interaction', 'interactionSuccess'],
];

/** Rates, cost and paired differences (row − reference, same prompt and noise) of every method. */
export function confirmRows(
  methods: readonly ConfirmMethod[],
  records: ReadonlyMap<string, BenchRecord[]>,
): ConfirmRow[] {
  const refs = methods.filter(isReference);
  return methods.map((m) => {
    const recs = records.get(m.method)!;
    const mean = (f: (r: BenchRecord) => number) => recs.reduce((a, r) => a + f(r), 0) / recs.length;
    const paired: ConfirmRow['paired'] = {};
    for (const ref of refs) {
      if (ref.label === m.label) continue;
      const other = records.get(ref.method)!;
      const pairs = recs.map((r, i) => ({ prompt: r.id, method: r.evaluation, target: other[i].evaluation }));
      for (const [k, metric] of PAIRED) {
        const d = pairedDifference(pairs, metric);
        if (d) paired[`${k} vs ${ref.label}`] = { value: d.value, se: d.se };
      }
    }
    return {
      method: m.method,
      label: m.label,
      kind: m.kind,
      ...summaryColumns(recs.map((r) => r.evaluation)),
      calls: Math.round(mean((r) => r.calls)),
      secondsPerImage: mean((r) => r.seconds),
      paired,
    };
  });
}

async function readSearch(dir: string, quick: boolean): Promise<SearchJSON> {
  try {
    return JSON.parse(await readFile(path.join(dir, 'results.json'), 'utf8')) as SearchJSON;
  } catch {
    throw new Error(
      `zoo confirm confirms the settings of a search run: run \`npx amdm zoo search${quick ? ' --quick' : ''}\` first (no ${path.join(dir, 'results.json')})`,
    );
  }
}

/** The confirmation's files: the JSON, a CSV row per method with its paired differences, the table and both frontier charts. */
function confirmFiles(
  json: ConfirmJSON,
  relationFamilies: Record<string, string[]>,
  marksFamilies: Record<string, string[]>,
): Map<string, string> {
  const rows = json.rows;
  const csvRows = rows.map(({ paired, ...r }) => ({
    ...r,
    ...Object.fromEntries(
      Object.entries(paired).flatMap(([k, d]) => [
        [`Δ${k}`, d.value],
        [`Δ${k} SE`, d.se],
      ]),
    ),
  }));
  return new Map([
    ['results.json', jsonText(json)],
    ['results.csv', csvOfRecords(csvRows, [...new Set(csvRows.flatMap((r) => Object.keys(r)))])],
    ['table.md', confirmTable(json)],
    [
      'pareto.svg',
      paretoChart(rows, relationFamilies, {
        key: 'relationSuccess',
        label: 'relation success (interactions: mark, subject and object right)',
      }),
    ],
    [
      'pareto-marks.svg',
      paretoChart(rows, marksFamilies, { key: 'interactionSuccess', label: 'interaction success (the mark alone)' }),
    ],
  ]);
}

export async function runZooConfirm(o: ZooConfirmOptions = {}): Promise<ConfirmJSON> {
  const log = o.log ?? ((l: string) => console.log(l));
  const quick = o.quick ?? false;
  const seed = o.seed ?? 0;
  const search = await readSearch(path.resolve(o.from ?? experimentFolder('search-zoo', quick)), quick);
  const files = ['results.json', 'results.csv', 'table.md', 'pareto.svg', 'pareto-marks.svg'];
  const output = await prepareExperimentOutput(
    'confirm-zoo',
    quick,
    o.out ?? experimentFolder('confirm-zoo', quick),
    files,
  );
  const steps = search.plan.steps;
  const set = {
    promptSeed: CONFIRM_PROMPT_SEED + seed,
    noiseSeed: CONFIRM_NOISE_SEED + seed,
    perLevel: o.perLevel ?? (quick ? 1 : 12),
  };
  const methods = confirmMethods(search.best, steps, o.fkc ?? true);
  const runs = path.resolve(o.runs ?? path.join(quick ? 'amdm-out' : 'out', 'search-zoo-runs'));
  const started = Date.now();
  const load = [os.loadavg()[0]];
  const records = await runPromptSet([...new Set(methods.map((m) => m.method))], {
    zoo: o.zoo ?? 'models/mini-zoo',
    steps,
    out: path.join(runs, `confirm-seed${seed}`),
    workers: o.workers,
    threads: o.threads,
    ...set,
  });
  load.push(os.loadavg()[0]);
  const rows = confirmRows(methods, records);
  const relation = frontiersOf(rows, (r) => r.relationSuccess);
  const marks = frontiersOf(rows, (r) => r.interactionSuccess);
  const json: ConfirmJSON = {
    experiment: 'zoo confirm',
    command: `npx amdm zoo confirm${quick ? ' --quick' : ''}${o.seed ? ` --seed ${seed}` : ''}${o.fkc === false ? ' --no-fkc' : ''}`,
    quick,
    seed,
    set: { ...set, prompts: promptSetOf(set).length },
    steps,
    seconds: (Date.now() - started) / 1000,
    loadAverage: load,
    left: ['sum of ε + U-HMC (14× the UNet calls of AMDM)', ...(o.fkc === false ? ['FKC (--no-fkc)'] : [])],
    verdict: confirmVerdict(rows),
    frontier: relation.all,
    frontiers: relation.families,
    marksFrontier: marks.all,
    rows,
  };
  await output.commit(confirmFiles(json, relation.families, marks.families));
  log(confirmTable(json));
  log(`wrote ${output.path}/{${files.join(',')}} (${json.seconds.toFixed(0)} s)`);
  return json;
}
