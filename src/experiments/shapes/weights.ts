/**
 * `amdm experiment weights` (EXPERIMENTS.md, experiment 5): the weight w of the attribute expert
 * in eq. 8, AMDM layout←attribute.
 */
import * as Plot from '@observablehq/plot';
import { planSteps, planExperiment, type ShapesPlan } from './run-plan.ts';

function plan(quick: boolean): ShapesPlan {
  const { T, amdm } = planSteps(quick);
  const ws = quick ? [0.2, 0.8] : [0, 0.1, 0.3, 0.5, 0.7, 0.9, 1];
  return {
    steps: T,
    methods: [
      { name: 'layout alone', experts: ['layout'] },
      { name: 'attribute alone', experts: ['attribute'] },
      ...ws.map((w) => amdm(`w=${w}`, ['layout', 'attribute'], { weights: w })),
    ],
    describe: (m) => ({ method: m.name, w: m.experts.length > 1 ? Number(m.weights) : '' }),
    chart: (rows) => ({
      title: 'AMDM layout←attribute: weight w of the attribute expert (eq. 8)',
      x: { label: 'w' },
      y: { label: 'rate', domain: [0, 1] },
      color: { legend: true },
      grid: true,
      marks: [
        // colour right equals instance success and IoU ≥ 0.5 is 1 here (the target places exactly)
        Plot.line(
          rows.filter((r) => r.w !== ''),
          { x: 'w', y: 'instanceSuccess', stroke: () => 'instance success', marker: 'circle' },
        ),
        Plot.line(
          rows.filter((r) => r.w !== ''),
          { x: 'w', y: 'cleanImages', stroke: () => 'clean images', marker: 'circle-stroke', strokeDasharray: '3,3' },
        ),
        Plot.text(
          rows.filter((r) => r.w !== ''),
          Plot.selectLast({ x: 'w', y: 'instanceSuccess', text: () => 'instance success', dx: 6, textAnchor: 'start' }),
        ),
        Plot.text(
          rows.filter((r) => r.w !== ''),
          Plot.selectLast({ x: 'w', y: 'cleanImages', text: () => 'clean images', dx: 6, textAnchor: 'start' }),
        ),
      ],
      marginRight: 110,
    }),
  };
}

export const experiment = planExperiment('weights', 'The weight w of the attribute expert in eq. 8', plan);
