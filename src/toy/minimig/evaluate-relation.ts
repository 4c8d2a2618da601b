/** The evidence of a MiniMIG relation's mark (evaluate.ts): a "linked to" line, a "looking at" dot. */
import { dotPixel } from './render.ts';
import { boxCentre, type Box } from './world.ts';
import { S, insideAnyBox } from './evaluate-pixels.ts';

export const LINK_FRACTION = 0.6;
/**
 * "Looking at": the dot is present when ≥ DOT_MIN_WHITE pixels of the DOT_WINDOW² window at its
 * place are white. The renderer's dot is a 5×5 square clipped to the shape's interior (6 white
 * pixels for an 8-px triangle, up to 25); the 7×7 window (inside the box, where no line runs)
 * keeps a dot drawn a pixel off.
 */
export const DOT_MIN_WHITE = 5;
export const DOT_WINDOW = 7;

/** Fraction of the segment's points outside every box with a white pixel in their 3×3 neighbourhood. */
export function linkEvidence(a: Box, b: Box, boxes: readonly Box[], white: Uint8Array): number {
  const [ay, ax] = boxCentre(a);
  const [by, bx] = boxCentre(b);
  const steps = Math.ceil(2 * Math.hypot(by - ay, bx - ax));
  let checked = 0;
  let hits = 0;
  for (let i = 0; i <= steps; i++) {
    const y = Math.floor(ay + ((by - ay) * i) / steps);
    const x = Math.floor(ax + ((bx - ax) * i) / steps);
    if (insideAnyBox(boxes, y, x, 0)) continue;
    checked++;
    let w = false;
    for (let dy = -1; dy <= 1 && !w; dy++) {
      for (let dx = -1; dx <= 1 && !w; dx++) {
        const yy = y + dy;
        const xx = x + dx;
        if (yy >= 0 && yy < S && xx >= 0 && xx < S && white[yy * S + xx]) w = true;
      }
    }
    if (w) hits++;
  }
  return checked === 0 ? 0 : hits / checked;
}

/** White pixels in the DOT_WINDOW × DOT_WINDOW window centred on the dot's place (inside the subject's box). */
export function dotEvidence(subject: Box, object: Box, white: Uint8Array): number {
  const [cy, cx] = dotPixel(subject, object);
  const r = (DOT_WINDOW - 1) / 2;
  let n = 0;
  for (let y = cy - r; y <= cy + r; y++) for (let x = cx - r; x <= cx + r; x++) n += white[y * S + x];
  return n;
}
