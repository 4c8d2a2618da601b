/**
 * What `amdm generate` writes beside the images so that a person can read a run without opening
 * JSON: a contact sheet (sheet.png: the prompt, the boxes with a legend, each model's image and
 * the result, upscaled and captioned) and results.json (every image file and what it is, and
 * for a job on a MiniMIG prompt (`"minimig": "L3-002"`) the world's exact render and the
 * evaluator's scores of every image).
 */
import { makeGrid, type GridBox, type GridCell } from '../image/grid.ts';
import { encodePNG } from '../image/png.ts';
import type { RGBA } from '../image/raster.ts';
import { caption, instancePhrase } from '../toy/minimig/captions.ts';
import { evaluateScene, type SceneEvaluation } from '../toy/minimig/evaluate.ts';
import { minimigPrompt } from '../toy/minimig/prompts.ts';
import { renderScene } from '../toy/minimig/render.ts';
import { IMAGE_SIZE, type Scene } from '../toy/minimig/world.ts';
import type { GenerateJob } from './job-schema.ts';
import type { JobImage, JobRun } from './generate.ts';
import { MINIMIG_ID, rgbaFromChw, unitImageFromRgba } from './minimig-image.ts';

/** The scene of a MiniMIG prompt id (MINIMIG_ID); a bad id names the field and the form. */
export function minimigScene(id: string): Scene {
  const m = MINIMIG_ID.exec(id);
  if (!m)
    throw new RangeError(
      `minimig must be a MiniMIG prompt id such as "L3-002" (level 1–4, index), got ${JSON.stringify(id)}`,
    );
  return minimigPrompt(Number(m[1]), Number(m[2])).scene;
}

/** One image's MiniMIG scores in a line: instances, relations, style, clean. */
export function scoreCaption(e: SceneEvaluation): string {
  const ok = (xs: readonly { ok: boolean }[]) => `${xs.filter((x) => x.ok).length}/${xs.length}`;
  const parts = [`inst ${ok(e.instances)}`];
  if (e.relations.length > 0) parts.push(`rel ${ok(e.relations)}`);
  parts.push(`style ${e.style.ok ? 'ok' : 'no'}`, e.clean.ok ? 'clean' : 'not clean');
  return parts.join(' · ');
}

/** The column heading of an image: who made it and how. */
function columnLabel(img: JobImage, job: GenerateJob): string {
  if (img.role === 'after-aggregation') return `${img.modelName} after aggregation`;
  return job.models.length > 1 ? `AMDM: ${img.modelName} (target)` : `${img.modelName} (DDIM)`;
}

/** What an image file is, in a sentence (results.json). */
function imageWhat(img: JobImage, job: GenerateJob, s: number): string {
  if (job.models.length === 1) return `${img.modelName} alone: plain DDIM, ${job.steps} steps`;
  if (img.role === 'target')
    return `the AMDM result: ${img.modelName} (the target) after ${s} aggregated steps with the other models and ${job.steps - s} alone`;
  return `${img.modelName}'s own image: the first ${s} of ${job.steps} steps shared (aggregated) with the target, then ${job.steps - s} steps alone — not the model alone`;
}

/** Boxes to draw: the scene's instances (MiniMIG), else the first model's conditions with `boxes` (unit xyxy) and `phrases`. */
function sheetBoxes(
  job: GenerateJob,
  scene: Scene | null,
  size: { width: number; height: number },
): { boxes: GridBox[]; legend: string[] } {
  if (scene) {
    const boxes = scene.instances.map((inst, k) => {
      const f = size.width / IMAGE_SIZE;
      return {
        x0: inst.box.x * f,
        y0: inst.box.y * f,
        x1: (inst.box.x + inst.box.size) * f,
        y1: (inst.box.y + inst.box.size) * f,
        label: String(k + 1),
      };
    });
    return { boxes, legend: scene.instances.map((inst, k) => `${k + 1} ${instancePhrase(inst)}`) };
  }
  for (const m of job.models) {
    const c = m.conditions as { boxes?: unknown; phrases?: unknown } | undefined;
    if (!Array.isArray(c?.boxes)) continue;
    const phrases = Array.isArray(c.phrases) ? (c.phrases as string[]) : [];
    const boxes = (c.boxes as number[][]).map(([x0, y0, x1, y1], k) => ({
      x0: x0 * size.width,
      y0: y0 * size.height,
      x1: x1 * size.width,
      y1: y1 * size.height,
      label: String(k + 1),
    }));
    return { boxes, legend: boxes.map((_, k) => `${k + 1} ${phrases[k] ?? ''}`.trim()) };
  }
  return { boxes: [], legend: [] };
}

