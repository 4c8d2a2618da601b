/**
 * Table 6 analog: AMDM vs compositional baselines on the 2-D composition worlds with exact
 * targets — the command line of src/experiments/compose-2d/ (the methods and metrics are
 * described in its methods.ts).
 *
 *   npx tsx bench/compose-2d.ts [--quick] [--particles N] [--seeds S] [--steps T]
 *                               [--worlds a,b] [--methods a,b] [--json file]
 *
 * Defaults: 1000 particles, 5 seeds, T = 100, every world and method (--quick: 200, 2, 40,
 * up-down and factorized). Writes a markdown table to stdout, and the JSON to --json (or after
 * the table).
 */
import { writeFileAtomic } from '../src/io/files.ts';
import { WORLD_NAMES } from '../src/compose/index.ts';
import { METHODS } from '../src/experiments/compose-2d/methods.ts';
import { compose2dPlan, compose2dTable, runCompose2d } from '../src/experiments/compose-2d/run.ts';

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
  const plan = compose2dPlan(quick);
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
    particles: int('--particles', plan.particles),
    seeds: int('--seeds', plan.seeds),
    steps: int('--steps', plan.steps),
    worlds: list('--worlds', WORLD_NAMES, plan.worlds),
    methods: list('--methods', METHODS, plan.methods),
    json: get('--json'),
  };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const results = await runCompose2d(o, {
    seed: 0,
    quick: o.quick,
    out: o.json ?? '',
    onProgress: (p) => process.stderr.write(`${p.label} ${p.item} done\n`),
  });
  process.stdout.write(`particles ${o.particles}, seeds ${o.seeds}, steps ${o.steps}\n\n${compose2dTable(results)}\n`);
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
