/**
 * Exact evaluator of MiniMIG images: scores any 3×32×32 RGB image in [−1, 1] (a render, a
 * model's sample) against its scene, with no learned detector. Thresholds are in byte units
 * (u = (x + 1)·127.5) and follow from the world's colours: palette colours have channels at 0
 * or 255, marks are white, backgrounds have every channel ≤ 130.
 *
 * Pixel classes
 * - colour c: membership α_c = clamp(1 − ‖u − c‖ / D_c, 0, 1), D_c the distance from c to the
 *   nearest background level of any tint (α is about the weight of c in a blurred edge pixel); a
 *   pixel has colour c when α_c ≥ ½ and no other colour's α is larger;
 * - white (a mark): every channel > WHITE_LEVEL.
 *
 * Per instance (colour c, shape s, box b), modelled on COCO-MIG's metrics:
 * 1. the 4-connected components of colour-c pixels; the one whose bounding rectangle has the
 *    largest IoU with b is the detection (none overlapping b: not found, colour wrong);
 * 2. IoU = IoU(detection's bounding rectangle, b);
 * 3. shape from the detection's mask (white pixels inside its rectangle count as the shape's, so
 *    a "looking at" dot is no hole): a triangle when its centroid lies ≥ TRIANGLE_OFFSET of the
 *    height below the rectangle's centre, else a square when it fills ≥ SQUARE_FILL of the
 *    rectangle, else a circle;
 * 4. ok = found (right colour) ∧ right shape ∧ IoU ≥ 0.5; the mIoU term is the IoU, 0 when the
 *    colour is wrong (as COCO-MIG).
 * Per relation: "linked to" — the points every ½ px along the segment between the box centres
 * that lie outside every box; the mark is present when ≥ LINK_FRACTION of them have a white
 * pixel in their 3×3 neighbourhood. "looking at" — present when ≥ DOT_MIN_WHITE pixels of the 7×7
 * window at the dot's place (`dotPixel`) are white.
 * Style: background pixels = outside every box grown by 1 px, neither white nor a palette colour.
 * Tint: the tint whose chromaticity (r, g, b)/(r + g + b) is nearest to the pixels' mean colour.
 * Texture: for every textured template (texture × phase), the least-squares fit
 * luminance ≈ α + β·template over the background pixels; the best fit (largest R²) with
 * β ≥ TEXTURE_MIN_CONTRAST and R² ≥ TEXTURE_MIN_R2 is the texture, otherwise plain.
 * Clean: the RMS per channel of each pixel's distance to the nearest value the world draws (a
 * palette colour, white, a tint level), in [−1, 1] units; clean when ≤ CLEAN_RMS. Success rates
 * alone would count a noisy, off-manifold image whose shapes still read right.
 */
import { describe } from '../../core/validate.ts';
import { meanEstimate, rate, type Estimate } from '../shapes/evaluate.ts';
import { DOT_RADIUS, dotPixel, insideShapeRect } from './render.ts';
import {
  CHANNELS,
  COLOURS,
  IMAGE_SIZE,
  MARK_RGB,
  PALETTE,
  TEXTURE_PERIOD,
  TEXTURES,
  TINTS,
  TINT_HIGH,
  boxCentre,
  textureAt,
  tintLevels,
  validateScene,
  type Action,
  type Box,
  type Colour,
  type Rgb8,
  type Scene,
  type Shape,
  type Texture,
  type Tint,
} from './world.ts';

const S = IMAGE_SIZE;
const PLANE = S * S;
export const WHITE_LEVEL = 140;
/**
 * Row skewness up to which a detection is a triangle: exact −0.57, square and circle 0; under a
 * 3×3 box blur the medians are −0.41 and 0, and the threshold sits halfway.
 */
export const TRIANGLE_SKEW = -0.2;
/** Corner-to-inside membership ratio from which a detection is a square: exact 1 and 0; blurred medians 0.67 and 0.19. */
export const SQUARE_CORNERS = 0.45;
/** Smallest luminance step (bytes) between a texture's high and low pixels (the world's: 47–66). */
export const TEXTURE_MIN_CONTRAST = 12;
export const IOU_THRESHOLD = 0.5;
export const LINK_FRACTION = 0.6;
/**
 * "Looking at": the dot is present when ≥ DOT_MIN_WHITE pixels of the DOT_WINDOW² window at its
 * place are white. The renderer's dot is a 5×5 square clipped to the shape's interior (6 white
 * pixels for an 8-px triangle, up to 25); the 7×7 window (inside the box, where no line runs)
 * keeps a dot drawn a pixel off.
 */
