/**
 * The tables and the chart of `amdm zoo search` and `amdm zoo confirm`: rates with standard
 * errors (relations, instances or images as the units, as `zoo bench` prints them), paired
 * differences with standard errors over prompts (toy/minimig/paired.ts), the goal's verdict and
 * the Pareto frontier of attributes (MIGC-mini's: instance success) against interactions
 * (relation success; the marks alone in a second chart), with image success as the dots' size.
 */
import { pm } from '../../jobs/table.ts';
import { summarizeScenes, type SceneEvaluation } from '../../toy/minimig/index.ts';
import { paretoFrontier } from '../merge-search.ts';
import { paretoChart as frontierChart } from '../search-common.ts';
import type { ZooMergeSetting, ZooSearchPlan } from './search-settings.ts';

/** The rates of a set of images, each with its standard error (`<key>SE`). */
export interface RateColumns {
  images: number;
  relations: number;
  relationSuccess: number;
  relationSuccessSE: number;
  imageSuccess: number;
  imageSuccessSE: number;
  instanceSuccess: number;
  instanceSuccessSE: number;
  interactionSuccess: number;
  interactionSuccessSE: number;
  mIoU: number;
  styleSuccess: number;
  cleanRate: number;
}

export function summaryColumns(evals: readonly SceneEvaluation[]): RateColumns {
  const o = summarizeScenes(evals).overall;
  const rel = o.relationSuccess ?? { value: 0, se: 0 };
  const act = o.interactionSuccess ?? { value: 0, se: 0 };
  return {
    images: evals.length,
    relations: evals.reduce((a, e) => a + e.relations.length, 0),
    relationSuccess: rel.value,
    relationSuccessSE: rel.se,
    imageSuccess: o.imageSuccess.value,
    imageSuccessSE: o.imageSuccess.se,
    instanceSuccess: o.instanceSuccess.value,
    instanceSuccessSE: o.instanceSuccess.se,
    interactionSuccess: act.value,
    interactionSuccessSE: act.se,
    mIoU: o.mIoU.value,
    styleSuccess: o.styleSuccess.value,
    cleanRate: o.cleanRate.value,
  };
}

const est = (r: RateColumns, k: 'relationSuccess' | 'imageSuccess' | 'instanceSuccess' | 'interactionSuccess') =>
  pm({ value: r[k], se: r[`${k}SE`] });

export interface SearchRow extends RateColumns {
  method: string;
  label: string;
  /** On to the next round (the last round: on to the confirmation). */
  kept: boolean;
}

export interface SearchJSON {
  experiment: 'zoo search';
  command: string;
  quick: boolean;
  seed: number;
  plan: ZooSearchPlan;
  seconds: number;
  /** The 1-minute load average at the start and the end. */
  loadAverage: number[];
  rounds: {
    budget: number;
    /** The round's own prompts (prompt seed, noise seed, prompts per level L2–L4). */
    set: { promptSeed: number; noiseSeed: number; perLevel: number };
    /** Ranked; each setting's rates over every prompt it was scored on so far. */
    rows: SearchRow[];
  }[];
  /** The best settings in rank order (the confirmation runs them). */
  best: { method: string; label: string; setting: ZooMergeSetting }[];
}

export function searchTable(j: SearchJSON): string {
  const lines = [
    `# zoo search (\`${j.command}\`, ${j.seconds.toFixed(0)} s, load average ${j.loadAverage.map((l) => l.toFixed(1)).join(' → ')})`,
    '',
    'InteractDiffusion-mini ← MIGC-mini. Ranked by relation success among settings with ≥ 80 % clean images, ties broken by interaction × instance success² (src/experiments/zoo/search.ts).',
    '',
  ];
  j.rounds.forEach((r, i) => {
    const last = i === j.rounds.length - 1;
    lines.push(
      `## round ${i + 1}: ${r.rows.length} settings on ${r.budget} prompts (this round's: prompt seed ${r.set.promptSeed}, noise seed ${r.set.noiseSeed}, ${r.set.perLevel} per level)`,
      '',
      `| setting | relation success | image success | instance success | interaction success | clean | ${last ? 'confirmed' : 'kept'} |`,
      '| --- | ---: | ---: | ---: | ---: | ---: | :---: |',
    );
    for (const x of r.rows)
      lines.push(
        `| ${x.label} | ${est(x, 'relationSuccess')} | ${est(x, 'imageSuccess')} | ${est(x, 'instanceSuccess')} | ${est(x, 'interactionSuccess')} | ${x.cleanRate.toFixed(2)} | ${x.kept ? '✓' : ''} |`,
      );
    lines.push('');
  });
  return lines.join('\n');
}

