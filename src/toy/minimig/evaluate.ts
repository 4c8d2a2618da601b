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
 * Per relation (evaluate-relation.ts, strict): "looking at" — a compact white blob of the rendered
 * dot's size inside the subject's box, at the rendered dot's place, ringed by the subject's colour,
 * with no other white in the box; "linked to" — the points every ½ px along the segment between the
 * box centres that lie outside every box are covered by white (≥ LINK_COVERAGE, no gap over 1 px),
 * and one white path along the segment joins the ends of every piece between boxes. The mark test
 * is the relation's `ok` (the per-part interaction success); `joint` adds both instances: the
 * paper's interaction metric counts a triplet only when both boxes and categories are right.
 * Per image: `imageOk` when every instance and every relation (jointly) is right.
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
import { summarizeByLevel } from '../level-summary.ts';
import { validateScene, type Action, type Scene, type Texture, type Tint } from './world.ts';
import { classify, toBytesScale } from './evaluate-pixels.ts';
import { evaluateInstance, type InstanceResult } from './evaluate-instance.ts';
import { dotTest, linkTest, type DotEvidence, type LinkEvidence } from './evaluate-relation.ts';
import { dotPixel } from './render.ts';
import { CLEAN_RMS, MIN_BACKGROUND, backgroundPixels, cleanRms, findTexture, findTint } from './evaluate-style.ts';

export { WHITE_LEVEL } from './evaluate-pixels.ts';
export { IOU_THRESHOLD, SQUARE_CORNERS, TRIANGLE_SKEW, type InstanceResult } from './evaluate-instance.ts';
export {
  DOT_GROW,
  DOT_MAX_FRACTION,
  DOT_MIN_FRACTION,
  DOT_RING,
  DOT_SHIFT,
  DOT_STRAY,
  LINK_CORRIDOR,
  LINK_COVERAGE,
  LINK_GAP,
  type DotEvidence,
  type LinkEvidence,
} from './evaluate-relation.ts';
export { CLEAN_RMS, TEXTURE_MIN_CONTRAST, TEXTURE_MIN_R2 } from './evaluate-style.ts';

export interface RelationResult {
  readonly subject: number;
  readonly object: number;
  readonly action: Action;
  /** "linked to": the line's coverage; "looking at": the found blob's pixels. */
  readonly evidence: number;
  /** What the mark's test found: the dot's for "looking at", the line's for "linked to". */
  readonly detail: DotEvidence | LinkEvidence;
  /** The mark is drawn (the per-part interaction test). */
  readonly ok: boolean;
  /** Relation success: the mark, the subject and the object all right. */
  readonly joint: boolean;
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
  /** Image success: every instance and every relation (jointly) right. */
  readonly imageOk: boolean;
}

/** Scores one image (Float32Array 3×32×32, channel-major, values in [−1, 1]) against its scene. */
export function evaluateScene(scene: Scene, image: Float32Array): SceneEvaluation {
  validateScene(scene);
  const u = toBytesScale(image);
  const cls = classify(u);
  const boxes = scene.instances.map((i) => i.box);
  const instances = scene.instances.map((inst, i) => {
    const r = scene.relations.find((rel) => rel.subject === i && rel.action === 'looking at');
    return evaluateInstance(inst, cls, r ? dotPixel(inst.box, boxes[r.object]) : null);
  });
  const relations = scene.relations.map((r): RelationResult => {
    const detail =
      r.action === 'linked to'
        ? linkTest(boxes[r.subject], boxes[r.object], boxes, cls.white)
        : dotTest(scene.instances[r.subject], boxes[r.object], cls);
    const evidence = 'coverage' in detail ? detail.coverage : detail.blob;
    const joint = detail.ok && instances[r.subject].ok && instances[r.object].ok;
    return { subject: r.subject, object: r.object, action: r.action, evidence, detail, ok: detail.ok, joint };
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
    imageOk: instances.every((i) => i.ok) && relations.every((r) => r.joint),
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
  /** Relation success: relations with the mark, the subject and the object right / relations; null as above. */
  readonly relationSuccess: Estimate | null;
  /** Image success: images with every instance and every relation right / images. */
  readonly imageSuccess: Estimate;
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
    relationSuccess: rel.length === 0 ? null : rate(rel.filter((r) => r.joint).length, rel.length),
    imageSuccess: rate(rs.filter((r) => r.imageOk).length, rs.length),
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
  return summarizeByLevel(results, summaryRow);
}
