/** The options of bench/core-step.ts and the fixed settings of every measurement. */
import { AMDM_DEFAULTS } from '../../src/core/defaults.ts';
import { parseArgs } from 'node:util';
import { RULES, type RuleName } from '../../src/core/index.ts';
import { BACKEND_NAMES, type BackendName } from '../../src/core/backend.ts';

export const SHAPE = [4, 64, 64] as const;
export const DIM = SHAPE[0] * SHAPE[1] * SHAPE[2];
export const WEIGHT = AMDM_DEFAULTS.weight; // the sampler's default w
export const ETA = AMDM_DEFAULTS.eta; // the sampler's default η, scaled by √d ('sqrtDim')
export const TORCH_RULES: readonly RuleName[] = ['slerp', 'lerp', 'nlerp', 'vp'];

export interface Options {
  rounds: number;
  backends: BackendName[];
  reps: number;
  warmup: number;
  steps: number;
  models: number[];
  batches: number[];
  rules: RuleName[];
  kernelMs: number;
  heapSteps: number;
  python: string;
  torch: boolean;
  heap: boolean;
}

export const USAGE = `usage: tsx bench/core-step.ts [options]
  --rounds N        interleaved rounds of js, wasm and torch, median reported (default 3)
  --backends LIST   kernel backends (default js,wasm)
  --reps N          timed repetitions per round, median reported (default 5)
  --warmup N        untimed runs first (default 2)
  --steps T         DDIM steps per sampler run, all aggregated (default 20, ≥ 4)
  --models LIST     model counts N (default 2,3)
  --batches LIST    batch sizes B (default 1,8)
  --rules LIST      rules (default slerp,lerp,nlerp,vp,sphericalMean)
  --kernel-ms MS    length of one timed kernel sample (default 10)
  --heap-steps T    steps of the heap measurement (default 100, 40…120: with
                    a fixed ε, vp's norm grows ~1.4× per fold stage and overflows later)
  --python PATH     interpreter with torch (default /usr/bin/python3)
  --no-torch        skip the PyTorch comparison
  --no-heap         skip the heap measurement
  --quick           a fast smoke run (rounds 1, reps 1, warmup 1, steps 6, kernel-ms 2, heap-steps 60)`;

export function parseOptions(argv: string[]): Options & { heapChild: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      rounds: { type: 'string' },
      backends: { type: 'string' },
      reps: { type: 'string' },
      warmup: { type: 'string' },
      steps: { type: 'string' },
      models: { type: 'string' },
      batches: { type: 'string' },
      rules: { type: 'string' },
      'kernel-ms': { type: 'string' },
      'heap-steps': { type: 'string' },
      python: { type: 'string' },
      'no-torch': { type: 'boolean' },
      'no-heap': { type: 'boolean' },
      quick: { type: 'boolean' },
      'heap-child': { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const q = values.quick === true;
  const int = (name: string, v: string | undefined, dflt: number, min: number, max: number): number => {
    if (v === undefined) return dflt;
    const x = Number(v);
    if (!Number.isInteger(x) || x < min || x > max)
      throw new RangeError(`--${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
    return x;
  };
  const list = (name: string, v: string | undefined, dflt: number[], min: number, max: number): number[] =>
    v === undefined ? dflt : v.split(',').map((s) => int(name, s.trim(), 0, min, max));
  const ruleNames = Object.keys(RULES) as RuleName[];
  const rules = (values.rules ?? ruleNames.join(',')).split(',').map((r) => r.trim());
  for (const r of rules) {
    if (!(ruleNames as string[]).includes(r))
      throw new RangeError(`--rules must be a comma list of ${ruleNames.join(', ')}, got ${JSON.stringify(r)}`);
  }
  const backends = (values.backends ?? BACKEND_NAMES.join(',')).split(',').map((b) => b.trim());
  for (const b of backends) {
    if (!(BACKEND_NAMES as readonly string[]).includes(b))
      throw new RangeError(`--backends must be a comma list of ${BACKEND_NAMES.join(', ')}, got ${JSON.stringify(b)}`);
  }
  return {
    rounds: int('rounds', values.rounds, q ? 1 : 3, 1, 100),
    backends: backends as BackendName[],
    reps: int('reps', values.reps, q ? 1 : 5, 1, 1000),
    warmup: int('warmup', values.warmup, q ? 1 : 2, 0, 1000),
    steps: int('steps', values.steps, q ? 6 : 20, 4, 1000),
    models: list('models', values.models, [2, 3], 2, 16),
    batches: list('batches', values.batches, [1, 8], 1, 64),
    rules: rules as RuleName[],
    kernelMs: int('kernel-ms', values['kernel-ms'], q ? 2 : 10, 1, 10_000),
    heapSteps: int('heap-steps', values['heap-steps'], q ? 60 : 100, 40, 120),
    python: values.python ?? '/usr/bin/python3',
    torch: values['no-torch'] !== true,
    heap: values['no-heap'] !== true,
    heapChild: values['heap-child'] === true,
  };
}
