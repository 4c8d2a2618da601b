/**
 * `amdm experiment experts` (EXPERIMENTS.md, experiment 1; Tables 1–2 analog): each expert alone
 * (and the oracle) against AMDM layout←attribute(+style) and attribute←layout(+style).
 */
import { planSteps, planExperiment, type ShapesPlan } from './run-plan.ts';

function plan(quick: boolean): ShapesPlan {
  const { T, amdm } = planSteps(quick);
  return {
    steps: T,
    methods: [
      { name: 'oracle', experts: ['oracle'] },
      { name: 'layout', experts: ['layout'] },
      { name: 'attribute', experts: ['attribute'] },
      { name: 'style', experts: ['style'] },
      amdm('AMDM layout←attribute', ['layout', 'attribute']),
      amdm('AMDM layout←attribute+style', ['layout', 'attribute', 'style']),
      amdm('AMDM attribute←layout', ['attribute', 'layout']),
      amdm('AMDM attribute←layout+style', ['attribute', 'layout', 'style']),
    ],
    describe: (m) => ({ method: m.name }),
  };
}

export const experiment = planExperiment(
  'experts',
  'Each expert alone and the oracle against AMDM in both directions (Tables 1–2 analog)',
  plan,
);
