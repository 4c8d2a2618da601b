/**
 * Exact evaluator of Shapes images, modelled on COCO-MIG's metrics (MIG_Bench eval_mig.py):
 * no learned detector, so it scores any image — a toy sample or an ONNX run — the same way.
 *
 * Per prompt instance:
 * 1. Matched filter (a generalized likelihood-ratio test, normalized per colour). Per pixel q,
 *    dB_q = min over the world's background grey levels b of ‖x_q − b‖², and q is foreground
 *    when some palette colour is nearer than every background level. For each square position
 *    whose corner is within ±searchRadius (per axis) of the box's corner: c* = the nearest
 *    palette colour to the mean of the square's foreground pixels, and
 *      score = Σ_square (dB_q − ‖x_q − c*‖²) / d(c*) − λ·(|dx| + |dy|),
 *    with d(c) = min_b ‖c − b‖². Each term is ≈ +1 on a pixel of colour c* and ≈ −1 or less on
 *    background, whatever the colour, so squares of every colour score alike (≈ square²) and
 *    data noise adds no colour-dependent bias. A square straddling two touching instances
 *    scores less than either. The distance penalty λ (default square/2, 1/4 of a
 *    one-pixel shift's change of ≈ 2·square) breaks near-ties between neighbours (touching
 *    squares of one colour are ambiguous from the pixels alone).
 * 2. Detection: the best position counts as found when its unpenalized mean per-pixel term is
 *    > 0 (it looks more like c* than like background). Not found: IoU 0 and no colour
 *    (COCO-MIG: no detection).
 * 3. IoU of the found square with the prompt box; its colour is c*.
 * 4. Instance success = found, IoU ≥ iouThreshold (0.5) and right colour. mIoU term = IoU,
 *    set to 0 when the colour is wrong (COCO-MIG keeps the raw IoU below the threshold).
 * Style: the world style with the least squared error over the pixels outside every found
 * square and every prompt box. It is scored only when the prompt names a style.
 */
import { checkNumber, checkInt, describe } from '../../core/validate.ts';
import {
  boxIoU,
  promptLabel,
  squareBox,
  validatePrompt,
  type Box,
  type ShapesInstance,
  type ShapesPrompt,
} from './prompts.ts';
import { BUILTIN_STYLES, checkWorld, type Rgb, type ShapesWorld } from './world.ts';
import { summarizeByLevel } from '../level-summary.ts';

export interface EvaluateOptions {
  /** Largest offset in pixels (per axis) of a scanned square from the box (default world.square). */
  searchRadius?: number;
  /** IoU needed for an instance to succeed (default 0.5, as in COCO-MIG). */
  iouThreshold?: number;
  /** Score penalty per pixel of L1 distance from the box (default square/2). */
  positionPenalty?: number;
}

export interface InstanceEvaluation {
  /** The prompt's box and colour. */
  readonly box: Box;
  readonly color: string;
  /** The best-matching square, or null when nothing near the box is foreground. */
  readonly found: Box | null;
  /** Mean per-pixel matched-filter term over the best square (> 0 means found; ≈ 1 for a clean square). */
  readonly contrast: number;
  readonly iou: number;
  /** Nearest palette colour of the found square's foreground pixels (null when not found). */
  readonly foundColor: string | null;
  readonly colorOk: boolean;
  /** IoU ≥ threshold and right colour. */
  readonly ok: boolean;
  /** The mIoU term: IoU, or 0 when the colour is wrong or nothing was found. */
  readonly miou: number;
}

