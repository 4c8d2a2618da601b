/**
 * The summary of a finished `amdm zoo bench` run (bench.ts), written from its records once every
 * record of the set exists: results.json, results.csv (per method × level, value and standard
 * error per metric), paired.csv (each method against its target alone, paired.ts), table.md and
 * chart.svg.
 */
import { join } from 'node:path';
import * as Plot from '@observablehq/plot';
import { plotToSVG } from '../../image/plot.ts';
import { markdownTable } from '../../jobs/table.ts';
import { summarizeScenes, type MiniMigPrompt } from '../../toy/minimig/index.ts';
import { jsonText, writeFileAtomic } from '../../io/files.ts';
import { readRecord, recordPath, type ZooBenchRecord } from './bench-records.ts';
import { methodRun, resolveMethod } from './methods.ts';
import { pairedCsv, pairedSummaries, pairedTable, type PairedSummary } from './paired.ts';
import { METRICS, summaryCsv, summaryTable, type SummaryRows } from './tables.ts';

export interface MethodSummary extends SummaryRows {
  label: string;
  /** Prompts the method's models cannot take (InteractDiffusion needs an interaction). */
  skipped: number;
  /** Mean UNet calls and wall seconds per image. */
  calls: number;
  seconds: number;
}

/** What a summary is made from: the run's settings, prompts and zoo folders. */
export interface BenchSummaryInput {
  out: string;
  settings: { methods: readonly string[]; seeds: number } & Record<string, unknown>;
  prompts: readonly MiniMigPrompt[];
  kinds: ReadonlyMap<string, string>;
  zoo: string;
}

/** The table's header and rows: every method's levels, with its UNet calls and seconds per image. */
export function benchTable(methods: readonly MethodSummary[]): [string[], string[][]] {
  // one method at a time: methods that skip a level (InteractDiffusion at L1) have fewer rows
  const rows = methods.flatMap((m) =>
    summaryTable([{ ...m, name: m.label }], 'method').rows.map((r) => [...r, String(m.calls), m.seconds.toFixed(2)]),
  );
  return [[...summaryTable([], 'method').header, 'UNet calls', 's / image'], rows];
}

/** Every method's records, or null while any is missing. */
async function readMethods(
  i: BenchSummaryInput,
): Promise<{ methods: MethodSummary[]; records: Map<string, ZooBenchRecord[]> } | null> {
  const methods: MethodSummary[] = [];
  const records = new Map<string, ZooBenchRecord[]>();
  for (const name of i.settings.methods) {
    const m = resolveMethod(name);
    const recs: ZooBenchRecord[] = [];
    let skipped = 0;
    for (const p of i.prompts) {
      if (methodRun(m, i.kinds, i.zoo, p, '') === null) {
        skipped++;
        continue;
      }
      for (let k = 0; k < i.settings.seeds; k++) {
        const r = await readRecord(recordPath(i.out, name, p.id, k));
        if (r === null) return null;
        recs.push(r);
      }
    }
    records.set(name, recs);
    const mean = (f: (r: ZooBenchRecord) => number) => recs.reduce((a, r) => a + f(r), 0) / recs.length;
    methods.push({
      name,
      label: m.label,
      skipped,
      ...summarizeScenes(recs.map((r) => r.evaluation)),
      calls: mean((r) => r.calls),
      seconds: mean((r) => r.seconds),
    });
  }
  return { methods, records };
}

/** Reads every record of the set; null while any is missing. Writes the summary files. */
export async function writeBenchSummary(
  i: BenchSummaryInput,
): Promise<{ methods: MethodSummary[]; paired: PairedSummary[] } | null> {
  const read = await readMethods(i);
  if (read === null) return null;
  const { methods, records } = read;
  const { out, settings } = i;
  const [header, rows] = benchTable(methods);
  const paired = pairedSummaries(settings.methods, records);
  await writeFileAtomic(join(out, 'results.json'), jsonText({ command: 'zoo bench', settings, methods, paired }));
  await writeFileAtomic(join(out, 'results.csv'), summaryCsv(methods, 'method'));
  await writeFileAtomic(join(out, 'paired.csv'), pairedCsv(paired));
  await writeFileAtomic(join(out, 'table.md'), `${markdownTable(header, rows)}\n\n${pairedTable(paired)}\n`);
  await writeFileAtomic(join(out, 'chart.svg'), plotToSVG(benchChart(methods), { figure: 'svg' }));
  return { methods, paired };
}

/** Overall value ± 2 SE of each metric per method (one panel per metric). */
export function benchChart(methods: readonly MethodSummary[]): Plot.PlotOptions {
  const pts = methods.flatMap((m) =>
    METRICS.flatMap(([, metric, f]) => {
      const e = f(m.overall);
      return e
        ? [
            {
              method: m.label,
              metric,
              value: e.value,
              lo: Math.max(0, e.value - 2 * e.se),
              hi: Math.min(1, e.value + 2 * e.se),
            },
          ]
        : [];
    }),
  );
  return {
    title: 'MiniMIG benchmark on the learned mini-zoo (overall, ± 2 SE)',
    x: { label: 'rate', domain: [0, 1], grid: true },
    y: { label: null },
    fy: { label: null },
    marginLeft: 330,
    marginRight: 110,
    height: 80 + 22 * pts.length,
    marks: [
      Plot.ruleY(pts, { y: 'method', fy: 'metric', x1: 'lo', x2: 'hi', stroke: 'method' }),
      Plot.dot(pts, { y: 'method', fy: 'metric', x: 'value', fill: 'method', r: 4 }),
      Plot.frame({ strokeOpacity: 0.2 }),
    ],
  };
}
