/**
 * Every `amdm experiment <name>`, listed once: the command's choices, its help text and its
 * dispatch all come from EXPERIMENTS. Each experiment is one file (experiment-<name>.ts, the
 * compositional comparison experiment-compose.ts), loaded only when it runs.
 */
import type { PlanSource } from './experiment-plan.ts';

/** The command's options, as `amdm experiment` parses them. */
export interface ExperimentCliOptions {
  quick?: boolean;
  prompts?: number;
  samples?: number;
  seed: number;
  out?: string;
  /** Only redraw the charts of an earlier run. */
  replot?: boolean;
  /** map: worker processes. */
  workers: number;
  progress: boolean;
}

interface Experiment {
  run(name: string, o: ExperimentCliOptions): Promise<void>;
}

/** An experiment that is a plan of methods run by compareOnShapes (experiment-plan.ts). */
interface PlanExperiment extends Experiment {
  loadPlan(): Promise<PlanSource>;
}

function planExperiment(loadPlan: PlanExperiment['loadPlan']): PlanExperiment {
  return {
    loadPlan,
    async run(name, o) {
      const { runExperiment, replotExperiment } = await import('./experiment-plan.ts');
      const source = await loadPlan();
      if (o.replot) console.log(`wrote ${await replotExperiment(name, source, o.out, o.quick)}`);
      else await runExperiment(name, source, o);
    },
  };
}

export const EXPERIMENTS = {
  experts: planExperiment(() => import('./experiment-experts.ts')),
  eta: planExperiment(() => import('./experiment-eta.ts')),
  rules: planExperiment(() => import('./experiment-rules.ts')),
  sphere: planExperiment(() => import('./experiment-sphere.ts')),
  weights: planExperiment(() => import('./experiment-weights.ts')),
  // Table 5 analog: AMDM vs compositional baselines on the same prompts and experts
  'compose-shapes': {
    async run(_name, o) {
      const { runComposeShapes } = await import('./experiment-compose.ts');
      await runComposeShapes({
        quick: o.quick,
        prompts: o.prompts,
        samples: o.samples,
        seed: o.seed,
        out: o.out,
        progress: o.progress,
      });
    },
  },
  // where in (w, η and its scale, s, rule) layout ← attribute transfers (EXPERIMENTS.md)
  map: {
    async run(_name, o) {
      const { runMap, replotMap } = await import('./experiment-map.ts');
      if (o.replot) console.log(`wrote the report and heat maps in ${await replotMap(o)}`);
      else
        await runMap({
          quick: o.quick,
          prompts: o.prompts,
          samples: o.samples,
          seed: o.seed,
          out: o.out,
          workers: o.workers,
          progress: o.progress,
        });
    },
  },
  // where, when and how much to merge (windows, schedules, spatial maps): the search on one
  // prompt/noise set, then its best settings on fresh prompts and seeds (EXPERIMENTS.md)
  'search-shapes': {
    async run(_name, o) {
      const { runSearchShapes } = await import('./experiment-search.ts');
      await runSearchShapes({ quick: o.quick, seed: o.seed, out: o.out, workers: o.workers, progress: o.progress });
    },
  },
  'confirm-shapes': {
    async run(_name, o) {
      const { runConfirmShapes } = await import('./experiment-search.ts');
      const { quick, prompts, samples, seed, out, workers, progress } = o;
      await runConfirmShapes({ quick, prompts, samples, seed, out, workers, progress });
    },
  },
} satisfies Record<string, Experiment>;

export type ExperimentName = keyof typeof EXPERIMENTS;
export const EXPERIMENT_NAMES = Object.keys(EXPERIMENTS) as ExperimentName[];

/** The experiments that are plans (experiment-plan.ts runs them). */
export type PlanExperimentName = {
  [K in ExperimentName]: (typeof EXPERIMENTS)[K] extends PlanExperiment ? K : never;
}[ExperimentName];
export const PLAN_EXPERIMENT_NAMES = EXPERIMENT_NAMES.filter(
  (n): n is PlanExperimentName => 'loadPlan' in EXPERIMENTS[n],
);