export interface ImageEvaluation {
  /** Number of instances in the prompt. */
  readonly level: number;
  readonly label: string;
  readonly instances: readonly InstanceEvaluation[];
  /** expected: the prompt's style (null when it names none); ok: null when not scored. */
  readonly style: { readonly expected: string | null; readonly found: string | null; readonly ok: boolean | null };
  /** Every instance succeeded (the image success of COCO-MIG). */
  readonly allInstancesOk: boolean;
  /**
   * How far the pixels are from anything the world draws: rms = per-channel RMS distance of each
   * pixel to its nearest palette colour or background level; clean = rms ≤ 2σ₀. Success rates
   * alone can count a noisy, off-manifold image whose squares still read right.
   */
  readonly fidelity: { readonly rms: number; readonly clean: boolean };
}

/** Scores one image (C×H×W, channel-major, length world.dim) against its prompt. */
export function evaluateImage(
  world: ShapesWorld,
  prompt: ShapesPrompt,
  image: Float32Array,
  opts: EvaluateOptions = {},
): ImageEvaluation {
  checkWorld(world);
  const p = validatePrompt(world, prompt);
  checkImage(world, image, 'image');
  const settings = searchSettings(world, opts);
  const maps = pixelMaps(world, image);
  const scorer = squareScorer(world, image, maps);
  const instances = p.instances.map((inst) =>
    instanceEvaluation(world, inst, bestSquare(world, scorer, inst.box, settings), settings.iouThreshold),
  );
  const foundStyle = nearestStyle(world, image, [
    ...p.instances.map((i) => i.box),
    ...instances.flatMap((i) => (i.found ? [i.found] : [])),
  ]);
  const expected = p.style ?? null;
  return Object.freeze({
    level: p.instances.length,
    label: promptLabel(p),
    instances: Object.freeze(instances),
    style: Object.freeze({ expected, found: foundStyle, ok: expected === null ? null : foundStyle === expected }),
    allInstancesOk: instances.every((i) => i.ok),
    fidelity: Object.freeze({ rms: maps.offManifold, clean: maps.offManifold <= CLEAN_RMS_FACTOR * world.sigma0 }),
  });
}

/** The checked EvaluateOptions: search radius, IoU threshold and position penalty λ. */
interface SearchSettings {
  readonly radius: number;
  readonly iouThreshold: number;
  readonly lambda: number;
}

function searchSettings(world: ShapesWorld, opts: EvaluateOptions): SearchSettings {
  if (opts === null || typeof opts !== 'object') throw new TypeError(`opts must be an object, got ${describe(opts)}`);
  const { width: W, height: H, square: S } = world;
  const radius = checkInt('opts.searchRadius', opts.searchRadius ?? S, 0, Math.max(W, H));
  const iouThreshold = checkNumber('opts.iouThreshold', opts.iouThreshold ?? 0.5, 0, 1, { minExclusive: true });
  const lambda = checkNumber('opts.positionPenalty', opts.positionPenalty ?? S / 2, 0, Infinity);
  if (!Number.isFinite(lambda))
    throw new RangeError(`opts.positionPenalty must be a finite number in [0, Infinity], got ${lambda}`);
  return { radius, iouThreshold, lambda };
}

/** Per-pixel quantities of step 1 and the image's fidelity. */
interface PixelMaps {
  /** The palette colours in world.colors order. */
  readonly rgb: readonly Rgb[];
  /** d(c) = min_b ‖c − b‖² per colour. */
  readonly dColor: readonly number[];
  /** dB_q = min_b ‖x_q − b‖² per pixel. */
  readonly dB: Float64Array;
  /** 1 where some palette colour is nearer than every background level. */
  readonly fg: Uint8Array;
  /** RMS (per channel) distance of each pixel to the nearest palette colour or background level. */
  readonly offManifold: number;
}

