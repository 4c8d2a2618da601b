/**
 * The Table 6 analog: AMDM against compositional baselines on the 2-D composition worlds with
 * exact targets (src/compose/worlds2d.ts). Each method (methods.ts) runs on each world once per
 * seed; the metrics are summarized as mean ± std over seeds. bench/compose-2d.ts is its command
 * line: it parses the flags into a plan, prints the table and writes the JSON.
 */
import { meanStd, world2d, WORLD_NAMES, type WorldName } from '../../compose/index.ts';
import { markdownTable } from '../../jobs/table.ts';
import type { Experiment, ExperimentRunOptions } from '../types.ts';
import { METHODS, METRICS, runMethod, type Method, type MethodRun } from './methods.ts';

/** Which worlds and methods run, with how many particles, seeds and sampling steps. */
export interface Compose2dPlan {
  particles: number;
  seeds: number;
  steps: number;
  worlds: WorldName[];
  methods: Method[];
}

/** The full run (1000 particles, 5 seeds, T = 100, every world) or the quick one (200, 2, 40, two worlds). */
export function compose2dPlan(quick: boolean): Compose2dPlan {
  return {
    particles: quick ? 200 : 1000,
    seeds: quick ? 2 : 5,
    steps: quick ? 40 : 100,
    worlds: quick ? ['up-down', 'factorized'] : [...WORLD_NAMES],
    methods: [...METHODS],
  };
}

/** One method on one world: every seed's run and their mean ± std. */
export interface Compose2dResult {
  world: string;
  kind: string;
  method: string;
  seeds: MethodRun[];
  summary: Record<string, { mean: number; std: number }>;
}

/**
 * The experiment: seed s of the plan's seeds draws with seed `o.seed` + s + 1. It writes no
 * folder (`o.out` is unused): its command prints the table and writes the JSON where asked.
 */
export const experiment: Experiment<Compose2dPlan, Compose2dResult[]> = {
  title: 'AMDM against compositional baselines on the 2-D worlds with exact targets (Table 6 analog)',
  plan: () => compose2dPlan(false),
  run: runCompose2d,
};

/** Runs every method on every world of the plan; reports one unit per (world, method). */
export async function runCompose2d(plan: Compose2dPlan, o: ExperimentRunOptions): Promise<Compose2dResult[]> {
  const results: Compose2dResult[] = [];
  const total = plan.worlds.length * plan.methods.length;
  for (const name of plan.worlds) {
    const world = world2d(name);
    for (const method of plan.methods) {
      const seeds: MethodRun[] = [];
      for (let s = 0; s < plan.seeds; s++)
        seeds.push(
          await runMethod(world, method, { particles: plan.particles, steps: plan.steps, seed: o.seed + s + 1 }),
        );
      results.push({ world: name, kind: world.kind, method, seeds, summary: summaryOf(seeds) });
      o.onProgress?.({ done: results.length, total, label: name, item: method });
    }
  }
  return results;
}

/** Mean ± std over seeds of every metric (and of the MCMC acceptance where there is one). */
function summaryOf(seeds: readonly MethodRun[]): Record<string, { mean: number; std: number }> {
  const summary: Record<string, { mean: number; std: number }> = {};
  for (const m of METRICS) {
    const { mean, std } = meanStd(seeds.map((r) => r[m]));
    summary[m] = { mean, std };
  }
  const acc = seeds.map((r) => r.acceptance).filter((a): a is number => a !== undefined);
  if (acc.length) summary.acceptance = meanStd(acc);
  return summary;
}

/** The markdown table: per world and method, each metric's mean ± std, the calls and the milliseconds. */
export function compose2dTable(results: readonly Compose2dResult[]): string {
  const fmt = (v: { mean: number; std: number }, digits: number) =>
    `${v.mean.toFixed(digits)} ± ${v.std.toFixed(digits)}`;
  const header = ['world', 'method', 'LL ↑', 'ln MMD² ↓', 'Var ↓', 'mode TV ↓', 'sliced W2 ↓', 'calls', 'ms'];
  const rows = results.map(({ world, method, summary: s }) => [
    world,
    method,
    fmt(s.ll, 2),
    fmt(s.lnMmd2, 2),
    fmt(s.var, 3),
    fmt(s.modeTV, 3),
    fmt(s.slicedW2, 3),
    s.calls.mean.toFixed(0),
    s.ms.mean.toFixed(0),
  ]);
  return markdownTable(header, rows, { textColumns: header.length });
}
