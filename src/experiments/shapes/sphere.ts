/**
 * `amdm experiment sphere` (EXPERIMENTS.md, experiment 4; Figure 5b analog): how far each
 * aggregation rule takes the merged latent x′ from the sphere the noisy latents lie near —
 * ‖x′‖/√d per step, beside the target alone and the expected √(ᾱ·E x₀² + 1 − ᾱ).
 */
import * as Plot from '@observablehq/plot';
import { makeSchedule, timesteps } from '../../core/schedule.ts';
import { renderPrompt } from '../../toy/shapes/render.ts';
import { meanAndSd, normPerStepAxes, type ExperimentRow } from '../common.ts';
import { COMPARED_RULES, planSteps, type NormsReport, planExperiment, type ShapesPlan } from './run-plan.ts';

function plan(quick: boolean): ShapesPlan {
  const { T, amdm } = planSteps(quick);
  return {
    steps: T,
    norms: SPHERE_REPORT,
    methods: [
      { name: 'layout alone', experts: ['layout'] },
      ...COMPARED_RULES.map((rule) => amdm(rule, ['layout', 'attribute'], { rule })),
    ],
    describe: (m) => ({ method: m.name, rule: m.experts.length > 1 ? String(m.rule) : '' }),
  };
}

const SPHERE_REPORT: NormsReport = {
  columns: ['method', 'step', 'targetMean', 'targetSD', 'mixedMean', 'mixedSD', 'expected'],
  rows(norms, { world, prompts, steps }) {
    // the clean data's per-element RMS, for the sphere each x_t would sit on
    const data = prompts.map((q) => renderPrompt(world, q));
    const rms2 =
      data.reduce((s, img) => s + img.reduce((a, v) => a + v * v, 0) / world.dim, 0) / data.length + world.sigma0 ** 2;
    const schedule = makeSchedule();
    const ts = timesteps(schedule, steps);
    const expected = (step: number) => {
      const tPrev = step + 1 < ts.length ? ts[step] - Math.floor(1000 / steps) : -1;
      const a = tPrev < 0 ? schedule.finalAlphaCumprod : schedule.alphasCumprod[tPrev];
      return Math.sqrt(a * rms2 + 1 - a);
    };
    return Object.entries(norms).flatMap(([method, rec]) =>
      rec.target.map((vals, step): ExperimentRow => {
        const target = meanAndSd(vals);
        const mixed = rec.mixed[step] ? meanAndSd(rec.mixed[step]) : null;
        return {
          method,
          step,
          targetMean: target.mean,
          targetSD: target.sd,
          mixedMean: mixed?.mean ?? null,
          mixedSD: mixed?.sd ?? null,
          expected: expected(step),
        };
      }),
    );
  },
  chart: sphereChart,
  summary(rows) {
    const last = (m: string) => rows.filter((r) => r.method === m && r.mixedMean !== null).at(-1);
    const lines = ['\n‖x′‖/√d of the merged latent at the last aggregated step (mean ± sd over samples):'];
    for (const rule of COMPARED_RULES) {
      const r = last(rule);
      if (r)
        lines.push(
          `  ${rule.padEnd(6)} ${Number(r.mixedMean).toFixed(3)} ± ${Number(r.mixedSD).toFixed(3)}   (target alone: ${Number(rows.find((q) => q.method === 'layout alone' && q.step === r.step)?.targetMean).toFixed(3)}, expected ${Number(r.expected).toFixed(3)})`,
        );
    }
    return lines;
  },
};

/** ‖x′‖/√d of the merged latent per step for each rule (log scale: vp leaves the sphere by 50×). */
export function sphereChart(sphereRows: ExperimentRow[]): Plot.PlotOptions {
  const merged = sphereRows.filter((r) => r.mixedMean !== null);
  const alone = sphereRows.filter((r) => r.method === 'layout alone');
  return {
    title: 'Norm of the merged latent per step, ‖x′‖/√d (Figure 5b analog)',
    ...normPerStepAxes(),
    marginRight: 150,
    marks: [
      Plot.line(alone, { x: 'step', y: 'targetMean', stroke: '#555', strokeDasharray: '4,3' }),
      Plot.line(alone, { x: 'step', y: 'expected', stroke: '#aaa' }),
      Plot.text(
        alone,
        Plot.selectLast({
          x: 'step',
          y: 'targetMean',
          text: () => 'target alone',
          dx: 6,
          dy: -6,
          textAnchor: 'start',
          fill: '#555',
        }),
      ),
      Plot.text(
        alone,
        Plot.selectLast({
          x: 'step',
          y: 'expected',
          text: () => 'expected √(ᾱ·E x₀² + 1 − ᾱ)',
          dx: 6,
          dy: 8,
          textAnchor: 'start',
          fill: '#888',
        }),
      ),
      Plot.areaY(merged, {
        x: 'step',
        y1: (d: ExperimentRow) => Math.max(1e-3, Number(d.mixedMean) - Number(d.mixedSD)),
        y2: (d: ExperimentRow) => Number(d.mixedMean) + Number(d.mixedSD),
        fill: 'method',
        fillOpacity: 0.15,
      }),
      Plot.line(merged, { x: 'step', y: 'mixedMean', stroke: 'method' }),
      Plot.text(
        merged,
        Plot.selectLast({
          x: 'step',
          y: 'mixedMean',
          z: 'method',
          text: 'method',
          fill: 'method',
          dx: 6,
          textAnchor: 'start',
        }),
      ),
    ],
  };
}

export const experiment = planExperiment(
  'sphere',
  '‖x′‖/√d of the merged latent per step for each rule (Figure 5b analog)',
  plan,
);