function pixelMaps(world: ShapesWorld, image: Float32Array): PixelMaps {
  const plane = world.height * world.width;
  const rgb = world.colors.map((c) => world.palette[c]);
  // d(c) = min_b ‖c − b‖², the squared distance of each colour to the nearest background level.
  const dColor = rgb.map((c) =>
    Math.min(...world.backgroundLevels.map((b) => (c[0] - b) ** 2 + (c[1] - b) ** 2 + (c[2] - b) ** 2)),
  );
  // Per pixel: dB (nearest background level) and whether some palette colour is nearer.
  const dB = new Float64Array(plane);
  const fg = new Uint8Array(plane);
  let offSq = 0;
  for (let q = 0; q < plane; q++) {
    const r = image[q];
    const gr = image[plane + q];
    const bl = image[2 * plane + q];
    let db = Infinity;
    for (const b of world.backgroundLevels) db = Math.min(db, (r - b) ** 2 + (gr - b) ** 2 + (bl - b) ** 2);
    let dc = Infinity;
    for (const c of rgb) dc = Math.min(dc, (r - c[0]) ** 2 + (gr - c[1]) ** 2 + (bl - c[2]) ** 2);
    dB[q] = db;
    fg[q] = dc < db ? 1 : 0;
    offSq += Math.min(db, dc);
  }
  // Fidelity: RMS (per channel) distance of each pixel to the nearest value the world can draw
  // (a palette colour or a background level). On-manifold images sit near σ₀ or below; images
  // pushed off the data (e.g. by a large deviation step) score far higher whatever their squares.
  const offManifold = Math.sqrt(offSq / (3 * plane));
  return { rgb, dColor, dB, fg, offManifold };
}

/** The matched filter of step 1 on one square, and c* of its last call. */
interface SquareScorer {
  /** Σ_square (dB_q − ‖x_q − c*‖²) / d(c*) of the square with corner (x0, y0); −∞ when it has no foreground. */
  readonly score: (x0: number, y0: number) => number;
  /** c* (an index into world.colors) of the last score call, −1 when it had no foreground. */
  readonly lastColor: () => number;
}

function squareScorer(world: ShapesWorld, image: Float32Array, maps: PixelMaps): SquareScorer {
  const { width: W, height: H, square: S } = world;
  const plane = H * W;
  const { rgb, dColor, dB, fg } = maps;
  let scoreColor = -1; // c* of the last squareScore call (kept outside to allocate nothing per candidate)
  const squareScore = (x0: number, y0: number): number => {
    let r = 0;
    let gr = 0;
    let bl = 0;
    let n = 0;
    for (let y = y0; y < y0 + S; y++) {
      for (let x = x0; x < x0 + S; x++) {
        const q = y * W + x;
        if (fg[q]) {
          r += image[q];
          gr += image[plane + q];
          bl += image[2 * plane + q];
          n++;
        }
      }
    }
    scoreColor = -1;
    if (n === 0) return -Infinity;
    const k = nearest(rgb, r / n, gr / n, bl / n);
    scoreColor = k;
    const c = rgb[k];
    let sum = 0;
    for (let y = y0; y < y0 + S; y++) {
      for (let x = x0; x < x0 + S; x++) {
        const q = y * W + x;
        sum += dB[q] - ((image[q] - c[0]) ** 2 + (image[plane + q] - c[1]) ** 2 + (image[2 * plane + q] - c[2]) ** 2);
      }
    }
    return sum / dColor[k];
  };
  return { score: squareScore, lastColor: () => scoreColor };
}

/** The best square near a box: its unpenalized score, c* and corner. */
interface BestSquare {
  readonly sum: number;
  readonly color: number;
  readonly x: number;
  readonly y: number;
}

/** Step 1's search: the square within ±radius of the box's corner with the best score − λ·(|dx| + |dy|). */
function bestSquare(world: ShapesWorld, scorer: SquareScorer, box: Box, settings: SearchSettings): BestSquare {
  const { width: W, height: H, square: S } = world;
  const { radius, lambda } = settings;
  const [bx, by] = box;
  let best = -Infinity;
  let bestSum = -Infinity;
  let bestColor = -1;
  let fx = bx;
  let fy = by;
  for (let y = Math.max(0, by - radius); y <= Math.min(H - S, by + radius); y++) {
    for (let x = Math.max(0, bx - radius); x <= Math.min(W - S, bx + radius); x++) {
      const sum = scorer.score(x, y);
      const score = sum - lambda * (Math.abs(x - bx) + Math.abs(y - by));
      if (score > best) {
        best = score;
        bestSum = sum;
        bestColor = scorer.lastColor();
        fx = x;
        fy = y;
      }
    }
  }
  return { sum: bestSum, color: bestColor, x: fx, y: fy };
}

