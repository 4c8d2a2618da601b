/**
 * `amdm experiment search-shapes`: where, when and how much to merge (windows, weight schedules,
 * spatial maps from the prompt's boxes, the map-restricted deviation step) for layout ←
 * attribute in the Shapes world, searched honestly: successive halving (../../merge-search.ts)
 * over a seeded sample of the option grid (space.ts) plus the paper's point and the map's best
 * cell, on one prompt/noise set (prompt seed 4000 + seed, noise seed seed), the objective
 * instance success (place and colour right) among settings with ≥ 90 % clean images. The best
 * few are then confirmed on fresh prompts and noise by `confirm-shapes` (confirm.ts).
 */
import type { ImageEvaluation } from '../../../toy/shapes/evaluate.ts';
import { makePromptSet } from '../../../toy/shapes/prompts.ts';
import { makeWorld } from '../../../toy/shapes/world.ts';
import {
  MAP_BEST_SETTING,
  PAPER_SETTING,
  mergeSettingAtSteps,
  mergeSettingMethod,
  mergeSettingName,
  type MergeSetting,
} from '../../../toy/shapes/merge-setting.ts';
import { jsonText } from '../../../io/files.ts';
import { csvOfRecords, pm } from '../../../jobs/table.ts';
import { prepareExperimentOutput } from '../../common.ts';
import {
  successiveHalving,
  type HalvingCandidate,
  type HalvingOptions,
  type HalvingRound,
} from '../../merge-search.ts';
import { logOf, type PlanBySize, type ShapesExperiment, type ShapesRunOptions } from '../common.ts';
import { compareInWorkers } from '../pool.ts';
import { PAIR, sampleSettings, searchPlan, type SearchPlan } from './space.ts';

export const experiment: ShapesExperiment<PlanBySize<SearchPlan>, SearchJSON> = {
  title: 'Where, when and how much to merge: successive halving over the merge options',
  plan: () => searchPlan,
  run: runSearchShapes,
};

/** What results.json holds (confirm-shapes reads its `best` and `plan.steps`). */
export interface SearchJSON {
  experiment: 'search-shapes';
  command: string;
  quick: boolean;
  seed: number;
  plan: SearchPlan;
  seconds: number;
  rounds: { budget: number; rows: { name: string; objective: number; se: number; clean: number }[]; kept: string[] }[];
  /** The best settings in rank order (the confirmation runs the first `keepBest`). */
  best: { name: string; setting: MergeSetting }[];
}

/** Runs the search and writes results.json, rounds.csv and table.md. */
export async function runSearchShapes(planOf: PlanBySize<SearchPlan>, o: ShapesRunOptions): Promise<SearchJSON> {
  const log = logOf(o);
  const { quick, seed } = o;
  const output = await prepareExperimentOutput('search-shapes', quick, o.out, [
    'results.json',
    'rounds.csv',
    'table.md',
  ]);
  const plan = planOf(quick);
  const settings = [PAPER_SETTING, MAP_BEST_SETTING, ...sampleSettings(plan.sampled, seed)].map((s) =>
    mergeSettingAtSteps(s, plan.steps),
  );
  const candidates = dedupe(settings.map((s) => ({ name: mergeSettingName(s), setting: s })));
  const started = Date.now();
  const rounds = await successiveHalving({
    candidates,
    budgets: plan.budgets,
    reduction: plan.reduction,
    evaluate: evaluateOnPrompts(plan, o),
    onRound: (r) =>
      log(
        `search: ${r.rows.length} settings on ${r.budget} prompts; best ${r.rows[0].name} ${pm(r.rows[0].objective)}`,
      ),
  });
  const seconds = (Date.now() - started) / 1000;
  const byName = new Map(candidates.map((c) => [c.name, c.setting]));
  const json: SearchJSON = {
    experiment: 'search-shapes',
    command: `npx amdm experiment search-shapes${quick ? ' --quick' : ''}${seed ? ` --seed ${seed}` : ''}`,
    quick,
    seed,
    plan,
    seconds,
    rounds: rounds.map(roundJSON),
    best: rounds
      .at(-1)!
      .kept.slice(0, plan.keepBest)
      .map((name) => ({ name, setting: byName.get(name)! })),
  };
  await output.commit(searchFiles(json));
  log(
    `search: ${candidates.length} settings in ${seconds.toFixed(0)} s; best: ${json.best.map((b) => b.name).join('; ')}`,
  );
  log(`wrote ${output.path}/{results.json,rounds.csv,table.md}`);
  return json;
}

/**
 * The halving's scorer: the candidates on prompts [from, to) of the search's prompt set (seed
 * 4000 + seed), noise seed seed + from, as per-instance successes and per-image clean flags.
 */
function evaluateOnPrompts(plan: SearchPlan, o: ShapesRunOptions): HalvingOptions<MergeSetting>['evaluate'] {
  const prompts = makePromptSet(makeWorld(), { seed: 4000 + o.seed, count: plan.budgets.at(-1)!, withStyle: true });
  return async (cands, from, to) => {
    const total = cands.length * (to - from);
    const label = `search prompts ${from}–${to - 1}`;
    let done = 0;
    const res = await compareInWorkers(
      {
        prompts: prompts.slice(from, to),
        methods: cands.map((c) => mergeSettingMethod(c.setting, PAIR, c.name)),
        samplesPerPrompt: plan.samples,
        steps: plan.steps,
        seed: o.seed + from,
      },
      o.workers ?? 1,
      (m) => o.onProgress?.({ done: ++done, total, label, item: m }),
    );
    return res.map((m) => scoresOf(m.evaluations));
  };
}

/** Per-instance success and per-image clean flags of a method's evaluations, in order. */
function scoresOf(evaluations: readonly ImageEvaluation[]) {
  return {
    values: evaluations.flatMap((e) => e.instances.map((i) => (i.ok ? 1 : 0))),
    guard: evaluations.map((e) => (e.fidelity.clean ? 1 : 0)),
  };
}

function dedupe<S>(cs: HalvingCandidate<S>[]): HalvingCandidate<S>[] {
  return cs.filter((c, i) => cs.findIndex((d) => d.name === c.name) === i);
}

function roundJSON(r: HalvingRound): SearchJSON['rounds'][number] {
  return {
    budget: r.budget,
    rows: r.rows.map((x) => ({ name: x.name, objective: x.objective.value, se: x.objective.se, clean: x.guard })),
    kept: r.kept,
  };
}

/** results.json, rounds.csv (every round's rows) and table.md. */
function searchFiles(json: SearchJSON): Map<string, string> {
  const rounds = json.rounds.flatMap((r, i) => r.rows.map((x) => ({ round: i + 1, prompts: r.budget, ...x })));
  return new Map([
    ['results.json', jsonText(json)],
    ['rounds.csv', csvOfRecords(rounds)],
    ['table.md', searchTable(json)],
  ]);
}

function searchTable(j: SearchJSON): string {
  const lines = [`# search-shapes (\`${j.command}\`, ${j.seconds.toFixed(0)} s)`, ''];
  j.rounds.forEach((r, i) => {
    lines.push(`## round ${i + 1}: ${r.rows.length} settings on ${r.budget} prompts × ${j.plan.samples} samples`, '');
    lines.push('| setting | instance success | clean images | kept |', '| --- | ---: | ---: | :---: |');
    for (const x of r.rows)
      lines.push(
        `| ${x.name} | ${pm({ value: x.objective, se: x.se })} | ${x.clean.toFixed(2)} | ${r.kept.includes(x.name) ? '✓' : ''} |`,
      );
    lines.push('');
  });
  return lines.join('\n');
}
