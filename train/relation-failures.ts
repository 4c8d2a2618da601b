/**
 * Which part of the strict relation tests (src/toy/minimig/evaluate-relation.ts) a model's marks
 * fail, and how often: for "looking at" the dot's blob (none, too large, too small, not compact,
 * misplaced, the ring not in the subject's colour, stray white in the box), for "linked to" the
 * line (no white, coverage, gap, continuity). A relation can fail several parts; each part is
 * counted, and so is "only this part" (the relation would pass with that part alone fixed).
 *
 * Usage:
 *   npx tsx train/relation-failures.ts <calibration folder> --model interactdiffusion-mini
 * reads the images of an `amdm zoo calibrate --images` run (its prompts are re-drawn from the
 * settings in calibration.json). `relationFailures` is also what train/vae-ceiling.ts prints for
 * VAE round trips.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { decodePNG } from '../src/image/png.ts';
import { unitImageFromRgba } from '../src/experiments/zoo/scene.ts';
import {
  DOT_GROW,
  DOT_MAX_FRACTION,
  DOT_MIN_FRACTION,
  DOT_RING,
  DOT_SHIFT,
  DOT_STRAY,
  LINK_COVERAGE,
  LINK_GAP,
  evaluateScene,
  minimigPromptSet,
  type DotEvidence,
  type LinkEvidence,
  type SceneEvaluation,
} from '../src/toy/minimig/index.ts';

/** The parts of the "looking at" test a dot fails (empty: it passes). */
export function dotFailures(d: DotEvidence, subjectColourOk: boolean): string[] {
  if (d.blob === 0) return ['no white in the box'];
  const out: string[] = [];
  if (d.blob > DOT_MAX_FRACTION * d.expected) out.push('blob too large');
  if (d.blob < DOT_MIN_FRACTION * d.expected) out.push('blob too small');
  if (d.shift !== null && d.shift > DOT_SHIFT)
    out.push(d.angle !== null && d.angle > 90 ? 'misplaced, far side' : 'misplaced');
  if (d.ring !== null && d.ring < DOT_RING)
    out.push(subjectColourOk ? 'ring not the subject colour' : 'ring not the subject colour (subject not found in it)');
  if (d.stray > DOT_STRAY) out.push('stray white in the box');
  if (out.length === 0 && !d.ok) out.push(`not compact (> ${DOT_GROW} px wider or taller than the dot)`);
  return out;
}

/** The parts of the "linked to" test a line fails (empty: it passes). */
export function linkFailures(l: LinkEvidence): string[] {
  if (l.coverage === 0) return ['no white on the segment'];
  const out: string[] = [];
  if (l.coverage < LINK_COVERAGE) out.push('coverage low');
  if (l.longestGap > LINK_GAP) out.push('gap over 1 px');
  if (!l.connected) out.push('not connected');
  return out;
}

/** A table (text) of the relation tests' failures over `evals`, per action. */
export function relationFailures(evals: readonly SceneEvaluation[]): string {
  const lines: string[] = [];
  for (const action of ['looking at', 'linked to'] as const) {
    const count = new Map<string, { any: number; only: number }>();
    let n = 0;
    let pass = 0;
    for (const e of evals) {
      for (const r of e.relations) {
        if (r.action !== action) continue;
        n++;
        const parts =
          'coverage' in r.detail ? linkFailures(r.detail) : dotFailures(r.detail, e.instances[r.subject].colourOk);
        if (parts.length === 0) pass++;
        for (const p of parts) {
          const c = count.get(p) ?? { any: 0, only: 0 };
          c.any++;
          if (parts.length === 1) c.only++;
          count.set(p, c);
        }
      }
    }
    lines.push(`${action}: ${n} relations, ${pass} pass (${n === 0 ? '—' : (pass / n).toFixed(3)})`);
    for (const [p, c] of [...count].sort((a, b) => b[1].any - a[1].any))
      lines.push(`  ${p.padEnd(56)} ${String(c.any).padStart(5)}  only this: ${String(c.only).padStart(4)}`);
  }
  return lines.join('\n');
}

interface CalibrationSettings {
  perLevel: number;
  seed: number;
  seeds: number;
}

/** The evaluations of one model's images in a `zoo calibrate --images` folder. */
export async function calibrationEvaluations(folder: string, model: string): Promise<SceneEvaluation[]> {
  const file = join(folder, 'calibration.json');
  if (!existsSync(file)) throw new RangeError(`<folder>: ${folder} holds no calibration.json`);
  const { settings } = JSON.parse(readFileSync(file, 'utf8')) as { settings: CalibrationSettings };
  const out: SceneEvaluation[] = [];
  for (const p of minimigPromptSet({ perLevel: settings.perLevel, seed: settings.seed })) {
    for (let k = 0; k < settings.seeds; k++) {
      const png = join(folder, 'images', model, `${p.id}-r${k}.png`);
      if (!existsSync(png)) continue;
      out.push(evaluateScene(p.scene, unitImageFromRgba(await decodePNG(new Uint8Array(readFileSync(png))))));
    }
  }
  if (out.length === 0)
    throw new RangeError(`--model: ${folder}/images/${model} holds no images of the calibration's prompts`);
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const program = new Command()
    .argument('<folder>', 'an `amdm zoo calibrate --images` output folder')
    .requiredOption('--model <name>', 'model folder name (images/<name>/)')
    .parse();
  const evals = await calibrationEvaluations(program.args[0], program.opts<{ model: string }>().model);
  console.log(`${evals.length} images`);
  console.log(relationFailures(evals));
}