/** Steps 2–4 for one prompt instance: detection, IoU, colour and success. */
function instanceEvaluation(
  world: ShapesWorld,
  inst: ShapesInstance,
  best: BestSquare,
  iouThreshold: number,
): InstanceEvaluation {
  const S = world.square;
  const mean = best.sum / (S * S);
  if (!(mean > 0)) {
    const contrast = Number.isFinite(mean) ? mean : -1;
    return Object.freeze({
      box: inst.box,
      color: inst.color,
      found: null,
      contrast,
      iou: 0,
      foundColor: null,
      colorOk: false,
      ok: false,
      miou: 0,
    });
  }
  const found = squareBox(world, best.x, best.y);
  const iou = boxIoU(found, inst.box);
  const foundColor = world.colors[best.color];
  const colorOk = foundColor === inst.color;
  const ok = colorOk && iou >= iouThreshold;
  return Object.freeze({
    box: inst.box,
    color: inst.color,
    found,
    contrast: mean,
    iou,
    foundColor,
    colorOk,
    ok,
    miou: colorOk ? iou : 0,
  });
}

/** An image is "clean" when its off-manifold RMS is at most this many σ₀. */
export const CLEAN_RMS_FACTOR = 2;

/** Scores B images laid out back to back (length B·world.dim), one prompt each. */
export function evaluateBatch(
  world: ShapesWorld,
  prompts: readonly ShapesPrompt[],
  images: Float32Array,
  opts: EvaluateOptions = {},
): ImageEvaluation[] {
  checkWorld(world);
  if (!Array.isArray(prompts) || prompts.length < 1)
    throw new TypeError(`prompts must be a non-empty array, got ${describe(prompts)}`);
  if (!(images instanceof Float32Array)) throw new TypeError(`images must be a Float32Array, got ${describe(images)}`);
  if (images.length !== prompts.length * world.dim) {
    throw new RangeError(
      `images must have length prompts.length·world.dim = ${prompts.length * world.dim}, got ${images.length}`,
    );
  }
  return prompts.map((p, b) => evaluateImage(world, p, images.subarray(b * world.dim, (b + 1) * world.dim), opts));
}

/** A proportion or mean with its standard error over n items. */
export interface Estimate {
  readonly value: number;
  readonly se: number;
  readonly n: number;
}

export interface SummaryRow {
  /** Number of instances per prompt, or 'all'. */
  readonly level: number | 'all';
  readonly images: number;
  /** Instances succeeding / instances; se = √(p(1−p)/n). */
  readonly instanceSuccess: Estimate;
  /** Images whose instances all succeed / images; binomial se. */
  readonly imageSuccess: Estimate;
  /** Mean of the per-instance mIoU terms; se = sample standard deviation / √n (0 when n = 1). */
  readonly mIoU: Estimate;
  /** Images with the right style / images whose prompt names a style; null when none does. */
  readonly styleSuccess: Estimate | null;
  /** Images whose pixels are all near drawable values (fidelity.clean) / images. */
  readonly cleanImages: Estimate;
}

/** Per-level and overall rates with standard errors, like COCO-MIG's Table 2. */
export function summarize(results: readonly ImageEvaluation[]): { overall: SummaryRow; levels: SummaryRow[] } {
  if (!Array.isArray(results) || results.length < 1) {
    throw new RangeError(`results must be a non-empty array of evaluateImage results, got ${describe(results)}`);
  }
  results.forEach((r, i) => {
    if (r === null || typeof r !== 'object' || !Array.isArray(r.instances) || typeof r.level !== 'number') {
      throw new TypeError(`results[${i}] must be an evaluateImage result, got ${describe(r)}`);
    }
  });
  return summarizeByLevel(results, summaryRow);
}

