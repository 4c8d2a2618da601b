/**
 * The zoo's result tables, shared by `amdm zoo calibrate` (one row set per model) and `amdm zoo
 * bench` (one per method): the evaluator's metrics per level and overall, as CSV (value and
 * standard error per metric) and as table cells (value ± SE).
 */
import { csvText, pm } from '../../jobs/table.ts';
import type { MiniMigSummaryRow } from '../../toy/minimig/index.ts';

/** Each metric: its CSV column, its table header and where a summary row holds it. */
export const METRICS = [
  ['instance_success', 'instance success', (r: MiniMigSummaryRow) => r.instanceSuccess],
  ['miou', 'mIoU', (r: MiniMigSummaryRow) => r.mIoU],
  ['interaction_success', 'interaction success', (r: MiniMigSummaryRow) => r.interactionSuccess],
  ['relation_success', 'relation success', (r: MiniMigSummaryRow) => r.relationSuccess],
  ['image_success', 'image success', (r: MiniMigSummaryRow) => r.imageSuccess],
  ['style_success', 'style success', (r: MiniMigSummaryRow) => r.styleSuccess],
  ['clean_rate', 'clean rate', (r: MiniMigSummaryRow) => r.cleanRate],
] as const;

/** Per-level and overall rows of one named run (a model alone, or a benchmark method). */
export interface SummaryRows {
  name: string;
  levels: MiniMigSummaryRow[];
  overall: MiniMigSummaryRow;
}

const rowsOf = (m: SummaryRows) => [...m.levels, m.overall].map((r) => ({ model: m.name, r }));
const levelName = (r: MiniMigSummaryRow) => (r.level === 'all' ? 'all' : `L${r.level}`);

/** One CSV row per run × level (the first column named `first`), value and standard error per metric. */
export function summaryCsv(models: readonly SummaryRows[], first = 'model'): string {
  const header = [first, 'level', 'images', ...METRICS.flatMap(([k]) => [k, `${k}_se`])];
  const lines = models.flatMap(rowsOf).map(({ model, r }) => [
    model,
    levelName(r),
    r.images,
    ...METRICS.flatMap(([, , f]) => {
      const e = f(r);
      return e ? [e.value, e.se] : [null, null];
    }),
  ]);
  return csvText(header, lines);
}

/** The table's header and rows (value ± SE per metric), one row per run × level. */
export function summaryTable(models: readonly SummaryRows[], first = 'model'): { header: string[]; rows: string[][] } {
  const header = [first, 'level', 'images', ...METRICS.map(([, h]) => h)];
  const rows = models
    .flatMap(rowsOf)
    .map(({ model, r }) => [model, levelName(r), String(r.images), ...METRICS.map(([, , f]) => pm(f(r)))]);
  return { header, rows };
}
