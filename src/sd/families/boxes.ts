/**
 * Boxes as the grounded SD families take them: normalized xyxy `[x0, y0, x1, y1]` with
 * 0 ≤ x0 < x1 ≤ 1 and 0 ≤ y0 < y1 ≤ 1 (InteractDiffusion `subject_boxes`/`object_boxes`,
 * MIGC `bboxes`, COCO-MIG `segment[].bbox`; sources M§3.2, M§4.1, M§4.6).
 */
import { z } from 'zod';
import { describe } from '../../core/validate.ts';

export type Box = readonly [number, number, number, number];

/** Why `box` is not a valid normalized xyxy box, or null when it is. */
export function boxProblem(box: unknown): string | null {
  if (!Array.isArray(box) || box.length !== 4) return `must be [x0, y0, x1, y1], got ${describe(box)}`;
  for (let k = 0; k < 4; k++) {
    const v = box[k];
    if (typeof v !== 'number' || !Number.isFinite(v))
      return `must hold 4 finite numbers, got ${describe(v)} at index ${k}`;
    if (v < 0 || v > 1) return `must lie in [0, 1] (normalized xyxy), got ${JSON.stringify(box)}`;
  }
  if (!(box[0] < box[2])) return `must have x0 < x1 (normalized xyxy), got ${JSON.stringify(box)}`;
  if (!(box[1] < box[3])) return `must have y0 < y1 (normalized xyxy), got ${JSON.stringify(box)}`;
  return null;
}

/** Throw a RangeError/TypeError naming `name` unless `box` is a valid normalized xyxy box. */
export function checkBox(name: string, box: unknown): Box {
  const p = boxProblem(box);
  if (p !== null) {
    if (!Array.isArray(box)) throw new TypeError(`${name} ${p}`);
    throw new RangeError(`${name} ${p}`);
  }
  return box as unknown as Box;
}

/** Check an array of boxes; errors name `name[i]`. */
export function checkBoxes(name: string, boxes: unknown): Box[] {
  if (!Array.isArray(boxes))
    throw new TypeError(`${name} must be an array of [x0, y0, x1, y1] boxes, got ${describe(boxes)}`);
  return boxes.map((b, i) => checkBox(`${name}[${i}]`, b));
}

/** Check an array of non-empty strings; errors name `name[i]`. */
export function checkPhrases(name: string, phrases: unknown): string[] {
  if (!Array.isArray(phrases)) throw new TypeError(`${name} must be an array of strings, got ${describe(phrases)}`);
  phrases.forEach((p, i) => {
    if (typeof p !== 'string') throw new TypeError(`${name}[${i}] must be a string, got ${describe(p)}`);
  });
  return phrases as string[];
}

/** zod schema of one box, with the same rule and messages as {@link checkBox}. */
export const boxSchema = z
  .array(z.number())
  .superRefine((b, ctx) => {
    const p = boxProblem(b);
    if (p !== null) ctx.addIssue({ code: 'custom', message: `a box ${p}` });
  })
  .transform((b) => b as unknown as Box);

/**
 * InteractDiffusion's action box (`get_between_box`, sources M§3.1): sort the four x
 * values and the four y values of the subject and object boxes and keep the 2nd and 3rd of each,
 * giving [x₍₁₎, y₍₁₎, x₍₂₎, y₍₂₎] — the region between (or shared by) the two boxes.
 */
export function betweenBox(subject: Box, object: Box): [number, number, number, number] {
  const xs = [subject[0], subject[2], object[0], object[2]].sort((a, b) => a - b);
  const ys = [subject[1], subject[3], object[1], object[3]].sort((a, b) => a - b);
  return [xs[1], ys[1], xs[2], ys[2]];
}