export type ConfirmKind = 'expert' | 'amdm' | 'amdm+options' | 'baseline';

/** One method of the confirmation: its rates, cost and paired differences against every reference. */
export interface ConfirmRow extends RateColumns {
  method: string;
  label: string;
  kind: ConfirmKind;
  /** UNet calls and wall seconds per image (mean). */
  calls: number;
  secondsPerImage: number;
  /** `<metric> vs <reference label>` → the paired difference and its standard error (prompts as units). */
  paired: Record<string, { value: number; se: number }>;
}

export interface ConfirmJSON {
  experiment: 'zoo confirm';
  command: string;
  quick: boolean;
  seed: number;
  set: { promptSeed: number; noiseSeed: number; perLevel: number; prompts: number };
  steps: number;
  seconds: number;
  loadAverage: number[];
  left: string[];
  verdict: { winners: string[]; note: string };
  /** Not dominated in (instance success, relation success): overall and per family. */
  frontier: string[];
  frontiers: Record<string, string[]>;
  /** The same in (instance success, interaction success). */
  marksFrontier: string[];
  rows: ConfirmRow[];
}

/** The rows the goal's margins are measured against: each model alone, AMDM without the new options, the baselines. */
export const isReference = (r: Pick<ConfirmRow, 'kind'>) => r.kind !== 'amdm+options';

/**
 * The goal: an AMDM setting whose relation success and image success each beat every other
 * reference row by ≥ 0.10 (paired difference, and more than 2 paired SEs above 0). Returns the
 * winners, or the closest AMDM row's worst margin.
 */
