/**
 * Exact renderer of MiniMIG scenes: RGB bytes (0..255), channel-major 3×32×32, the layout of the
 * training file (x = u/127.5 − 1 gives the models' [−1, 1] values).
 *
 * Drawing order: background texture → "linked to" lines (outside every box) → shapes → "looking at" dots
 * (clipped to the subject's shape). A pixel
 * belongs to a figure when its centre (y + ½, x + ½) does (no anti-aliasing).
 */
import {
  CHANNELS,
  IMAGE_SIZE,
  MARK_RGB,
  PALETTE,
  boxCentre,
  textureAt,
  tintLevels,
  validateScene,
  validateStyle,
  type Box,
  type Instance,
  type Relation,
  type Rgb8,
  type Scene,
  type Shape,
  type Style,
} from './world.ts';

const PLANE = IMAGE_SIZE * IMAGE_SIZE;
/** Half width of a "linked to" line: pixel centres within this distance of the segment are drawn. */
export const LINE_HALF_WIDTH = 1;
/**
 * A "looking at" dot is a (2·DOT_RADIUS + 1)² = 5×5 px square centred DOT_INSET pixels inside the
 * subject's box edge. 5×5, not 3×3: the zoo's VAE (4×4-pixel latent cells) keeps a 5×5 white dot
 * and loses a 3×3 one, which would cap any learned model's interaction success.
 */
export const DOT_RADIUS = 2;
export const DOT_INSET = 3;

/** A rectangle of pixels: top-left corner (x, y), width w and height h. */
export interface PixelRect {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

/**
 * Whether the pixel centre (y + ½, x + ½) lies in the shape drawn in `rect`: the whole rectangle
 * (square), the inscribed ellipse (circle), or the triangle with its apex in the top row's centre
 * and its base along the bottom row. The renderer's boxes are square (w = h); the evaluator fits
 * shapes to detected rectangles.
 */
export function insideShapeRect(shape: Shape, rect: PixelRect, y: number, x: number): boolean {
  return insideAt(shape, rect.x, rect.y, rect.w, rect.h, y, x);
}

/** Whether the pixel centre (y + ½, x + ½) lies in the shape drawn in `box`. */
export function insideShape(shape: Shape, box: Box, y: number, x: number): boolean {
  return insideAt(shape, box.x, box.y, box.size, box.size, y, x);
}

/** The test of both, on the rectangle's numbers (positional: it runs per pixel, without a rectangle object). */
function insideAt(shape: Shape, x0: number, y0: number, w: number, h: number, y: number, x: number): boolean {
  const py = y + 0.5;
  const px = x + 0.5;
  if (py < y0 || py > y0 + h || px < x0 || px > x0 + w) return false;
  const cx = x0 + w / 2;
  switch (shape) {
    case 'square':
      return true;
    case 'circle':
      return ((py - y0 - h / 2) / (h / 2)) ** 2 + ((px - cx) / (w / 2)) ** 2 <= 1;
    case 'triangle': // half width (w/2)·(py − y0 + ½)/h: the top row holds the apex, the bottom row is full
      return Math.abs(px - cx) <= ((py - y0 + 0.5) / h) * (w / 2);
  }
}

/** Distance from the pixel centre to the segment between the two box centres. */
export function distanceToLink(a: Box, b: Box, y: number, x: number): number {
  const [ay, ax] = boxCentre(a);
  const [by, bx] = boxCentre(b);
  const dy = by - ay;
  const dx = bx - ax;
  const t = Math.max(0, Math.min(1, ((y + 0.5 - ay) * dy + (x + 0.5 - ax) * dx) / (dy * dy + dx * dx)));
  return Math.hypot(y + 0.5 - (ay + t * dy), x + 0.5 - (ax + t * dx));
}

/** Pixel [row, column] at the centre of the 5×5 "looking at" dot of `subject` towards `object`; the dot lies inside the box. */
export function dotPixel(subject: Box, object: Box): [number, number] {
  const [sy, sx] = boxCentre(subject);
  const [oy, ox] = boxCentre(object);
  const len = Math.hypot(oy - sy, ox - sx);
  const r = subject.size / 2 - DOT_INSET;
  // a 1-px frame of the shape's colour around the dot keeps the instance one blob; rows stay in
  // the box's lower half (from one above the middle), where a triangle is wide enough for the dot
  const hi = (lo: number) => lo + subject.size - 2 - DOT_RADIUS;
  const row = Math.max(
    subject.y + Math.floor(subject.size / 2) - 1,
    Math.min(hi(subject.y), Math.floor(sy + ((oy - sy) / len) * r)),
  );
  const col = Math.max(subject.x + DOT_RADIUS + 1, Math.min(hi(subject.x), Math.floor(sx + ((ox - sx) / len) * r)));
  return [row, col];
}

function put(out: Uint8Array, q: number, c: Rgb8): void {
  out[q] = c[0];
  out[PLANE + q] = c[1];
  out[2 * PLANE + q] = c[2];
}

function drawBackground(out: Uint8Array, style: Style): void {
  const { low, high } = tintLevels(style.tint);
  for (let y = 0; y < IMAGE_SIZE; y++) {
    for (let x = 0; x < IMAGE_SIZE; x++)
      put(out, y * IMAGE_SIZE + x, textureAt(style.texture, style.phase, y, x) ? high : low);
  }
}

const inBox = (b: Box, y: number, x: number) => y >= b.y && y < b.y + b.size && x >= b.x && x < b.x + b.size;

/** The "linked to" line, outside every box (inside a box it would merge with a dot or read as part of a shape). */
function drawLink(out: Uint8Array, a: Box, b: Box, boxes: readonly Box[]): void {
  const [ay, ax] = boxCentre(a);
  const [by, bx] = boxCentre(b);
  // only pixels near the segment's bounding box can be within LINE_HALF_WIDTH of it
  const lo = (u: number, v: number) => Math.max(0, Math.floor(Math.min(u, v) - LINE_HALF_WIDTH - 1));
  const hi = (u: number, v: number) => Math.min(IMAGE_SIZE - 1, Math.ceil(Math.max(u, v) + LINE_HALF_WIDTH));
  for (let y = lo(ay, by); y <= hi(ay, by); y++) {
    for (let x = lo(ax, bx); x <= hi(ax, bx); x++) {
      if (distanceToLink(a, b, y, x) <= LINE_HALF_WIDTH && !boxes.some((box) => inBox(box, y, x)))
        put(out, y * IMAGE_SIZE + x, MARK_RGB);
    }
  }
}

/**
 * The pixels (row · 32 + column) of the "looking at" dot of `subject` towards `object`: the 5×5
 * square at `dotPixel`, clipped to the pixels whose 3×3 neighbourhood lies in the subject's shape,
 * so the shape keeps its outline and stays one 4-connected blob around the dot. Between 6 (an
 * 8-px triangle) and 25 pixels. The evaluator compares a found dot with this mask.
 */
export function dotMask(subject: Instance, object: Box): number[] {
  const [cy, cx] = dotPixel(subject.box, object);
  const inside = (yy: number, xx: number) => insideShape(subject.shape, subject.box, yy, xx);
  const q: number[] = [];
  for (let y = cy - DOT_RADIUS; y <= cy + DOT_RADIUS; y++) {
    for (let x = cx - DOT_RADIUS; x <= cx + DOT_RADIUS; x++) {
      let all = true;
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) all &&= inside(y + dy, x + dx);
      if (all) q.push(y * IMAGE_SIZE + x);
    }
  }
  return q;
}