export const DOT_MIN_WHITE = 5;
export const DOT_WINDOW = 7;
export const TEXTURE_MIN_R2 = 0.1;
export const CLEAN_RMS = 0.25;

/** Low and high level of every tint. */
const BACKGROUND_LEVELS: readonly Rgb8[] = TINTS.flatMap((t) => Object.values(tintLevels(t)));

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

export interface RelationResult {
  readonly subject: number;
  readonly object: number;
  readonly action: Action;
  /** "linked to": fraction of the checked line points that are white; "looking at": number of white pixels in the 7×7 dot window. */
  readonly evidence: number;
  readonly ok: boolean;
}

export interface SceneEvaluation {
  readonly level: number;
  readonly instances: readonly InstanceResult[];
  readonly relations: readonly RelationResult[];
  readonly style: {
    readonly texture: Texture;
    readonly tint: Tint;
    readonly foundTexture: Texture | null;
    readonly foundTint: Tint | null;
    readonly ok: boolean;
  };
  readonly clean: { readonly rms: number; readonly ok: boolean };
}

/** Image (Float32Array 3×32×32 in [−1, 1]) → bytes-scale float copy u = (x + 1)·127.5. */
function toBytesScale(image: Float32Array): Float32Array {
  if (!(image instanceof Float32Array) || image.length !== CHANNELS * PLANE) {
    throw new RangeError(
      `image must be a Float32Array of length ${CHANNELS * PLANE} (3×32×32), got ${describe(image)}`,
    );
  }
  const u = new Float32Array(image.length);
  for (let i = 0; i < image.length; i++) {
    if (!Number.isFinite(image[i])) throw new RangeError(`image[${i}] must be finite, got ${image[i]}`);
    u[i] = (image[i] + 1) * 127.5;
  }
  return u;
}

const dist2 = (u: Float32Array, q: number, c: Rgb8) =>
  (u[q] - c[0]) ** 2 + (u[PLANE + q] - c[1]) ** 2 + (u[2 * PLANE + q] - c[2]) ** 2;

/**
 * Membership of each pixel in colour c: α = clamp(1 − ‖u − c‖ / D_c, 0, 1), D_c the distance from c
 * to the nearest background level of any tint (α ≈ the mixing weight of c in a blurred edge).
 */
function membership(u: Float32Array, colour: Colour): Float32Array {
  const c = PALETTE[colour];
  const D = Math.sqrt(
    Math.min(...BACKGROUND_LEVELS.map((b) => (c[0] - b[0]) ** 2 + (c[1] - b[1]) ** 2 + (c[2] - b[2]) ** 2)),
  );
  const a = new Float32Array(PLANE);
  for (let q = 0; q < PLANE; q++) a[q] = Math.max(0, Math.min(1, 1 - Math.sqrt(dist2(u, q, c)) / D));
  return a;
}

/**
 * Per pixel: the palette index with the largest membership α (see `membership`) when that α is
 * ≥ ½, else −1; whiteness; and the memberships of every colour.
 */
function classify(u: Float32Array): Classes {
  const alpha = COLOURS.map((c) => membership(u, c));
  const colour = new Int8Array(PLANE).fill(-1);
  const white = new Uint8Array(PLANE);
  for (let q = 0; q < PLANE; q++) {
    let best = 0.5;
    alpha.forEach((a, k) => {
      if (a[q] >= best) {
        best = a[q];
        colour[q] = k;
      }
    });
    white[q] = Math.min(u[q], u[PLANE + q], u[2 * PLANE + q]) > WHITE_LEVEL ? 1 : 0;
  }
  return { colour, white, alpha };
}

