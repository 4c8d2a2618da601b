/**
 * Table 6 analog: AMDM vs compositional baselines on the 2-D composition worlds with exact
 * targets (src/compose/worlds2d.ts).
 *
 *   npx tsx bench/compose-2d.ts [--quick] [--particles N] [--seeds S] [--steps T]
 *                               [--worlds a,b] [--methods a,b] [--json file]
 *
 * Methods: exact (target samples, the floor of every metric), oracle (DDPM with the exact
 * target's own ε: the floor of any T-step diffusion sampler), expert0 (DDIM of the first
 * expert alone), amdm-half / amdm-all (sampleAMDM over the experts, first expert the target,
 * slerp, w = 0.5, η = 0.3·√d, aggregating the first T/2 or all T steps, one initial draw per
 * model as in Algorithm 1), amdm-shared (as amdm-all, all models from one initial draw),
 * amdm-eta0 (as amdm-shared without deviation optimization, η = 0), reverse (DDPM with the
 * composed ε: the sum of scores for products — Du 2023 without correction —, Bradley's
 * projective ε for projective worlds, the exact mixture ε for the mixture world), du-ula /
 * du-mala / du-uhmc / du-hmc (reverse + 10 MCMC steps per level, 2-D notebook step sizes),
 * fkc (Skreta 2025, b = 1, systematic resampling every step), smc (exact-energy SMC, ESS gate).
 *
 * Schedule: DDPM linear β ∈ [1e-4, 0.02], 1000 training steps, ᾱ = 1 after the last step,
 * T sampling steps with trailing spacing (default 100). Metrics against a fresh exact sample
 * of the same size: LL (mean log-density under the exact target, ↑), ln MMD² (biased RBF mix,
 * σ ∈ {0.01, 0.1, 1, 10, 100}, ↓), Var = ‖Cov(samples) − Cov(target)‖_F (↓), mode TV
 * (½Σ|p̂ₖ − πₖ|, ↓), sliced W2 (64 directions, ↓); mean ± std over seeds. "calls" counts
 * batched model evaluations (ε and log-density), "ms" the wall time of sampling.
 * Writes a markdown table to stdout, and the JSON to --json (or after the table).
 */
import { writeFileAtomic } from '../src/io/files.ts';
import { markdownTable } from '../src/jobs/table.ts';
import { makeSchedule } from '../src/core/schedule.ts';
import { gaussianRng } from '../src/core/rng.ts';
import { sampleAMDM } from '../src/core/sampler.ts';
import { AMDM_DEFAULTS } from '../src/core/defaults.ts';
import {
  covarianceError,
  fullMixtureDenoiser,
  lnMmd2,
  meanLogLikelihood,
  meanStd,
  modeWeightError,
  sampleFKC,
  sampleMixture,
  sampleReverse,
  sampleSMC,
  slicedW2,
  world2d,
  WORLD_NAMES,
  type CompositionWorld,
  type MCMCKind,
  type WorldName,
} from '../src/compose/index.ts';

const METHODS = [
  'exact',
  'oracle',
  'expert0',
  'amdm-half',
  'amdm-all',
  'amdm-shared',
  'amdm-eta0',
  'reverse',
  'du-ula',
  'du-mala',
  'du-uhmc',
  'du-hmc',
  'fkc',
  'smc',
] as const;
type Method = (typeof METHODS)[number];

const USAGE = `usage: npx tsx bench/compose-2d.ts [--quick] [--particles N] [--seeds S] [--steps T] [--worlds a,b] [--methods a,b] [--json file]
  worlds:  ${WORLD_NAMES.join(', ')}
  methods: ${METHODS.join(', ')}
Runs AMDM and the compositional baselines on the 2-D worlds with exact targets; prints a markdown
table (and the JSON, or writes it to --json).`;

const VALUE_FLAGS = ['--particles', '--seeds', '--steps', '--worlds', '--methods', '--json'];

function parseArgs(argv: string[]) {
  for (let i = 0; i < argv.length; i++) {
    if (VALUE_FLAGS.includes(argv[i])) i++;
    else if (argv[i] !== '--quick') throw new RangeError(`unknown argument ${JSON.stringify(argv[i])}\n${USAGE}`);
  }
  const quick = argv.includes('--quick');
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const int = (name: string, dflt: number) => {
    const v = get(name);
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`${name} must be an integer ≥ 1, got ${v}`);
    return n;
  };
  const list = <T extends string>(name: string, all: readonly T[], dflt: readonly T[]): T[] => {
    const v = get(name);
    if (v === undefined) return [...dflt];
    const items = v.split(',');
    for (const it of items)
      if (!(all as readonly string[]).includes(it))
        throw new RangeError(`${name}: unknown '${it}', expected one of ${all.join(', ')}`);
    return items as T[];
  };
  return {
    quick,
    particles: int('--particles', quick ? 200 : 1000),
    seeds: int('--seeds', quick ? 2 : 5),
    steps: int('--steps', quick ? 40 : 100),
    worlds: list('--worlds', WORLD_NAMES, quick ? ['up-down', 'factorized'] : WORLD_NAMES),
    methods: list('--methods', METHODS, METHODS),
    json: get('--json'),
  };
}

