/**
 * `amdm experiment eta` (EXPERIMENTS.md, experiment 2; Table 3 analog): η of eq. 9 for AMDM
 * layout←attribute, √d-scaled, absolute, and clipped at μ.
 */
import * as Plot from '@observablehq/plot';
import type { ExperimentRow } from '../common.ts';
import { planSteps, planExperiment, type ShapesPlan } from './run-plan.ts';

function plan(quick: boolean): ShapesPlan {
  const { T, amdm } = planSteps(quick);
  const etas = quick ? [0, 0.3] : [0, 0.1, 0.2, 0.3, 0.4, 0.5];
  const abs = quick ? [] : [0.3, 3];
  const clipped = quick ? [0.3] : [0.1, 0.3, 0.5];
  return {
    steps: T,
    methods: [
      { name: 'layout alone', experts: ['layout'] },
      ...etas.map((e) => amdm(`η=${e} (×√d)`, ['layout', 'attribute'], { eta: e, etaScale: 'sqrtDim' })),
      ...abs.map((e) => amdm(`η=${e} (absolute)`, ['layout', 'attribute'], { eta: e, etaScale: 'absolute' })),
      ...clipped.map((e) =>
        amdm(`η=${e} (×√d, clipped at μ)`, ['layout', 'attribute'], {
          eta: e,
          etaScale: 'sqrtDim',
          clipDeviation: true,
        }),
      ),
    ],
    describe: (m) => ({
      method: m.name,
      eta: m.experts.length > 1 ? Number(m.eta) : '',
      scale: m.experts.length > 1 ? String(m.etaScale) + (m.clipDeviation ? ' clipped' : '') : '',
    }),
    chart: etaChart,
  };
}

/** Instance success against η, eq. 9 and eq. 9 clipped at μ, beside the layout expert alone. */
function etaChart(rows: ExperimentRow[]): Plot.PlotOptions {
  return {
    title: 'AMDM layout←attribute: η of eq. 9 (√d-scaled)',
    x: { label: 'η' },
    y: { label: 'instance success', domain: [0, 1] },
    color: { legend: true },
    grid: true,
    marks: [
      Plot.ruleY(
        rows.filter((r) => r.method === 'layout alone'),
        { y: 'instanceSuccess', stroke: '#999', strokeDasharray: '4,3' },
      ),
      Plot.ruleX(
        rows.filter((r) => r.scale === 'sqrtDim'),
        {
          x: 'eta',
          y1: (d: ExperimentRow) => Number(d.instanceSuccess) - 2 * Number(d.instanceSuccessSE),
          y2: (d: ExperimentRow) => Number(d.instanceSuccess) + 2 * Number(d.instanceSuccessSE),
        },
      ),
      Plot.line(
        rows.filter((r) => r.scale === 'sqrtDim'),
        { x: 'eta', y: 'instanceSuccess', marker: 'circle', stroke: () => 'eq. 9' },
      ),
      Plot.line(
        rows.filter((r) => r.scale === 'sqrtDim clipped'),
        { x: 'eta', y: 'instanceSuccess', marker: 'circle-stroke', stroke: () => 'eq. 9 clipped at μ' },
      ),
      Plot.text(
        rows.filter((r) => r.scale === 'sqrtDim' || r.scale === 'sqrtDim clipped'),
        Plot.selectLast({
          x: 'eta',
          y: 'instanceSuccess',
          z: 'scale',
          text: (d: ExperimentRow) => (d.scale === 'sqrtDim' ? 'eq. 9' : 'clipped at μ'),
          dx: 6,
          textAnchor: 'start',
        }),
      ),
      Plot.text(
        rows.filter((r) => r.method === 'layout alone'),
        { x: 0, y: 'instanceSuccess', text: () => 'layout alone', dy: -8, textAnchor: 'start', fill: '#777' },
      ),
    ],
    marginRight: 90,
  };
}

export const experiment = planExperiment(
  'eta',
  'η of eq. 9 for AMDM layout←attribute: √d-scaled, absolute, clipped at μ (Table 3 analog)',
  plan,
);
