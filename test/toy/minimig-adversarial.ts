/**
 * Known-wrong MiniMIG marks for the evaluator's adversarial tests: each takes a scene with one
 * relation and draws something that is not its mark (or not only its mark) where the old, lenient
 * tests (minimig-lenient.ts) looked. Images are 3×32×32 in [−1, 1].
 */
import {
  LINE_HALF_WIDTH,
  boxCentre,
  bytesToUnit,
  distanceToLink,
  dotMask,
  dotPixel,
  insideShape,
  renderScene,
  sampleScene,
  type Box,
  type Scene,
} from '../../src/toy/minimig/index.ts';

const S = 32;
const white = (bytes: Uint8Array, q: number) => {
  bytes[q] = 255;
  bytes[S * S + q] = 255;
  bytes[2 * S * S + q] = 255;
};
const inBox = (b: Box, y: number, x: number) => y >= b.y && y < b.y + b.size && x >= b.x && x < b.x + b.size;

/** Scenes of `instances` instances with exactly one relation, of the given action, from seed `seed`. */
export function oneRelationScenes(
  action: 'linked to' | 'looking at',
  instances: number,
  count: number,
  seed: number,
  keep: (s: Scene) => boolean = () => true,
): Scene[] {
  const out: Scene[] = [];
  for (let i = 0; out.length < count; i++) {
    const s = sampleScene(seed, i, { instances, relations: 1 });
    if (s.relations[0].action === action && keep(s)) out.push(s);
  }
  return out;
}

/** Pixel offset of the rendered dot's centroid from the subject box's centre. */
export function dotOffset(s: Scene): number {
  const r = s.relations[0];
  const m = dotMask(s.instances[r.subject], s.instances[r.object].box);
  const [cy, cx] = boxCentre(s.instances[r.subject].box);
  const y = m.reduce((a, q) => a + Math.floor(q / S) + 0.5, 0) / m.length;
  const x = m.reduce((a, q) => a + (q % S) + 0.5, 0) / m.length;
  return Math.hypot(y - cy, x - cx);
}

function withMarks(s: Scene, marks: boolean, draw: (bytes: Uint8Array) => void): Float32Array {
  const bytes = renderScene(s, { marks });
  draw(bytes);
  return bytesToUnit(bytes);
}

/** The subject painted white all over (the dot included). */
export function whitenedSubject(s: Scene): Float32Array {
  const { shape, box } = s.instances[s.relations[0].subject];
  return withMarks(s, true, (b) => {
    for (let y = box.y; y < box.y + box.size; y++)
      for (let x = box.x; x < box.x + box.size; x++) if (insideShape(shape, box, y, x)) white(b, y * S + x);
  });
}

/** The dot mirrored through the subject box's centre (on the side facing away from the object), clipped to the shape. */
export function mirroredDot(s: Scene): Float32Array {
  const r = s.relations[0];
  const sub = s.instances[r.subject];
  const { y: y0, x: x0, size } = sub.box;
  return withMarks(s, false, (b) => {
    for (const q of dotMask(sub, s.instances[r.object].box)) {
      const y = 2 * y0 + size - 1 - Math.floor(q / S);
      const x = 2 * x0 + size - 1 - (q % S);
      if (insideShape(sub.shape, sub.box, y, x)) white(b, y * S + x);
    }
  });
}

/** The dot drawn on the object, facing the subject, and none on the subject. */
export function dotOnObject(s: Scene): Float32Array {
  const r = s.relations[0];
  return withMarks(s, false, (b) => {
    for (const q of dotMask(s.instances[r.object], s.instances[r.subject].box)) white(b, q);
  });
}

/** A 9×9 white patch centred on the dot's place, clipped to the subject's shape. */
export function oversizedPatch(s: Scene): Float32Array {
  const r = s.relations[0];
  const sub = s.instances[r.subject];
  const [cy, cx] = dotPixel(sub.box, s.instances[r.object].box);
  return withMarks(s, true, (b) => {
    for (let y = cy - 4; y <= cy + 4; y++)
      for (let x = cx - 4; x <= cx + 4; x++) if (insideShape(sub.shape, sub.box, y, x)) white(b, y * S + x);
  });
}

