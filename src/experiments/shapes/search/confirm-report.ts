/**
 * The report of `amdm experiment confirm-shapes` (confirm.ts): each row's rates and paired
 * differences against the references, the verdict, table.md and pareto.svg.
 */
import type { ImageEvaluation } from '../../../toy/shapes/evaluate.ts';
import { paretoChart as frontierChart } from '../../search-common.ts';
import { pm } from '../../../jobs/table.ts';
import { pairedDiff } from '../../merge-search.ts';
import { rateColumns } from '../common.ts';

/** One row of the confirmation. */
export interface ConfirmRow {
  method: string;
  kind: 'expert' | 'amdm' | 'amdm+options' | 'baseline';
  [key: string]: string | number | null;
}

/** What results.json holds. */
export interface ConfirmJSON {
  experiment: 'confirm-shapes';
  command: string;
  quick: boolean;
  seed: number;
  prompts: number;
  samplesPerPrompt: number;
  steps: number;
  seconds: number;
  verdict: { winners: string[]; note: string };
  /** The rows on the Pareto frontier of all rows, and of each family's rows. */
  frontier: string[];
  frontiers: Record<string, string[]>;
  rows: ConfirmRow[];
}

/** Rates with SEs, and paired differences (instance and image success) against every expert and baseline. */
export function confirmRows(
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
export function verdictOf(rows: ConfirmRow[]): { winners: string[]; note: string } {
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

export function confirmTable(j: ConfirmJSON): string {
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
export function paretoChart(rows: ConfirmRow[], frontiers: Record<string, string[]>): string {
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