const MCMC: Record<string, MCMCKind> = { 'du-ula': 'ula', 'du-mala': 'mala', 'du-uhmc': 'uhmc', 'du-hmc': 'hmc' };

async function run(world: CompositionWorld, method: Method, o: ReturnType<typeof parseArgs>, seed: number) {
  const schedule = makeSchedule({
    betaSchedule: 'linear',
    betaStart: 1e-4,
    betaEnd: 0.02,
    numTrainTimesteps: 1000,
    setAlphaToOne: true,
    stepsOffset: 0,
    timestepSpacing: 'trailing',
  });
  const N = o.particles;
  const dim = world.dim;
  const common = { dim, particles: N, schedule, steps: o.steps, seed };
  const t0 = performance.now();
  let samples: Float32Array;
  let calls = 0;
  let acceptance: number | undefined;
  if (method === 'exact') {
    samples = sampleMixture(world.target, N, gaussianRng(seed, 7));
  } else if (method === 'oracle') {
    const r = await sampleReverse({ ...common, models: [fullMixtureDenoiser(world.target, schedule)] });
    samples = r.samples;
    calls = r.evals.eps;
  } else if (method === 'expert0' || method.startsWith('amdm')) {
    const models = world.expertModels(schedule);
    const s = method === 'expert0' ? 0 : method === 'amdm-half' ? Math.floor(o.steps / 2) : o.steps;
    // amdm-shared: every model starts from the same N(0, I) draw (Algorithm 1 draws one per model).
    const shared = method === 'amdm-shared' || method === 'amdm-eta0';
    const latents = shared ? gaussianRng(seed, 9).fillNormal(new Float32Array(N * dim)) : undefined;
    const r = await sampleAMDM({
      models,
      target: 0,
      steps: o.steps,
      aggregateSteps: s,
      schedule,
      shape: [dim],
      batch: N,
      seed,
      latents,
      rule: AMDM_DEFAULTS.rule,
      weights: AMDM_DEFAULTS.weight,
      eta: method === 'amdm-eta0' ? 0 : AMDM_DEFAULTS.eta,
      etaScale: AMDM_DEFAULTS.etaScale,
    });
    samples = r.latents;
    calls = r.totalCalls;
  } else {
    const { models, gamma } = world.composition(schedule);
    const r =
      method === 'fkc'
        ? await sampleFKC({ ...common, models, gamma })
        : method === 'smc'
          ? await sampleSMC({ ...common, models, gamma })
          : await sampleReverse({ ...common, models, gamma, mcmc: MCMC[method] ? { kind: MCMC[method] } : null });
    samples = r.samples;
    calls = r.evals.eps + r.evals.logDensity;
    acceptance = r.acceptance;
  }
  const ms = performance.now() - t0;
  const reference = sampleMixture(world.target, N, gaussianRng(seed + 1000, 8));
  return {
    ll: meanLogLikelihood(samples, world.target),
    lnMmd2: lnMmd2(samples, reference, dim),
    var: covarianceError(samples, world.target),
    modeTV: modeWeightError(samples, world.target),
    slicedW2: slicedW2(samples, reference, dim, 64, seed),
    calls,
    ms,
    acceptance,
  };
}

type Row = Awaited<ReturnType<typeof run>>;
const METRICS = ['ll', 'lnMmd2', 'var', 'modeTV', 'slicedW2', 'calls', 'ms'] as const;

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const results: {
    world: string;
    kind: string;
    method: string;
    seeds: Row[];
    summary: Record<string, { mean: number; std: number }>;
  }[] = [];
  for (const name of o.worlds as WorldName[]) {
    const world = world2d(name);
    for (const method of o.methods) {
      const seeds: Row[] = [];
      for (let s = 0; s < o.seeds; s++) seeds.push(await run(world, method, o, s + 1));
      const summary: Record<string, { mean: number; std: number }> = {};
      for (const m of METRICS) {
        const { mean, std } = meanStd(seeds.map((r) => r[m]));
        summary[m] = { mean, std };
      }
      const acc = seeds.map((r) => r.acceptance).filter((a): a is number => a !== undefined);
      if (acc.length) summary.acceptance = meanStd(acc);
      results.push({ world: name, kind: world.kind, method, seeds, summary });
      process.stderr.write(`${name} ${method} done\n`);
    }
  }
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
  const table = markdownTable(header, rows, { textColumns: header.length });
  process.stdout.write(`particles ${o.particles}, seeds ${o.seeds}, steps ${o.steps}\n\n${table}\n`);
  const json = JSON.stringify({ settings: o, results }, null, 1);
  if (o.json) await writeFileAtomic(o.json, json);
  else process.stdout.write('\n```json\n' + json + '\n```\n');
}

if (process.argv.includes('--help') || process.argv.includes('-h')) console.log(USAGE);
else {
  try {
    await main();
  } catch (e) {
    console.error((e as Error).message);
    process.exitCode = 2;
  }
}