function summaryRow(level: number | 'all', rs: readonly ImageEvaluation[]): SummaryRow {
  const inst = rs.flatMap((r) => r.instances);
  const styled = rs.filter((r) => r.style.ok !== null);
  return Object.freeze({
    level,
    images: rs.length,
    instanceSuccess: rate(inst.filter((i) => i.ok).length, inst.length),
    imageSuccess: rate(rs.filter((r) => r.allInstancesOk).length, rs.length),
    mIoU: meanEstimate(inst.map((i) => i.miou)),
    styleSuccess: styled.length === 0 ? null : rate(styled.filter((r) => r.style.ok).length, styled.length),
    cleanImages: rate(rs.filter((r) => r.fidelity.clean).length, rs.length),
  });
}

/** Binomial proportion k/n with se √(p(1−p)/n). */
export function rate(k: number, n: number): Estimate {
  checkInt('n', n, 1);
  checkInt('k', k, 0, n);
  const p = k / n;
  return Object.freeze({ value: p, se: Math.sqrt((p * (1 - p)) / n), n });
}

/** Sample mean with se = s/√n, s the (n − 1) sample standard deviation; se = 0 when n = 1. */
export function meanEstimate(xs: readonly number[]): Estimate {
  const n = xs.length;
  if (n < 1) throw new RangeError('xs must hold at least 1 value, got 0');
  let m = 0;
  for (const x of xs) m += x;
  m /= n;
  let ss = 0;
  for (const x of xs) ss += (x - m) * (x - m);
  return Object.freeze({ value: m, se: n > 1 ? Math.sqrt(ss / (n - 1) / n) : 0, n });
}

function checkImage(world: ShapesWorld, image: unknown, name: string): void {
  if (!(image instanceof Float32Array))
    throw new TypeError(`${name} must be a Float32Array of length ${world.dim}, got ${describe(image)}`);
  if (image.length !== world.dim)
    throw new RangeError(
      `${name} must have length ${world.dim} (3·${world.height}·${world.width}), got ${image.length}`,
    );
  for (let i = 0; i < image.length; i++) {
    if (!Number.isFinite(image[i]))
      throw new RangeError(`${name} must hold finite values, got ${image[i]} at index ${i}`);
  }
}

/** Index of the palette colour nearest (Euclidean) to (r, g, b). */
function nearest(rgb: readonly (readonly number[])[], r: number, g: number, b: number): number {
  let best = 0;
  let bestD = Infinity;
  for (let k = 0; k < rgb.length; k++) {
    const d = (r - rgb[k][0]) ** 2 + (g - rgb[k][1]) ** 2 + (b - rgb[k][2]) ** 2;
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best;
}

/** The world style with the least squared error over pixels outside every given box (null if none is left). */
function nearestStyle(world: ShapesWorld, image: Float32Array, boxes: readonly Box[]): string | null {
  const { width: W, height: H } = world;
  const plane = H * W;
  let best: string | null = null;
  let bestE = Infinity;
  for (const s of world.styles) {
    const f = BUILTIN_STYLES[s];
    let e = 0;
    let n = 0;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        if (boxes.some((b) => x >= b[0] && x < b[2] && y >= b[1] && y < b[3])) continue;
        const v = f(y, x);
        const q = y * W + x;
        e += (image[q] - v) ** 2 + (image[plane + q] - v) ** 2 + (image[2 * plane + q] - v) ** 2;
        n++;
      }
    }
    if (n > 0 && e < bestE) {
      bestE = e;
      best = s;
    }
  }
  return best;
}
