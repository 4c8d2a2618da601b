/**
 * `amdm zoo search`: where, when and how much to merge MIGC-mini (attributes) into
 * InteractDiffusion-mini (interactions) on the learned mini-zoo, searched by successive halving
 * (cli/merge-search.ts, reduction 3) over a seeded sample of the option grid
 * (search-settings.ts) plus the paper's point and the zoo map's two cells, on one prompt/noise
 * set: round r scores the settings still in the race on its own level-balanced prompts (prompt
 * seed 3000 + 10·seed + r, noise seed 300 + 10·seed + r, one image per prompt), so each setting's
 * scores only grow and every setting of a round is scored on the same prompts and noise.
 *
 * The objective is the strict evaluator's relation success (a relation's mark, subject and
 * object all right; values 1/0 per relation), among settings with ≥ 80 % clean images. Relations
 * right are rare (experiment 8 rerun: 0–1 in 45), so most settings tie at 0 on a round's few
 * prompts; ties are broken by the relation success expected if the mark and the two instances
 * were independent, interaction success × instance success², which every image informs: each
 * relation's value is 1/0 + 10⁻³ × that product over the round (it never outweighs one relation
 * right). Image success (every instance and relation right) is reported, not ranked on: it is
 * rarer still and needs every relation right.
 */
import os from 'node:os';
import path from 'node:path';
import { seededSample } from '../search-common.ts';
import { summarizeScenes, type SceneEvaluation } from '../../toy/minimig/index.ts';
import { successiveHalving, type HalvingCandidate, type HalvingRound, type UnitScores } from '../merge-search.ts';
import { experimentFolder, prepareExperimentOutput } from '../common.ts';
import { jsonText } from '../../io/files.ts';
import { csvOfRecords } from '../../jobs/table.ts';
import { runPromptSet } from './search-runs.ts';
import { searchTable, summaryColumns, type SearchJSON, type SearchRow } from './search-report.ts';
import {
  ZOO_MAP_BEST_SETTING,
  ZOO_MAP_MIDDLE_SETTING,
  ZOO_PAPER_SETTING,
  zooSearchSpace,
  zooSettingLabel,
  zooSearchPlan,
  zooSettingMethod,
  type ZooMergeSetting,
  type ZooSearchPlan,
} from './search-settings.ts';

/** Seeds of the search's prompt sets and noise (round r: + 10·seed + r); the confirmation's are elsewhere (confirm.ts). */
export const SEARCH_PROMPT_SEED = 3000;
export const SEARCH_NOISE_SEED = 300;

export interface ZooSearchOptions {
  /** The small smoke version (few prompts and steps). */
  quick?: boolean;
  /** Output folder (default experiments/out/search-zoo; quick: amdm-out/experiments/search-zoo). */
  out?: string;
  seed?: number;
  progress?: boolean;
  log?: (line: string) => void;
  zoo?: string;
  workers?: number;
  threads?: number;
  /** The rounds' run folders (resumable; default out/search-zoo-runs, quick amdm-out/search-zoo-runs). */
  runs?: string;
}

/** `count` settings of the grid, drawn without replacement by a seeded shuffle. */
export function sampleZooSettings(count: number, seed: number): ZooMergeSetting[] {
  return seededSample(zooSearchSpace(), count, seed, 14);
}

/** The race's candidates: the paper's point, the map's best and middle cells, then the sample; unique by method. */
export function zooSearchCandidates(plan: ZooSearchPlan, seed: number): HalvingCandidate<ZooMergeSetting>[] {
  const settings = [
    ZOO_PAPER_SETTING,
    ZOO_MAP_BEST_SETTING,
    ZOO_MAP_MIDDLE_SETTING,
    ...sampleZooSettings(plan.sampled, seed),
  ];
  const cands = settings.map((s) => ({ name: zooSettingMethod(s, plan.steps), setting: s }));
  return cands.filter((c, i) => cands.findIndex((d) => d.name === c.name) === i);
}

/** Tie-break weight of the independence product (see the header): below one relation right in any round. */
const TIE_BREAK = 1e-3;

/** Per-relation values (1/0 + the tie-break) and per-image clean flags of one setting's images of a round. */
export function roundScores(evaluations: readonly SceneEvaluation[]): UnitScores {
  const o = summarizeScenes(evaluations).overall;
  const product = (o.interactionSuccess?.value ?? 0) * o.instanceSuccess.value ** 2;
  return {
    values: evaluations.flatMap((e) => e.relations.map((r) => (r.joint ? 1 : 0) + TIE_BREAK * product)),
    guard: evaluations.map((e) => (e.clean.ok ? 1 : 0)),
  };
}

/** What one round of the race needs besides its candidates and prompt range. */
interface RoundContext {
  cands: readonly HalvingCandidate<ZooMergeSetting>[];
  from: number;
  to: number;
  plan: ZooSearchPlan;
  seed: number;
  runs: string;
  o: ZooSearchOptions;
  log: (line: string) => void;
  /** Each round's prompt set, appended. */
  roundSets: SearchJSON['rounds'][number]['set'][];
  /** Each setting's evaluations so far, appended. */
  seen: Map<string, SceneEvaluation[]>;
}