interface Classes {
  colour: Int8Array;
  white: Uint8Array;
  alpha: Float32Array[];
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
  const w = x1 - x0;
  const h = y1 - y0;
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
      if (insideShapeRect('circle', x0, y0, w, h, y, x)) {
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

/** `dot`: centre pixel of the instance's own "looking at" dot, or null. */
function evaluateInstance(
  colour: Colour,
  shape: Shape,
  box: Box,
  cls: Classes,
  dot: readonly [number, number] | null,
): InstanceResult {
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

function insideAnyBox(boxes: readonly Box[], y: number, x: number, grow: number): boolean {
  return boxes.some((b) => y >= b.y - grow && y < b.y + b.size + grow && x >= b.x - grow && x < b.x + b.size + grow);
}

/** Fraction of the segment's points outside every box with a white pixel in their 3×3 neighbourhood. */
function linkEvidence(a: Box, b: Box, boxes: readonly Box[], white: Uint8Array): number {
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
function dotEvidence(subject: Box, object: Box, white: Uint8Array): number {
  const [cy, cx] = dotPixel(subject, object);
  const r = (DOT_WINDOW - 1) / 2;
  let n = 0;
  for (let y = cy - r; y <= cy + r; y++) for (let x = cx - r; x <= cx + r; x++) n += white[y * S + x];
  return n;
}

/** Background pixel indices: outside every box grown by `grow` px, neither white nor a palette colour. */
function backgroundPixels(boxes: readonly Box[], cls: Classes, grow: number): number[] {
  const out: number[] = [];
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const q = y * S + x;
      if (!insideAnyBox(boxes, y, x, grow) && cls.colour[q] < 0 && !cls.white[q]) out.push(q);
    }
  }
  return out;
}

const MIN_BACKGROUND = 32;

function findTint(u: Float32Array, bg: readonly number[]): Tint {
  const m = [0, 0, 0];
  for (const q of bg) for (let c = 0; c < 3; c++) m[c] += u[c * PLANE + q];
  const sum = m[0] + m[1] + m[2] || 1;
  let best: Tint = TINTS[0];
  let bestD = Infinity;
  for (const t of TINTS) {
    const h = TINT_HIGH[t];
    const hs = h[0] + h[1] + h[2];
    const d = (m[0] / sum - h[0] / hs) ** 2 + (m[1] / sum - h[1] / hs) ** 2 + (m[2] / sum - h[2] / hs) ** 2;
    if (d < bestD) {
      bestD = d;
      best = t;
    }
  }
  return best;
}

/** Best textured template by R² of luminance ≈ α + β·template (β ≥ TEXTURE_MIN_CONTRAST); plain when no R² reaches TEXTURE_MIN_R2. */
function findTexture(u: Float32Array, bg: readonly number[]): Texture {
  const n = bg.length;
  const lum = bg.map((q) => (u[q] + u[PLANE + q] + u[2 * PLANE + q]) / 3);
  const mean = lum.reduce((a, b) => a + b, 0) / n;
  const ssTot = lum.reduce((a, l) => a + (l - mean) ** 2, 0);
  if (ssTot === 0) return 'plain';
  let best: Texture = 'plain';
  let bestR2 = TEXTURE_MIN_R2;
  for (const texture of TEXTURES) {
    if (texture === 'plain') continue;
    const cols = texture === 'stripes' ? 1 : TEXTURE_PERIOD;
    for (let py = 0; py < TEXTURE_PERIOD; py++) {
      for (let px = 0; px < cols; px++) {
        // simple regression on a 0/1 regressor: β = mean(on) − mean(off), SS_explained = β²·n_on·n_off/n
        let on = 0;
        let sumOn = 0;
        bg.forEach((q, i) => {
          if (textureAt(texture, [py, px], Math.floor(q / S), q % S)) {
            on++;
            sumOn += lum[i];
          }
        });
        if (on === 0 || on === n) continue;
        const beta = sumOn / on - (mean * n - sumOn) / (n - on);
        if (beta < TEXTURE_MIN_CONTRAST) continue;
        const r2 = (beta * beta * on * (n - on)) / n / ssTot;
        if (r2 > bestR2) {
          bestR2 = r2;
          best = texture;
        }
      }
    }
  }
  return best;
}

/** Every value the world draws: palette colours, white, the low and high level of every tint. */
const DRAWABLE: readonly Rgb8[] = [...COLOURS.map((c) => PALETTE[c]), MARK_RGB, ...BACKGROUND_LEVELS];

function cleanRms(u: Float32Array): number {
  let sum = 0;
  for (let q = 0; q < PLANE; q++) {
    let d = Infinity;
    for (const c of DRAWABLE) d = Math.min(d, dist2(u, q, c));
    sum += d;
  }
  return Math.sqrt(sum / (3 * PLANE)) / 127.5;
}

/** Scores one image (Float32Array 3×32×32, channel-major, values in [−1, 1]) against its scene. */
export function evaluateScene(scene: Scene, image: Float32Array): SceneEvaluation {
  validateScene(scene);
  const u = toBytesScale(image);
  const cls = classify(u);
  const boxes = scene.instances.map((i) => i.box);
  const instances = scene.instances.map((inst, i) => {
    const r = scene.relations.find((rel) => rel.subject === i && rel.action === 'looking at');
    return evaluateInstance(inst.colour, inst.shape, inst.box, cls, r ? dotPixel(inst.box, boxes[r.object]) : null);
  });
  const relations = scene.relations.map((r) => {
    const a = boxes[r.subject];
    const b = boxes[r.object];
    const evidence = r.action === 'linked to' ? linkEvidence(a, b, boxes, cls.white) : dotEvidence(a, b, cls.white);
    const ok = r.action === 'linked to' ? evidence >= LINK_FRACTION : evidence >= DOT_MIN_WHITE;
    return { subject: r.subject, object: r.object, action: r.action, evidence, ok };
  });
  let bg = backgroundPixels(boxes, cls, 1);
  if (bg.length < MIN_BACKGROUND) bg = backgroundPixels(boxes, cls, 0);
  const { texture, tint } = scene.style;
  const foundTexture = bg.length < MIN_BACKGROUND ? null : findTexture(u, bg);
  const foundTint = bg.length < MIN_BACKGROUND ? null : findTint(u, bg);
  const rms = cleanRms(u);
  return {
    level: scene.instances.length,
    instances,
    relations,
    style: { texture, tint, foundTexture, foundTint, ok: foundTexture === texture && foundTint === tint },
    clean: { rms, ok: rms <= CLEAN_RMS },
  };
}

export interface MiniMigSummaryRow {
  /** Instances per scene, or 'all'. */
  readonly level: number | 'all';
  readonly images: number;
  /** Successful instances / instances; binomial se √(p(1−p)/n), instances counted as independent. */
  readonly instanceSuccess: Estimate;
  /** Mean mIoU term over instances; se = s/√n. */
  readonly mIoU: Estimate;
  /** Marks present / relations; null when no scene of the level has a relation. */
  readonly interactionSuccess: Estimate | null;
  /** Images with the right texture and tint / images. */
  readonly styleSuccess: Estimate;
  /** Clean images / images. */
  readonly cleanRate: Estimate;
}

function summaryRow(level: number | 'all', rs: readonly SceneEvaluation[]): MiniMigSummaryRow {
  const inst = rs.flatMap((r) => r.instances);
  const rel = rs.flatMap((r) => r.relations);
  return {
    level,
    images: rs.length,
    instanceSuccess: rate(inst.filter((i) => i.ok).length, inst.length),
    mIoU: meanEstimate(inst.map((i) => i.miou)),
    interactionSuccess: rel.length === 0 ? null : rate(rel.filter((r) => r.ok).length, rel.length),
    styleSuccess: rate(rs.filter((r) => r.style.ok).length, rs.length),
    cleanRate: rate(rs.filter((r) => r.clean.ok).length, rs.length),
  };
}

/** Per-level (L1–L4 present in the results) and overall rows with standard errors. */
export function summarizeScenes(results: readonly SceneEvaluation[]): {
  overall: MiniMigSummaryRow;
  levels: MiniMigSummaryRow[];
} {
  if (!Array.isArray(results) || results.length < 1) {
    throw new RangeError(`results must be a non-empty array of evaluateScene results, got ${describe(results)}`);
  }
  const levels = [...new Set(results.map((r) => r.level))].sort((a, b) => a - b);
  return {
    overall: summaryRow('all', results),
    levels: levels.map((l) =>
      summaryRow(
        l,
        results.filter((r) => r.level === l),
      ),
    ),
  };
}
