/**
 * `amdm experiment rules` (EXPERIMENTS.md, experiment 3; Figure 5a analog): each aggregation rule
 * against the number of aggregated steps s, AMDM layout←attribute with η = 0.
 */
import * as Plot from '@observablehq/plot';
import type { ExperimentRow } from '../common.ts';
import { COMPARED_RULES, planSteps, planExperiment, type ShapesPlan } from './run-plan.ts';

function plan(quick: boolean): ShapesPlan {
  const { T, amdm } = planSteps(quick);
  const ss = quick ? [2, 6] : [5, 10, 20, 30, 40];
  return {
    steps: T,
    methods: [
      { name: 'layout alone', experts: ['layout'] },
      // η = 0 isolates the merge rule: with the paper's η = 0.3·√d aggregation has no
      // measurable effect in this world (see the eta experiment), so rules cannot differ
      ...COMPARED_RULES.flatMap((rule) =>
        ss.map((k) => amdm(`${rule} s=${k}`, ['layout', 'attribute'], { rule, aggregateSteps: k, eta: 0 })),
      ),
    ],
    describe: (m) => ({
      method: m.name,
      rule: m.experts.length > 1 ? String(m.rule) : '',
      s: m.experts.length > 1 ? Number(m.aggregateSteps) : 0,
    }),
    chart: rulesChart,
  };
}

/** Instance success against s, one line per rule, beside the layout expert alone. */
function rulesChart(rows: ExperimentRow[]): Plot.PlotOptions {
  return {
    title: 'AMDM layout←attribute, η = 0: rule vs aggregation steps s (Figure 5a analog)',
    x: { label: 's (aggregation steps)' },
    y: { label: 'instance success', domain: [0, 1] },
    color: { legend: true },
    grid: true,
    marks: [
      Plot.ruleY(
        rows.filter((r) => r.rule === ''),
        { y: 'instanceSuccess', stroke: '#999', strokeDasharray: '4,3' },
      ),
      Plot.line(
        rows.filter((r) => r.rule !== ''),
        { x: 's', y: 'instanceSuccess', stroke: 'rule', marker: 'circle' },
      ),
      Plot.text(
        rows.filter((r) => r.rule !== '' && r.rule !== 'nlerp'),
        Plot.selectLast({
          x: 's',
          y: 'instanceSuccess',
          z: 'rule',
          text: 'rule',
          fill: 'rule',
          dx: 6,
          dy: -4,
          textAnchor: 'start',
        }),
      ),
      Plot.text(
        rows.filter((r) => r.rule === 'nlerp'),
        Plot.selectLast({
          x: 's',
          y: 'instanceSuccess',
          text: 'rule',
          fill: 'rule',
          dx: 6,
          dy: 10,
          textAnchor: 'start',
        }),
      ),
      Plot.text(
        rows.filter((r) => r.rule === ''),
        {
          x: Math.min(...rows.filter((r) => r.rule !== '').map((r) => Number(r.s))),
          y: 'instanceSuccess',
          text: () => 'layout alone',
          dy: -8,
          textAnchor: 'start',
          fill: '#777',
        },
      ),
    ],
    marginRight: 60,
  };
}

export const experiment = planExperiment(
  'rules',
  'Each aggregation rule against the aggregated steps s (Figure 5a analog)',
  plan,
);