/** The contact sheet: one row per sample, the exact render (MiniMIG) first, the result last. */
function sheet(
  job: GenerateJob,
  images: JobImage[],
  scene: Scene | null,
  scores: Map<JobImage, SceneEvaluation>,
  s: number,
): RGBA {
  const ordered = [...images.filter((i) => i.role !== 'target'), ...images.filter((i) => i.role === 'target')];
  const columns = [...new Set(ordered.map((i) => i.model))];
  const first = images[0].image;
  const { boxes, legend } = sheetBoxes(job, scene, first);
  const exact: GridCell | null = scene
    ? { image: rgbaFromChw(renderScene(scene)), boxes, label: 'the prompt drawn exactly' }
    : null;
  const cells: GridCell[][] = Array.from({ length: job.batch }, (_, b) => [
    ...(exact ? [exact] : []),
    ...columns.map((k) => {
      const img = ordered.find((i) => i.model === k && i.sample === b)!;
      const e = scores.get(img);
      return { image: img.image, boxes, ...(e ? { label: scoreCaption(e) } : {}) };
    }),
  ]);
  const colLabels = [
    ...(exact ? ['exact render'] : []),
    ...columns.map((k) =>
      columnLabel(
        ordered.find((i) => i.model === k)!,
        job,
      ),
    ),
  ];
  const notes = [`prompt: "${job.prompt}"`];
  if (legend.length) notes.push(`boxes: ${legend.join(' · ')}`);
  if (job.models.length > 1)
    notes.push(
      `AMDM merged the models in the first s = ${s} of T = ${job.steps} steps (w ${JSON.stringify(job.weights)}, η ${JSON.stringify(job.eta)}, ${job.rule}); "after aggregation" is a model's own image from that shared start, not the model alone`,
    );
  if (scene) notes.push('scores: instances right, relations right, style right, clean image (the MiniMIG evaluator)');
  const cellScale = Math.max(1, Math.min(8, Math.ceil(240 / Math.max(first.width, first.height))));
  return makeGrid({
    cells,
    colLabels,
    rowLabels: job.batch > 1 ? cells.map((_, b) => `sample ${b}`) : undefined,
    cellScale,
    fontSize: 12,
    lineWidth: 2,
    padding: 6,
    notes,
  });
}

export interface GenerateReport {
  /** sheet.png */
  sheet: Uint8Array;
  /** results.json's document. */
  results: Record<string, unknown>;
}

/** The contact sheet and results.json of a run. */
export async function generateReport(run: JobRun): Promise<GenerateReport> {
  const { job, images } = run;
  // s: the UNet calls of a non-target model during AMDM (0 with one model)
  const target = images[0].model;
  const s = Math.max(0, ...run.result.calls.filter((_, k) => k !== target));
  const scene = job.minimig === undefined ? null : minimigScene(job.minimig);
  const scores = new Map<JobImage, SceneEvaluation>();
  if (scene) {
    for (const img of images) {
      if (img.image.width !== IMAGE_SIZE || img.image.height !== IMAGE_SIZE)
        throw new RangeError(
          `minimig: the MiniMIG evaluator scores ${IMAGE_SIZE}×${IMAGE_SIZE} images, this job makes ${img.image.width}×${img.image.height}`,
        );
      scores.set(img, evaluateScene(scene, unitImageFromRgba(img.image)));
    }
  }
  const results = {
    prompt: job.prompt,
    ...(scene ? { minimig: { id: job.minimig, caption: caption(scene), scene } } : {}),
    steps: job.steps,
    aggregateSteps: s,
    sheet: 'sheet.png',
    images: images.map((img) => ({
      file: img.name,
      what: imageWhat(img, job, s),
      model: img.modelName,
      sample: img.sample,
      ...(scores.has(img) ? { scores: scores.get(img) } : {}),
    })),
  };
  return { sheet: await encodePNG(sheet(job, images, scene, scores, s)), results };
}

/** results.json in lines for the terminal: the sheet, then each image file, what it is and its scores. */
export function generateSummaryLines(results: Record<string, unknown>): string[] {
  const images = results.images as { file: string; what: string; scores?: SceneEvaluation }[];
  return [
    `  sheet.png: the contact sheet (prompt, boxes, every image labelled)`,
    ...images.map((i) => `  ${i.file}: ${i.what}${i.scores ? ` [${scoreCaption(i.scores)}]` : ''}`),
  ];
}
