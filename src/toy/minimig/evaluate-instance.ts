/**
 * One instance of a MiniMIG scene scored (evaluate.ts, steps 1–4): the colour's components, the
 * one best overlapping the box, its IoU and its shape.
 */
import { DOT_RADIUS, insideShapeRect } from './render.ts';
import { COLOURS, type Box, type Colour, type Instance, type Shape } from './world.ts';
import { PLANE, S, type Classes } from './evaluate-pixels.ts';

/**
 * Row skewness up to which a detection is a triangle: exact −0.57, square and circle 0; under a
 * 3×3 box blur the medians are −0.41 and 0, and the threshold sits halfway.
 */
export const TRIANGLE_SKEW = -0.2;
/** Corner-to-inside membership ratio from which a detection is a square: exact 1 and 0; blurred medians 0.67 and 0.19. */
export const SQUARE_CORNERS = 0.45;
export const IOU_THRESHOLD = 0.5;

export interface InstanceResult {
  readonly colour: Colour;
  readonly shape: Shape;
  readonly box: Box;
  /** Bounding rectangle [x0, y0, x1, y1) (pixels) of the detected component, or null. */
  readonly found: readonly [number, number, number, number] | null;
  readonly colourOk: boolean;
  readonly foundShape: Shape | null;
  readonly shapeOk: boolean;
  readonly iou: number;
  readonly ok: boolean;
  /** The mIoU term: IoU, 0 when the colour is wrong. */
  readonly miou: number;
}

type Rect = [number, number, number, number]; // x0, y0, x1, y1 (exclusive)

function rectIoU(a: Rect, b: Rect): number {
  const iw = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const ih = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = iw * ih;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

const boxRect = (b: Box): Rect => [b.x, b.y, b.x + b.size, b.y + b.size];

/** 4-connected components of the pixels with colour index k: their pixel lists. */
function components(colour: Int8Array, k: number): number[][] {
  const seen = new Uint8Array(PLANE);
  const out: number[][] = [];
  for (let q0 = 0; q0 < PLANE; q0++) {
    if (seen[q0] || colour[q0] !== k) continue;
    const comp: number[] = [];
    const stack = [q0];
    seen[q0] = 1;
    while (stack.length > 0) {
      const q = stack.pop()!;
      comp.push(q);
      const y = Math.floor(q / S);
      const x = q % S;
      for (const [ny, nx] of [
        [y - 1, x],
        [y + 1, x],
        [y, x - 1],
        [y, x + 1],
      ]) {
        if (ny < 0 || ny >= S || nx < 0 || nx >= S) continue;
        const n = ny * S + nx;
        if (!seen[n] && colour[n] === k) {
          seen[n] = 1;
          stack.push(n);
        }
      }
    }
    out.push(comp);
  }
  return out;
}

function boundingRect(pixels: readonly number[]): Rect {
  const r: Rect = [S, S, 0, 0];
  for (const q of pixels) {
    const y = Math.floor(q / S);
    const x = q % S;
    r[0] = Math.min(r[0], x);
    r[1] = Math.min(r[1], y);
    r[2] = Math.max(r[2], x + 1);
    r[3] = Math.max(r[3], y + 1);
  }
  return r;
}

/**
 * Shape of a detection from blur-robust statistics of the membership α over its rectangle
 * (`inDot` marks the white pixels of the instance's own 5×5 "looking at" dot: they count as the
 * shape's in the row moments, so the dot is no hole, and are left out of the corner ratio, where
 * a dot reaching into the corners of a small circle would make it read as a square):
 * - triangle when the skewness of the row coordinate is ≤ TRIANGLE_SKEW (a triangle with its apex
 *   up: −0.57; square and circle: 0; a symmetric blur adds no third cumulant but widens the spread);
 * - otherwise square when the mean α in the rectangle's corners (outside the inscribed ellipse)
 *   is ≥ SQUARE_CORNERS × the mean α inside it (square: 1, circle: 0), else circle.
 */
function fitShape(alpha: Float32Array, inDot: (y: number, x: number) => boolean, rect: Rect): Shape {
  const [x0, y0, x1, y1] = rect;
  const box = { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
  let m0 = 0;
  let m1 = 0;
  let inner = 0;
  let nInner = 0;
  let corner = 0;
  let nCorner = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const dot = inDot(y, x);
      const a = dot ? 1 : alpha[y * S + x];
      m0 += a;
      m1 += a * y;
      if (dot) continue;
      if (insideShapeRect('circle', box, y, x)) {
        inner += a;
        nInner++;
      } else {
        corner += a;
        nCorner++;
      }
    }
  }
  const mean = m0 === 0 ? 0 : m1 / m0;
  let m2 = 0;
  let m3 = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const a = inDot(y, x) ? 1 : alpha[y * S + x];
      m2 += a * (y - mean) ** 2;
      m3 += a * (y - mean) ** 3;
    }
  }
  const skew = m2 === 0 ? 0 : m3 / m0 / (m2 / m0) ** 1.5;
  const corners = nCorner === 0 || inner === 0 ? 1 : corner / nCorner / (inner / nInner);
  if (skew <= TRIANGLE_SKEW) return 'triangle';
  return corners >= SQUARE_CORNERS ? 'square' : 'circle';
}

/** Scores one instance of the scene on the classified pixels; `dot`: centre pixel of the instance's own "looking at" dot, or null. */
export function evaluateInstance(inst: Instance, cls: Classes, dot: readonly [number, number] | null): InstanceResult {
  const { colour, shape, box } = inst;
  const target = boxRect(box);
  let found: Rect | null = null;
  let iou = 0;
  for (const comp of components(cls.colour, COLOURS.indexOf(colour))) {
    const rect = boundingRect(comp);
    const v = rectIoU(rect, target);
    if (v > iou) {
      iou = v;
      found = rect;
    }
  }
  const inDot = (y: number, x: number) =>
    dot !== null &&
    Math.abs(y - dot[0]) <= DOT_RADIUS &&
    Math.abs(x - dot[1]) <= DOT_RADIUS &&
    cls.white[y * S + x] === 1;
  const foundShape = found === null ? null : fitShape(cls.alpha[COLOURS.indexOf(colour)], inDot, found);
  const colourOk = found !== null;
  const shapeOk = foundShape === shape;
  return {
    colour,
    shape,
    box,
    found,
    colourOk,
    foundShape,
    shapeOk,
    iou,
    ok: colourOk && shapeOk && iou >= IOU_THRESHOLD,
    miou: colourOk ? iou : 0,
  };
}
