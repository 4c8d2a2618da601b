/**
 * The MiniMIG relation tests as they were before the strict ones (evaluate-relation.ts), kept
 * here only so the adversarial tests can show what the old tests accepted: "linked to" passed when
 * ≥ 60 % of the segment's points outside every box had a white pixel in their 3×3 neighbourhood;
 * "looking at" when ≥ 5 pixels of the 7×7 window at `dotPixel` were white.
 */
import { boxCentre, dotPixel, type Box, type Scene } from '../../src/toy/minimig/index.ts';

const S = 32;
const insideAnyBox = (boxes: readonly Box[], y: number, x: number) =>
  boxes.some((b) => y >= b.y && y < b.y + b.size && x >= b.x && x < b.x + b.size);

/** Whiteness as the evaluator reads it: every channel > 140 in byte units. */
export function whiteOf(image: Float32Array): Uint8Array {
  const w = new Uint8Array(S * S);
  for (let q = 0; q < S * S; q++)
    w[q] = Math.min(image[q], image[S * S + q], image[2 * S * S + q]) * 127.5 + 127.5 > 140 ? 1 : 0;
  return w;
}

function lenientLink(a: Box, b: Box, boxes: readonly Box[], white: Uint8Array): boolean {
  const [ay, ax] = boxCentre(a);
  const [by, bx] = boxCentre(b);
  const steps = Math.ceil(2 * Math.hypot(by - ay, bx - ax));
  let checked = 0;
  let hits = 0;
  for (let i = 0; i <= steps; i++) {
    const y = Math.floor(ay + ((by - ay) * i) / steps);
    const x = Math.floor(ax + ((bx - ax) * i) / steps);
    if (insideAnyBox(boxes, y, x)) continue;
    checked++;
    let w = false;
    for (let dy = -1; dy <= 1; dy++)
      for (let dx = -1; dx <= 1; dx++) {
        const yy = y + dy;
        const xx = x + dx;
        if (yy >= 0 && yy < S && xx >= 0 && xx < S && white[yy * S + xx]) w = true;
      }
    if (w) hits++;
  }
  return checked > 0 && hits / checked >= 0.6;
}

function lenientDot(subject: Box, object: Box, white: Uint8Array): boolean {
  const [cy, cx] = dotPixel(subject, object);
  let n = 0;
  for (let y = cy - 3; y <= cy + 3; y++) for (let x = cx - 3; x <= cx + 3; x++) n += white[y * S + x];
  return n >= 5;
}

/** The old verdict on each relation of `scene` in `image`. */
export function lenientRelations(scene: Scene, image: Float32Array): boolean[] {
  const white = whiteOf(image);
  const boxes = scene.instances.map((i) => i.box);
  return scene.relations.map((r) =>
    r.action === 'linked to'
      ? lenientLink(boxes[r.subject], boxes[r.object], boxes, white)
      : lenientDot(boxes[r.subject], boxes[r.object], white),
  );
}