function drawDot(out: Uint8Array, subject: Instance, object: Box): void {
  for (const q of dotMask(subject, object)) put(out, q, MARK_RGB);
}

export interface RenderOptions {
  /** Draw the interaction marks (default true); false gives MIGC-mini's training images. */
  marks?: boolean;
  /** Write into this array (length 3·32·32) instead of a new one. */
  out?: Uint8Array;
}

function target(out: Uint8Array | undefined): Uint8Array {
  if (out === undefined) return new Uint8Array(CHANNELS * PLANE);
  if (!(out instanceof Uint8Array) || out.length !== CHANNELS * PLANE) {
    throw new RangeError(`opts.out must be a Uint8Array of length ${CHANNELS * PLANE} (3×32×32)`);
  }
  return out;
}

function relationBoxes(scene: Scene, r: Relation): [Box, Box] {
  return [scene.instances[r.subject].box, scene.instances[r.object].box];
}

/** The scene as RGB bytes, channel-major 3×32×32. */
export function renderScene(scene: Scene, opts: RenderOptions = {}): Uint8Array {
  validateScene(scene);
  const marks = opts.marks ?? true;
  if (typeof marks !== 'boolean') throw new TypeError(`opts.marks must be a boolean, got ${typeof marks}`);
  const out = target(opts.out);
  drawBackground(out, scene.style);
  const boxes = scene.instances.map((inst) => inst.box);
  if (marks)
    for (const r of scene.relations) if (r.action === 'linked to') drawLink(out, ...relationBoxes(scene, r), boxes);
  for (const inst of scene.instances) {
    const rgb = PALETTE[inst.colour];
    const { x: x0, y: y0, size } = inst.box;
    for (let y = y0; y < y0 + size; y++) {
      for (let x = x0; x < x0 + size; x++)
        if (insideShape(inst.shape, inst.box, y, x)) put(out, y * IMAGE_SIZE + x, rgb);
    }
  }
  if (marks)
    for (const r of scene.relations)
      if (r.action === 'looking at') drawDot(out, scene.instances[r.subject], scene.instances[r.object].box);
  return out;
}

/** The background alone: a style reference when `style.phase` differs from the scene's. */
export function renderStyle(style: Style, opts: Pick<RenderOptions, 'out'> = {}): Uint8Array {
  validateStyle(style);
  const out = target(opts.out);
  drawBackground(out, style);
  return out;
}

/** Bytes 0..255 → the models' values u/127.5 − 1 in [−1, 1]. */
export function bytesToUnit(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = bytes[i] / 127.5 - 1;
  return out;
}
