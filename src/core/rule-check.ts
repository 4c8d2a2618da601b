/**
 * Checks a user-written aggregation rule before a sampler runs it (DESIGN "Semantics",
 * AggregationRule): a rule that fails here would give a wrong or NaN sample many steps later.
 *
 * On seeded inputs (two Gaussian samples per call, of unequal norms, at a non-trivial angle):
 * 1. endpoints of eq. 8's weight convention: a pairwise rule gives a at w = 0 and b at w = 1;
 *    a symmetric rule gives xs[k] for the one-hot weight of k;
 * 2. every output element is written and finite at w ∈ {0, ¼, ½, ¾, 1} (out is filled with NaN
 *    first, so an element the rule skips is caught);
 * 3. the result is the same when `out` aliases xs[0], as the sampler's fold does.
 * A rule that throws is reported with its own message. All errors are RangeErrors that name the
 * rule and the check that failed.
 */
import type { AggregationRule } from './types.ts';
import { defineRule, type RuleDefinition } from './rules.ts';
import { gaussianRng } from './rng.ts';
import { checkInt, checkNumber, describe } from './validate.ts';

export interface RuleCheckOptions {
  /** Elements per sample of the test inputs (default 48). */
  dim?: number;
  /** Largest allowed |out − expected| at the endpoints, relative to the expected norm (default 1e-5). */
  tolerance?: number;
  /** Seed of the test inputs (default 0). */
  seed?: number;
}

const BATCH = 2;
const INNER_WEIGHTS = [0.25, 0.5, 0.75];

/**
 * Throws a RangeError naming the first check `rule` fails; returns the rule when it passes. A
 * definition ({ name, sample, symmetric? }) is made into its rule by `defineRule` first, so the
 * checks run through the batch loop and argument checks the sampler will call.
 */
export function checkAggregationRule(
  rule: AggregationRule | RuleDefinition,
  opts: RuleCheckOptions = {},
): AggregationRule {
  return checkRule(rule !== null && typeof rule === 'object' ? defineRule(rule) : rule, opts);
}

/** What the checks run a rule on: the rule and its name in errors, the sample size, the tolerance, and the inputs a and b. */
interface Probe {
  readonly rule: AggregationRule;
  readonly name: string;
  readonly dim: number;
  readonly tol: number;
  readonly a: Float32Array;
  readonly b: Float32Array;
}

function checkRule(rule: AggregationRule, opts: RuleCheckOptions): AggregationRule {
  if (typeof rule !== 'function')
    throw new TypeError(`rule must be a function (xs, weights, out, dim) => out, got ${describe(rule)}`);
  const dim = checkInt('opts.dim', opts.dim ?? 48, 2, 1 << 20);
  const tol = checkNumber('opts.tolerance', opts.tolerance ?? 1e-5, 0, 1);
  const seed = checkInt('opts.seed', opts.seed ?? 0, 0);
  const name = `rule '${rule.ruleName ?? (rule.name || 'anonymous')}'`;
  const rng = gaussianRng(seed);
  const a = new Float32Array(BATCH * dim);
  const b = new Float32Array(BATCH * dim);
  rng.fillNormal(a);
  rng.fillNormal(b);
  for (let i = 0; i < b.length; i++) b[i] = 2 * b[i] + 0.5 * a[i]; // unequal norms, an angle well below π
  const p: Probe = { rule, name, dim, tol, a, b };
  if (rule.symmetric) {
    expectEqual(p, run(p, [1, 0], fresh(p), 'at weights [1, 0]'), a, 'at weights [1, 0]', 'xs[0]');
    expectEqual(p, run(p, [0, 1], fresh(p), 'at weights [0, 1]'), b, 'at weights [0, 1]', 'xs[1]');
    for (const w of INNER_WEIGHTS) checkAlias(p, [1 - w, w], `at weights [${1 - w}, ${w}]`);
  } else {
    expectEqual(p, run(p, [0], fresh(p), 'at w = 0'), a, 'at w = 0', 'a (the target keeps its proposal)');
    expectEqual(p, run(p, [1], fresh(p), 'at w = 1'), b, 'at w = 1', 'b (the other model’s proposal)');
    for (const w of INNER_WEIGHTS) checkAlias(p, [w], `at w = ${w}`);
  }
  return rule;
}

/** An output buffer of NaN, so that an element the rule leaves unwritten shows. */
function fresh(p: Probe): Float32Array {
  return new Float32Array(BATCH * p.dim).fill(NaN);
}

/** The rule on copies of [a, b] into `out`: it must return `out`, filled with finite values. */
function run(p: Probe, weights: number[], out: Float32Array, where: string): Float32Array {
  const { rule, name, dim } = p;
  const xs = [p.a.slice(), p.b.slice()];
  let res: unknown;
  try {
    res = rule(xs, weights, out, dim);
  } catch (e) {
    throw new RangeError(`${name} threw ${where}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (res !== out)
    throw new RangeError(`${name} must write into out and return it ${where}, returned ${describe(res)}`);
  for (let i = 0; i < out.length; i++) {
    if (!Number.isFinite(out[i])) {
      throw new RangeError(
        `${name} must write a finite value to every element of out ${where}, got ${out[i]} at index ${i} (sample ${Math.floor(i / dim)})`,
      );
    }
  }
  return out;
}

/** `got` equals `want` per sample within the tolerance (relative to ‖want‖, at least absolute). */
function expectEqual(p: Probe, got: Float32Array, want: Float32Array, where: string, label: string): void {
  const { dim, tol, name } = p;
  for (let s = 0; s < BATCH; s++) {
    let err = 0,
      nn = 0;
    for (let i = s * dim; i < (s + 1) * dim; i++) {
      err = Math.max(err, Math.abs(got[i] - want[i]));
      nn += want[i] * want[i];
    }
    const allowed = tol * Math.max(1, Math.sqrt(nn));
    if (err > allowed) {
      throw new RangeError(
        `${name} must return ${label} ${where}, but sample ${s} differs by up to ${err.toPrecision(3)} (allowed ${allowed.toPrecision(3)})`,
      );
    }
  }
}

/** The rule gives the same result, bit for bit, when out is xs[0] (the sampler merges in place). */
function checkAlias(p: Probe, weights: number[], where: string): void {
  const separate = run(p, weights, fresh(p), where);
  const aliased = p.a.slice();
  const saved = p.a.slice();
  const res = runAliased(p, weights, aliased, where);
  p.a.set(saved);
  for (let i = 0; i < separate.length; i++) {
    if (res[i] !== separate[i]) {
      throw new RangeError(
        `${p.name} must give the same result when out is xs[0] (the sampler merges in place) ${where}, got ${res[i]} instead of ${separate[i]} at index ${i}; read a[i] and b[i] before writing out[i]`,
      );
    }
  }
}

function runAliased(p: Probe, weights: number[], buf: Float32Array, where: string): Float32Array {
  let res: unknown;
  try {
    res = p.rule([buf, p.b.slice()], weights, buf, p.dim);
  } catch (e) {
    throw new RangeError(`${p.name} threw ${where} with out = xs[0]: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (res !== buf)
    throw new RangeError(`${p.name} must write into out and return it ${where}, returned ${describe(res)}`);
  return buf;
}