export function confirmVerdict(rows: readonly ConfirmRow[]): ConfirmJSON['verdict'] {
  const refs = rows.filter(isReference);
  const margins = rows
    .filter((r) => r.kind === 'amdm' || r.kind === 'amdm+options')
    .map((r) => {
      const ds = refs
        .filter((ref) => ref.label !== r.label)
        .flatMap((ref) =>
          (['relation', 'image'] as const).map((k) => ({ ref: ref.label, k, ...r.paired[`${k} vs ${ref.label}`] })),
        );
      const worst = ds.reduce((a, b) => (b.value < a.value ? b : a));
      return { label: r.label, ok: ds.every((d) => d.value >= 0.1 && d.value - 2 * d.se > 0), worst };
    });
  const winners = margins.filter((m) => m.ok).map((m) => m.label);
  const best = margins.reduce((a, b) => (b.worst.value > a.worst.value ? b : a));
  const sign = (v: number) => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(3)}`;
  const note = winners.length
    ? `won by ${winners.join('; ')}`
    : `no setting wins: the closest, ${best.label}, is ${sign(best.worst.value)} ± ${best.worst.se.toFixed(3)} in ${best.worst.k} success against ${best.worst.ref}`;
  return { winners, note };
}

/** The frontier of (instance success, `y`), overall and per family (AMDM without and with the new options, the baselines). */
export function frontiersOf(rows: readonly ConfirmRow[], y: (r: ConfirmRow) => number) {
  const front = (rs: readonly ConfirmRow[]) => paretoFrontier(rs, (r) => r.instanceSuccess, y).map((r) => r.label);
  return {
    all: front(rows),
    families: Object.fromEntries(
      (['amdm', 'amdm+options', 'baseline'] as const).map((k) => [k, front(rows.filter((r) => r.kind === k))]),
    ),
  };
}

const signed = (d: { value: number; se: number } | undefined) =>
  d === undefined ? '—' : `${d.value >= 0 ? '+' : '−'}${Math.abs(d.value).toFixed(3)} ± ${d.se.toFixed(3)}`;

/** The confirmation's table: rates, then the paired differences against the references shown. */
export function confirmTable(j: ConfirmJSON): string {
  const refs = j.rows.filter(isReference).map((r) => r.label);
  const lines = [
    `# zoo confirm (\`${j.command}\`): ${j.set.prompts} fresh prompts (prompt seed ${j.set.promptSeed}, noise seed ${j.set.noiseSeed}, ${j.set.perLevel} per level L2–L4) × 1 image, T = ${j.steps}; ${j.seconds.toFixed(0)} s, load average ${j.loadAverage.map((l) => l.toFixed(1)).join(' → ')}`,
    '',
    '| method | relation success | image success | instance success | interaction success | mIoU | style | clean | UNet calls | s / image | Pareto (instance, relation): all / family | Pareto (instance, interaction) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: | :---: |',
  ];
  for (const r of j.rows)
    lines.push(
      `| ${r.label} | ${est(r, 'relationSuccess')} | ${est(r, 'imageSuccess')} | ${est(r, 'instanceSuccess')} | ${est(r, 'interactionSuccess')} | ${r.mIoU.toFixed(3)} | ${r.styleSuccess.toFixed(2)} | ${r.cleanRate.toFixed(2)} | ${r.calls} | ${r.secondsPerImage.toFixed(2)} | ${j.frontier.includes(r.label) ? '✓' : ''} / ${j.frontiers[r.kind]?.includes(r.label) ? '✓' : ''} | ${j.marksFrontier.includes(r.label) ? '✓' : ''} |`,
    );
  lines.push('', 'Rates: ± one standard error with relations, instances or images as the units.', '');
  for (const k of ['relation', 'image', 'instance', 'interaction'] as const) {
    lines.push(
      `## Δ ${k} success, row − column (paired: same prompts and noise; SE over the ${j.set.prompts} prompts)`,
      '',
      `| method | ${refs.join(' | ')} |`,
      `| --- | ${refs.map(() => '---:').join(' | ')} |`,
    );
    for (const r of j.rows)
      lines.push(
        `| ${r.label} | ${refs.map((ref) => (ref === r.label ? '—' : signed(r.paired[`${k} vs ${ref}`]))).join(' | ')} |`,
      );
    lines.push('');
  }
  lines.push(
    `Verdict (relation and image success ≥ 0.10 above each model alone, AMDM without the new options and every baseline, paired, > 2 SE): ${j.verdict.note}.`,
    '',
    j.left.length ? `Left out: ${j.left.join('; ')}.` : '',
    '',
  );
  return lines.join('\n');
}

/** Instance success (MIGC-mini's attributes) across, `y` (interactions) up, image success as the size; each family's frontier joined. */
export function paretoChart(
  rows: readonly ConfirmRow[],
  frontiers: Record<string, string[]>,
  y: { key: 'relationSuccess' | 'interactionSuccess'; label: string },
): string {
  const pts = rows.map((r) => ({
    label: r.label,
    kind: r.kind,
    x: r.instanceSuccess,
    y: r[y.key],
    joint: r.imageSuccess,
  }));
  return frontierChart(pts, frontiers, {
    width: 780,
    marginRight: 230,
    x: { label: 'instance success (MIGC-mini’s attributes) →', domain: [0, 1] },
    y: { label: `↑ ${y.label}`, domain: [0, Math.max(0.1, ...pts.map((p) => p.y)) * 1.15] },
    r: [0, Math.max(0.05, ...pts.map((p) => p.joint))],
    labelChars: 40,
  });
}