/** One round: the candidates' images on the round's own prompts and noise (resumable records), scored. */
async function evaluateRound(c: RoundContext): Promise<UnitScores[]> {
  const { cands, from, to, plan, seed, o } = c;
  const r = plan.budgets.indexOf(to);
  const set = {
    promptSeed: SEARCH_PROMPT_SEED + 10 * seed + r,
    noiseSeed: SEARCH_NOISE_SEED + 10 * seed + r,
    perLevel: (to - from) / 3,
  };
  c.roundSets.push(set);
  const t0 = Date.now();
  const recs = await runPromptSet(
    cands.map((x) => x.name),
    {
      zoo: o.zoo ?? 'models/mini-zoo',
      steps: plan.steps,
      out: path.join(c.runs, `search-seed${seed}-round${r + 1}`),
      workers: o.workers,
      threads: o.threads,
      ...set,
    },
  );
  c.log(
    `round ${r + 1}: ${cands.length} settings × ${to - from} prompts in ${((Date.now() - t0) / 1000).toFixed(0)} s`,
  );
  return cands.map((x) => {
    const evals = recs.get(x.name)!.map((y) => y.evaluation);
    c.seen.get(x.name)!.push(...evals);
    return roundScores(evals);
  });
}

/** The search's results.json: the plan, each round's rows (a setting's images so far) and the best kept. */
function searchJson(r: {
  o: ZooSearchOptions;
  plan: ZooSearchPlan;
  candidates: readonly HalvingCandidate<ZooMergeSetting>[];
  rounds: readonly HalvingRound[];
  roundSets: SearchJSON['rounds'][number]['set'][];
  seen: ReadonlyMap<string, SceneEvaluation[]>;
  seconds: number;
  load: number[];
}): SearchJSON {
  const { o, plan, rounds } = r;
  const quick = o.quick ?? false;
  const seed = o.seed ?? 0;
  const byName = new Map(r.candidates.map((c) => [c.name, c.setting]));
  const rowOf = (name: string, kept: boolean, evals: SceneEvaluation[]): SearchRow => ({
    method: name,
    label: zooSettingLabel(byName.get(name)!),
    ...summaryColumns(evals),
    kept,
  });
  return {
    experiment: 'zoo search',
    command: `npx amdm zoo search${quick ? ' --quick' : ''}${o.seed ? ` --seed ${seed}` : ''}`,
    quick,
    seed,
    plan,
    seconds: r.seconds,
    loadAverage: r.load,
    rounds: rounds.map((round, i) => ({
      budget: round.budget,
      set: r.roundSets[i],
      // each setting's images so far (the first round.budget prompts of the race)
      // kept: on to the next round, or (last round) on to the confirmation
      rows: round.rows.map((x) => {
        const kept = i < rounds.length - 1 ? round.kept : round.kept.slice(0, plan.keepBest);
        return rowOf(x.name, kept.includes(x.name), r.seen.get(x.name)!.slice(0, round.budget));
      }),
    })),
    best: rounds
      .at(-1)!
      .kept.slice(0, plan.keepBest)
      .map((name) => ({ method: name, label: zooSettingLabel(byName.get(name)!), setting: byName.get(name)! })),
  };
}

export async function runZooSearch(o: ZooSearchOptions = {}): Promise<SearchJSON> {
  const log = o.log ?? ((l: string) => console.log(l));
  const quick = o.quick ?? false;
  const seed = o.seed ?? 0;
  const output = await prepareExperimentOutput('search-zoo', quick, o.out ?? experimentFolder('search-zoo', quick), [
    'results.json',
    'rounds.csv',
    'table.md',
  ]);
  const plan = zooSearchPlan(quick);
  const runs = path.resolve(o.runs ?? path.join(quick ? 'amdm-out' : 'out', 'search-zoo-runs'));
  const candidates = zooSearchCandidates(plan, seed);
  const seen = new Map<string, SceneEvaluation[]>(candidates.map((c) => [c.name, []]));
  const roundSets: SearchJSON['rounds'][number]['set'][] = [];
  const started = Date.now();
  const load = [os.loadavg()[0]];
  const rounds = await successiveHalving({
    candidates,
    budgets: plan.budgets,
    reduction: plan.reduction,
    guardMin: plan.guardMin,
    evaluate: (cands, from, to) => evaluateRound({ cands, from, to, plan, seed, runs, o, log, roundSets, seen }),
  });
  load.push(os.loadavg()[0]);
  const seconds = (Date.now() - started) / 1000;
  const json = searchJson({ o, plan, candidates, rounds, roundSets, seen, seconds, load });
  await output.commit(
    new Map([
      ['results.json', jsonText(json)],
      [
        'rounds.csv',
        csvOfRecords(json.rounds.flatMap((r, i) => r.rows.map((x) => ({ round: i + 1, prompts: r.budget, ...x })))),
      ],
      ['table.md', searchTable(json)],
    ]),
  );
  log(
    `search: ${candidates.length} settings in ${seconds.toFixed(0)} s; best: ${json.best.map((b) => b.label).join('; ')}`,
  );
  log(`wrote ${output.path}/{results.json,rounds.csv,table.md}`);
  return json;
}
