/**
 * The world-agnostic parts of the merge search (`amdm experiment search-shapes` /
 * `confirm-shapes`; the mini-zoo can call the same functions with its own evaluator):
 * - successive halving (Jamieson & Talwalkar 2016; Li et al.'s Hyperband without the brackets):
 *   every candidate is scored on the first units (prompts) of *one* prompt/noise set, the best
 *   1/reduction are kept and scored on the next units of the same set, and so on; each round's
 *   units are a prefix of the next, so a candidate's paired score vector only grows;
 * - paired differences and their standard errors (the same units, so the noise shared by two
 *   settings cancels);
 * - the Pareto frontier of two rates (both higher is better).
 */
import { meanEstimate, type Estimate } from '../toy/shapes/evaluate.ts';
import { checkInt, checkNumber } from '../core/validate.ts';

export interface HalvingCandidate<S> {
  readonly name: string;
  readonly setting: S;
}

/** A candidate's scores on a range of units: per-item objective values (paired) and per-item guard values. */
export interface UnitScores {
  /** The objective, one value per scored item (e.g. 1/0 per instance), in unit order. */
  readonly values: readonly number[];
  /** The guard, one value per image (e.g. 1/0 clean): a candidate below `guardMin` is ranked last. */
  readonly guard: readonly number[];
}

export interface HalvingOptions<S> {
  candidates: readonly HalvingCandidate<S>[];
  /** Units scored by the end of each round, strictly increasing (round r scores units budgets[r−1] … budgets[r] − 1). */
  budgets: readonly number[];
  /** After each round but the last, keep ⌈n / reduction⌉ candidates. */
  reduction: number;
  /** Scores `candidates` on units [from, to), one entry per candidate in order. */
  evaluate(candidates: readonly HalvingCandidate<S>[], from: number, to: number): Promise<UnitScores[]>;
  /** Lowest admissible mean guard (default 0.9). */
  guardMin?: number;
  onRound?: (round: HalvingRound) => void;
}

export interface HalvingRow {
  name: string;
  objective: Estimate;
  guard: number;
  admissible: boolean;
  /** The paired objective vector so far (units 0 … budget − 1). */
  values: number[];
}

export interface HalvingRound {
  /** Units scored so far. */
  budget: number;
  /** Candidates of the round, ranked (admissible first, then by objective, then input order). */
  rows: HalvingRow[];
  /** Names kept for the next round (after the last round: the ranking's order). */
  kept: string[];
}

/** Runs successive halving; returns every round (the last round's rows are the final ranking). */
export async function successiveHalving<S>(o: HalvingOptions<S>): Promise<HalvingRound[]> {
  if (!Array.isArray(o.candidates) || o.candidates.length < 1)
    throw new RangeError('candidates must hold at least one candidate');
  if (!Array.isArray(o.budgets) || o.budgets.length < 1) throw new RangeError('budgets must hold at least one round');
  o.budgets.forEach((b, r) => checkInt(`budgets[${r}]`, b, r === 0 ? 1 : o.budgets[r - 1] + 1));
  const reduction = checkNumber('reduction', o.reduction, 1, Infinity, { minExclusive: true });
  const guardMin = checkNumber('guardMin', o.guardMin ?? 0.9, 0, 1);
  const acc = new Map(o.candidates.map((c) => [c.name, { values: [] as number[], guard: [] as number[] }]));
  if (acc.size !== o.candidates.length) throw new RangeError('candidate names must be unique');
  let alive = [...o.candidates];
  const rounds: HalvingRound[] = [];
  for (let r = 0; r < o.budgets.length; r++) {
    const from = r === 0 ? 0 : o.budgets[r - 1],
      to = o.budgets[r];
    const scores = await o.evaluate(alive, from, to);
    alive.forEach((c, i) => {
      const a = acc.get(c.name)!;
      a.values.push(...scores[i].values);
      a.guard.push(...scores[i].guard);
    });
    const rows = rankRows(
      alive.map((c) => rowOf(c.name, acc.get(c.name)!, guardMin)),
      alive.map((c) => c.name),
    );
    const last = r === o.budgets.length - 1;
    const kept = last ? rows.map((x) => x.name) : rows.slice(0, Math.ceil(rows.length / reduction)).map((x) => x.name);
    const round = { budget: to, rows, kept };
    rounds.push(round);
    o.onRound?.(round);
    alive = alive.filter((c) => kept.includes(c.name));
  }
  return rounds;
}

function rowOf(name: string, a: { values: number[]; guard: number[] }, guardMin: number): HalvingRow {
  const guard = a.guard.reduce((x, y) => x + y, 0) / Math.max(1, a.guard.length);
  return { name, objective: meanEstimate(a.values), guard, admissible: guard >= guardMin, values: [...a.values] };
}

/** Admissible first, then the higher objective, then the earlier candidate. */
function rankRows(rows: HalvingRow[], order: readonly string[]): HalvingRow[] {
  return [...rows].sort(
    (a, b) =>
      Number(b.admissible) - Number(a.admissible) ||
      b.objective.value - a.objective.value ||
      order.indexOf(a.name) - order.indexOf(b.name),
  );
}

/** Mean and standard error of the paired differences a − b (equal-length vectors of the same items). */
export function pairedDiff(a: readonly number[], b: readonly number[]): Estimate {
  if (a.length !== b.length || a.length === 0)
    throw new RangeError(`paired vectors must score the same items (${a.length} vs ${b.length})`);
  return meanEstimate(a.map((v, i) => v - b[i]));
}

/** The points not dominated by another (≥ on both axes and > on one), in order of the first axis. */
export function paretoFrontier<P>(points: readonly P[], x: (p: P) => number, y: (p: P) => number): P[] {
  const front = points.filter(
    (p) => !points.some((q) => q !== p && x(q) >= x(p) && y(q) >= y(p) && (x(q) > x(p) || y(q) > y(p))),
  );
  return front.sort((a, b) => x(a) - x(b));
}
