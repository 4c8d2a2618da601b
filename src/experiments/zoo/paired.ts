/**
 * The paired part of the zoo benchmark's summary: every method that has its target model alone in
 * the same run, compared with it image by image (same prompt, same noise seed), per metric
 * (src/toy/minimig/paired.ts: pooled differences, standard errors over prompts).
 */
import { csvText, markdownTable, pm } from '../../jobs/table.ts';
import { PAIRED_METRICS, pairedDifferences, type PairedImage, type PairedMetric } from '../../toy/minimig/index.ts';
import type { Estimate } from '../../toy/shapes/evaluate.ts';
import type { SceneEvaluation } from '../../toy/minimig/index.ts';
import { resolveMethod } from './methods.ts';

export interface PairedSummary {
  method: string;
  label: string;
  /** The run's method that is the target model alone. */
  target: string;
  targetLabel: string;
  /** Paired images and the prompts they come from (the independent units). */
  images: number;
  prompts: number;
  differences: Record<PairedMetric, Estimate | null>;
}

/** One image's record as the summary needs it. */
export interface PairableRecord {
  id: string;
  replicate: number;
  evaluation: SceneEvaluation;
}

const METRIC_HEADERS: Readonly<Record<PairedMetric, string>> = {
  instanceSuccess: 'instance success',
  mIoU: 'mIoU',
  interactionSuccess: 'interaction success',
  relationSuccess: 'relation success',
  imageSuccess: 'image success',
  styleSuccess: 'style success',
  cleanRate: 'clean rate',
};
const SNAKE: Readonly<Record<PairedMetric, string>> = {
  instanceSuccess: 'instance_success',
  mIoU: 'miou',
  interactionSuccess: 'interaction_success',
  relationSuccess: 'relation_success',
  imageSuccess: 'image_success',
  styleSuccess: 'style_success',
  cleanRate: 'clean_rate',
};

/** The method of the run that is `method`'s target model alone, or null. */
export function targetAlone(method: string, methods: readonly string[]): string | null {
  const target = resolveMethod(method).models[0];
  if (resolveMethod(method).models.length === 1) return null;
  return methods.find((n) => resolveMethod(n).models.length === 1 && resolveMethod(n).models[0] === target) ?? null;
}

/** Paired differences of every method whose target alone is in the run, from the records of each method. */
export function pairedSummaries(
  methods: readonly string[],
  records: ReadonlyMap<string, readonly PairableRecord[]>,
): PairedSummary[] {
  const out: PairedSummary[] = [];
  for (const method of methods) {
    const target = targetAlone(method, methods);
    if (target === null) continue;
    const key = (r: PairableRecord) => `${r.id}-r${r.replicate}`;
    const alone = new Map((records.get(target) ?? []).map((r) => [key(r), r]));
    const pairs: PairedImage[] = [];
    for (const r of records.get(method) ?? []) {
      const t = alone.get(key(r));
      if (t) pairs.push({ prompt: r.id, method: r.evaluation, target: t.evaluation });
    }
    if (pairs.length === 0) continue;
    out.push({
      method,
      label: resolveMethod(method).label,
      target,
      targetLabel: resolveMethod(target).label,
      images: pairs.length,
      prompts: new Set(pairs.map((p) => p.prompt)).size,
      differences: pairedDifferences(pairs),
    });
  }
  return out;
}

/** The paired differences as a markdown table (a line saying so when no method has its target alone in the run). */
export function pairedTable(paired: readonly PairedSummary[]): string {
  if (paired.length === 0) return '(no paired differences: no method has its target model alone in this run)';
  const header = ['method − target alone', 'prompts', 'images', ...PAIRED_METRICS.map((m) => `Δ ${METRIC_HEADERS[m]}`)];
  const rows = paired.map((p) => [
    `${p.label} − ${p.targetLabel}`,
    String(p.prompts),
    String(p.images),
    ...PAIRED_METRICS.map((m) => pm(p.differences[m])),
  ]);
  return markdownTable(header, rows);
}

/** One row per method: each metric's difference and its standard error (prompts as units). */
export function pairedCsv(paired: readonly PairedSummary[]): string {
  const header = [
    'method',
    'target',
    'prompts',
    'images',
    ...PAIRED_METRICS.flatMap((m) => [`d_${SNAKE[m]}`, `d_${SNAKE[m]}_se`]),
  ];
  const rows = paired.map((p) => [
    p.method,
    p.target,
    p.prompts,
    p.images,
    ...PAIRED_METRICS.flatMap((m) => {
      const e = p.differences[m];
      return e ? [e.value, e.se] : [null, null];
    }),
  ]);
  return csvText(header, rows);
}