/** The pixels the renderer draws for a line from a to b (within LINE_HALF_WIDTH of the segment, outside every box), with their position t ∈ [0, 1] along it. */
function linePixels(a: Box, b: Box, boxes: readonly Box[]): { q: number; along: number }[] {
  const [ay, ax] = boxCentre(a);
  const [by, bx] = boxCentre(b);
  const len = Math.hypot(by - ay, bx - ax);
  const out: { q: number; along: number }[] = [];
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) {
      if (distanceToLink(a, b, y, x) > LINE_HALF_WIDTH || boxes.some((box) => inBox(box, y, x))) continue;
      out.push({ q: y * S + x, along: ((y + 0.5 - ay) * (by - ay) + (x + 0.5 - ax) * (bx - ax)) / len });
    }
  return out;
}

const linkBoxes = (s: Scene) => [s.instances[s.relations[0].subject].box, s.instances[s.relations[0].object].box];

/** A 3×3 white smudge at the middle of the line's visible part, and no line. */
export function smudge(s: Scene): Float32Array {
  const [a, b] = linkBoxes(s);
  const px = linePixels(
    a,
    b,
    s.instances.map((i) => i.box),
  ).sort((u, v) => u.along - v.along);
  const mid = px[Math.floor(px.length / 2)].q;
  return withMarks(s, false, (bytes) => {
    const y = Math.floor(mid / S);
    const x = mid % S;
    for (let dy = -1; dy <= 1; dy++)
      for (let dx = -1; dx <= 1; dx++)
        if (y + dy >= 0 && y + dy < S && x + dx >= 0 && x + dx < S) white(bytes, (y + dy) * S + x + dx);
  });
}

/** The line drawn in 3-px dashes with 3-px gaps along it. */
export function dashedLine(s: Scene): Float32Array {
  const [a, b] = linkBoxes(s);
  return withMarks(s, false, (bytes) => {
    for (const { q, along } of linePixels(
      a,
      b,
      s.instances.map((i) => i.box),
    ))
      if (Math.floor(along / 3) % 2 === 0) white(bytes, q);
  });
}

/** Only the half of the line's visible part nearer the subject. */
export function halfLine(s: Scene): Float32Array {
  const [a, b] = linkBoxes(s);
  const px = linePixels(
    a,
    b,
    s.instances.map((i) => i.box),
  );
  const lo = Math.min(...px.map((p) => p.along));
  const hi = Math.max(...px.map((p) => p.along));
  return withMarks(s, false, (bytes) => {
    for (const { q, along } of px) if (along <= (lo + hi) / 2) white(bytes, q);
  });
}

/** The line from the subject to another instance than the object. */
export function lineToWrongBox(s: Scene): Float32Array {
  const r = s.relations[0];
  const other = s.instances.findIndex((_, i) => i !== r.subject && i !== r.object);
  const boxes = s.instances.map((i) => i.box);
  return withMarks(s, false, (bytes) => {
    for (const { q } of linePixels(boxes[r.subject], boxes[other], boxes)) white(bytes, q);
  });
}

/** Length in pixels of the part of the relation's segment (box centre to box centre) outside every box. */
export function visibleLength(s: Scene): number {
  const r = s.relations[0];
  const [a, b] = [s.instances[r.subject].box, s.instances[r.object].box];
  const [ay, ax] = boxCentre(a);
  const [by, bx] = boxCentre(b);
  const steps = Math.ceil(2 * Math.hypot(by - ay, bx - ax));
  let n = 0;
  for (let i = 0; i <= steps; i++) {
    const y = Math.floor(ay + ((by - ay) * i) / steps);
    const x = Math.floor(ax + ((bx - ax) * i) / steps);
    if (!s.instances.some((inst) => inBox(inst.box, y, x))) n++;
  }
  return n / 2;
}
