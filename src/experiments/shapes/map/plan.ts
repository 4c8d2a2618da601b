/**
 * The grids of `amdm experiment map` (run.ts): the plan of each stage, every cell of a
 * grid, the best cell's neighbours, and which row counts as the best (clean-image rate ≥ CLEAN_MIN).
 */
import { ETA_SCALE_LABELS, type EtaScaleLabel, type MapCell } from '../../../toy/shapes/map-cell.ts';
import type { ExperimentRow } from '../../common.ts';

export interface MapGrid {
  steps: number;
  rules: MapCell['rule'][];
  w: number[];
  s: number[];
  /** η values per scale; η = 0 is added once as the 'none' column. */
  eta: Record<Exclude<EtaScaleLabel, 'none'>, number[]>;
}

export interface MapPlan {
  pair: MapGrid;
  three: MapGrid;
  coarse: { prompts: number; samples: number };
  fine: { prompts: number; samples: number };
  /** The paper's point (w = 0.5, η = 0.3·√d, s = 20 of 50, slerp) at this plan's T. */
  paper: MapCell;
}

/** A cell is eligible as "best" only when at least this share of its images is clean. */
export const CLEAN_MIN = 0.9;

export function mapPlan(quick: boolean): MapPlan {
  if (quick) {
    return {
      pair: {
        steps: 10,
        rules: ['slerp', 'lerp'],
        w: [0.5, 0.9],
        s: [2, 4],
        eta: { absolute: [1], sqrtDim: [0.1], relative: [0.3] },
      },
      three: { steps: 10, rules: ['slerp'], w: [0.5], s: [4], eta: { absolute: [], sqrtDim: [0.3], relative: [0.3] } },
      coarse: { prompts: 2, samples: 2 },
      fine: { prompts: 3, samples: 2 },
      paper: { rule: 'slerp', w: 0.5, s: 4, scale: 'sqrtDim', eta: 0.3 },
    };
  }
  return {
    // absolute 0.3, 1 and 0.03 … 0.3·√d (√d ≈ 27.7 at d = 768) cover step lengths from 0.3 to
    // 8.3 — far below the paper's 0.3·√d up to it; λ covers the relative step
    pair: {
      steps: 50,
      rules: ['slerp', 'lerp'],
      w: [0.3, 0.5, 0.7, 0.9],
      s: [10, 20, 30, 40],
      eta: { absolute: [0.3, 1], sqrtDim: [0.03, 0.1, 0.3], relative: [0.1, 0.3, 0.6] },
    },
    three: {
      steps: 50,
      rules: ['slerp', 'lerp'],
      w: [0.5, 0.9],
      s: [20, 30],
      eta: { absolute: [1], sqrtDim: [0.1, 0.3], relative: [0.3] },
    },
    // sized for ≈ 15 min of one core: the coarse grid only locates the region (paired cells, but
    // ≈ 24 instances each); the fine run carries the reported numbers (SE < 0.03)
    coarse: { prompts: 6, samples: 2 },
    fine: { prompts: 30, samples: 6 },
    paper: { rule: 'slerp', w: 0.5, s: 20, scale: 'sqrtDim', eta: 0.3 },
  };
}

/** Every cell of a grid: rule × w × s × (η = 0, then each scale's η values). */
export function gridCells(g: MapGrid): MapCell[] {
  const etas: [EtaScaleLabel, number][] = [
    ['none', 0],
    ...ETA_SCALE_LABELS.flatMap((scale) =>
      g.eta[scale as Exclude<EtaScaleLabel, 'none'>].map((e): [EtaScaleLabel, number] => [scale, e]),
    ),
  ];
  return g.rules.flatMap((rule) =>
    g.w.flatMap((w) => g.s.flatMap((s) => etas.map(([scale, eta]) => ({ rule, w, s, scale, eta })))),
  );
}

const sameCell = (a: MapCell, b: MapCell) =>
  a.rule === b.rule && a.w === b.w && a.s === b.s && a.scale === b.scale && a.eta === b.eta;

/**
 * The best cell's neighbours: one step along w, s and η (within its scale; below the smallest η
 * lies η = 0, whose neighbours are every scale's smallest η), and the same cell with each other
 * rule.
 */
export function neighbours(best: MapCell, g: MapGrid): MapCell[] {
  const out: MapCell[] = [];
  const step = <T>(xs: readonly T[], v: T): T[] => {
    const i = xs.indexOf(v);
    return [xs[i - 1], xs[i + 1]].filter((x): x is T => x !== undefined);
  };
  for (const w of step(g.w, best.w)) out.push({ ...best, w });
  for (const s of step(g.s, best.s)) out.push({ ...best, s });
  if (best.scale === 'none') {
    for (const scale of ETA_SCALE_LABELS) {
      const first = g.eta[scale as Exclude<EtaScaleLabel, 'none'>][0];
      if (first !== undefined) out.push({ ...best, scale, eta: first });
    }
  } else {
    const list = [0, ...g.eta[best.scale]];
    for (const e of step(list, best.eta)) out.push(e === 0 ? { ...best, scale: 'none', eta: 0 } : { ...best, eta: e });
  }
  for (const rule of g.rules) if (rule !== best.rule) out.push({ ...best, rule });
  return out;
}

/** A row of a map table: the cell (empty for an expert alone), its rates, calls. */
export interface MapRow extends ExperimentRow {
  method: string;
}

/** Picks the best eligible row (highest instance success, then fewer calls); null when none is. */
export function bestRow<R extends ExperimentRow>(rows: readonly R[]): R | null {
  let best: R | null = null;
  for (const r of rows) {
    if (r.rule === '' || Number(r.cleanImages) < CLEAN_MIN) continue;
    if (
      !best ||
      Number(r.instanceSuccess) > Number(best.instanceSuccess) ||
      (r.instanceSuccess === best.instanceSuccess && Number(r.calls) < Number(best.calls))
    )
      best = r;
  }
  return best;
}

export const cellOf = (r: ExperimentRow): MapCell => ({
  rule: r.rule as MapCell['rule'],
  w: Number(r.w),
  s: Number(r.s),
  scale: r.scale as EtaScaleLabel,
  eta: Number(r.eta),
});

/**
 * The fine stage's cells, each once: the best coarse cell and its neighbours, the best coarse
 * cell of each η scale, the paper's point and η = 0 at the best's (rule, w, s).
 */
export function fineCells(coarse: readonly ExperimentRow[], best: MapCell, plan: MapPlan): MapCell[] {
  const out: MapCell[] = [];
  const add = (c: MapCell) => {
    if (!out.some((f) => sameCell(f, c))) out.push(c);
  };
  [best, ...neighbours(best, plan.pair)].forEach(add);
  for (const scale of ETA_SCALE_LABELS) {
    const b = bestRow(coarse.filter((r) => r.scale === scale));
    if (b) add(cellOf(b));
  }
  add(plan.paper);
  add({ ...best, scale: 'none', eta: 0 });
  return out;
}
