/**
 * The evidence of a MiniMIG relation's mark (evaluate.ts): a "looking at" dot, a "linked to" line,
 * each tested strictly against what the renderer draws (render.ts).
 *
 * "Looking at". The renderer draws the dot as `dotMask`: the 5×5 square at `dotPixel`, clipped to
 * the pixels whose 3×3 neighbourhood lies in the subject's shape (6–25 pixels), so a ring of the
 * subject's colour surrounds it. The test takes the white pixels inside the subject's box, their
 * largest 8-connected component (the blob), and asks for all of:
 * - size: DOT_MIN_FRACTION·n ≤ |blob| ≤ DOT_MAX_FRACTION·n, n = |dotMask|. A 3×3 box blur keeps
 *   a pixel white only where ≥ 5 of its 9 neighbours are (WHITE_LEVEL 140 of 255), which leaves
 *   21 of a 5×5 dot and as few as 2 of a 3×2 one (a clipped dot in an 8-px triangle): hence the
 *   low bound of ¼; nothing the renderer draws or a blur does makes the blob larger than n, and
 *   1.5·n leaves room for a bled edge but not for a 7×7 patch or a whitened shape;
 * - compact: the blob's bounding rectangle at most DOT_GROW px wider and taller than the mask's;
 * - position: the blob's centroid within DOT_SHIFT px of the mask's centroid. The direction is
 *   tested against the renderer's own placement, not against the direction to the object: the
 *   renderer keeps the dot's rows in the box's lower half and moves it at most size/2 − 3 px
 *   (rounded down) from the centre, so over 10 037 sampled relations the angle between the
 *   rendered dot's offset and the direction to the object is under 40° for 77 % but reaches 180°
 *   (an object straight above). A mirrored dot lies 2·|offset| from the rendered one (median
 *   offset 1.3 px, up to 4.3): it fails wherever the renderer's offset exceeds DOT_SHIFT / 2;
 *   `angle` reports the angle between the found and rendered offsets from the box centre;
 * - the rest of the subject in its colour: ≥ DOT_RING of the pixels 8-adjacent to the blob inside
 *   the box have the subject's colour as their largest palette membership α, with α > 0 (exact:
 *   all of them; under a 3×3 blur a ring pixel blends the dot's white, the shape's colour and the
 *   background, and the fraction is ≥ 0.33 on every one of 1266 blurred dots checked, hence
 *   DOT_RING 0.3; a white patch on the background scores 0), and at most DOT_STRAY white pixels
 *   of the box lie outside the blob, not counting the box's outermost rows and columns (a line
 *   ends at the box's edge, and a pixel of it may reach inside).
 *
 * "Linked to". The renderer draws the pixels within LINE_HALF_WIDTH = 1 px of the segment between
 * the box centres, outside every box (a third box on the segment breaks the line). The test walks
 * the segment in ½-px steps and keeps the points outside every box, grouped into pieces (runs
 * between boxes, points within LINK_END px of a box left out); a point is covered when a white
 * pixel's centre lies within LINK_ALONG px of it along the segment and LINK_ACROSS px across it
 * (exact: always; a 1-px diagonal shift moves the line up to √2 px across). It asks for:
 * - coverage: ≥ LINK_COVERAGE of the points covered; uncovered runs of ≤ LINK_GAP points at one
 *   end of a piece are not counted (a line shifted by a pixel stops short of one box), at both
 *   ends they are (a smudge stops short of both);
 * - continuity: no run of more than LINK_GAP uncovered points (1 px), and in every piece the white
 *   pixels covering its first and last covered points in one 8-connected component of the white pixels
 *   within LINK_CORRIDOR px of the segment (outside every box): a path from near one box to near
 *   the other along the segment. A half or dashed line, or a line to another box fails. A 3×3
 *   smudge (up to 4.2 px along a diagonal) fails on every line with ≥ 9 px between the boxes; on
 *   shorter lines (half of all lines have ≤ 5 px) it is about as long as the line itself and may
 *   pass: that is the resolution of a 32-px world with 3-px-wide lines.
 */
import { LINE_HALF_WIDTH, distanceToLink, dotMask } from './render.ts';
import { COLOURS, boxCentre, type Box, type Instance } from './world.ts';
import { S, insideAnyBox, type Classes } from './evaluate-pixels.ts';

export const DOT_MIN_FRACTION = 0.25;
export const DOT_MAX_FRACTION = 1.5;
export const DOT_GROW = 2;
export const DOT_SHIFT = 1.5;
export const DOT_RING = 0.3;
export const DOT_STRAY = 3;
export const LINK_COVERAGE = 0.9;
/** Longest run of uncovered ½-px points allowed (2 points = 1 px). */
export const LINK_GAP = 2;
export const LINK_CORRIDOR = LINE_HALF_WIDTH + 1.5;
/** Points within this many pixels of a box (its rectangle grown) are not checked: a line may stop a pixel short of a box. */
export const LINK_END = 1;
/** Half length along the segment and half width across it of the window whose white pixels cover a point. */
export const LINK_ALONG = 0.75;
export const LINK_ACROSS = 2;

/** What the "looking at" test found: sizes in pixels, distances in pixels, angle in degrees (null without a blob or an offset). */
export interface DotEvidence {
  readonly expected: number;
  readonly blob: number;
  readonly shift: number | null;
  readonly angle: number | null;
  readonly ring: number | null;
  readonly stray: number;
  readonly ok: boolean;
}

/** What the "linked to" test found. */
export interface LinkEvidence {
  /** Fraction of the checked points covered (0 when none lies outside the boxes). */
  readonly coverage: number;
  /** Longest run of uncovered points (½ px each). */
  readonly longestGap: number;
  /** Every piece's ends joined by one white component. */
  readonly connected: boolean;
  readonly ok: boolean;
}

const inBox = (b: Box, y: number, x: number) => y >= b.y && y < b.y + b.size && x >= b.x && x < b.x + b.size;
const centroid = (qs: readonly number[]): [number, number] => {
  let y = 0;
  let x = 0;
  for (const q of qs) {
    y += Math.floor(q / S) + 0.5;
    x += (q % S) + 0.5;
  }
  return [y / qs.length, x / qs.length];
};
const extent = (qs: readonly number[]): [number, number] => {
  const ys = qs.map((q) => Math.floor(q / S));
  const xs = qs.map((q) => q % S);
  return [Math.max(...ys) - Math.min(...ys) + 1, Math.max(...xs) - Math.min(...xs) + 1];
};

/** 8-connected components of the pixels where `keep` holds, as a label per pixel (−1: none) and the pixel lists. */
export function components8(keep: (q: number) => boolean): { label: Int32Array; parts: number[][] } {
  const label = new Int32Array(S * S).fill(-1);
  const parts: number[][] = [];
  for (let q0 = 0; q0 < S * S; q0++) {
    if (label[q0] !== -1 || !keep(q0)) continue;
    const part: number[] = [];
    const stack = [q0];
    label[q0] = parts.length;
    while (stack.length > 0) {
      const q = stack.pop()!;
      part.push(q);
      const y = Math.floor(q / S);
      const x = q % S;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const ny = y + dy;
          const nx = x + dx;
          if (ny < 0 || ny >= S || nx < 0 || nx >= S) continue;
          const n = ny * S + nx;
          if (label[n] === -1 && keep(n)) {
            label[n] = parts.length;
            stack.push(n);
          }
        }
      }
    }
    parts.push(part);
  }
  return { label, parts };
}

/** The pixels 8-adjacent to `qs` (not in it) inside `box`. */
function ring(qs: readonly number[], box: Box): number[] {
  const own = new Set(qs);
  const out = new Set<number>();
  for (const q of qs) {
    const y = Math.floor(q / S);
    const x = q % S;
    for (let dy = -1; dy <= 1; dy++)
      for (let dx = -1; dx <= 1; dx++) {
        const n = (y + dy) * S + x + dx;
        if (inBox(box, y + dy, x + dx) && !own.has(n)) out.add(n);
      }
  }
  return [...out];
}

/** Whether colour k has the largest membership α of the palette at pixel q, and α > 0 (a blend of k with the dot's white or the background counts). */
function ofColour(cls: Classes, q: number, k: number): boolean {
  const a = cls.alpha[k][q];
  return a > 0 && cls.alpha.every((b) => b[q] <= a);
}

/** The strict "looking at" test of `subject` towards `object` (see the module comment). */
export function dotTest(subject: Instance, object: Box, cls: Classes): DotEvidence {
  const mask = dotMask(subject, object);
  const n = mask.length;
  const box = subject.box;
  const inside = (q: number) => inBox(box, Math.floor(q / S), q % S);
  const { parts } = components8((q) => cls.white[q] === 1 && inside(q));
  const onEdge = (q: number) => {
    const y = Math.floor(q / S);
    const x = q % S;
    return y === box.y || x === box.x || y === box.y + box.size - 1 || x === box.x + box.size - 1;
  };
  if (parts.length === 0) return { expected: n, blob: 0, shift: null, angle: null, ring: null, stray: 0, ok: false };
  const blob = parts.reduce((a, p) => (p.length > a.length ? p : a));
  const [ey, ex] = centroid(mask);
  const [by, bx] = centroid(blob);
  const [cy, cx] = boxCentre(box);
  const shift = Math.hypot(by - ey, bx - ex);
  const offE = Math.hypot(ey - cy, ex - cx);
  const offB = Math.hypot(by - cy, bx - cx);
  const angle =
    offE === 0 || offB === 0
      ? null
      : (Math.acos(Math.max(-1, Math.min(1, ((ey - cy) * (by - cy) + (ex - cx) * (bx - cx)) / offE / offB))) * 180) /
        Math.PI;
  const around = ring(blob, box);
  const k = COLOURS.indexOf(subject.colour);
  const ringFill = around.length === 0 ? 0 : around.filter((q) => ofColour(cls, q, k)).length / around.length;
  const stray = parts.reduce((a, p) => (p === blob ? a : a + p.filter((q) => !onEdge(q)).length), 0);
  const [mh, mw] = extent(mask);
  const [bh, bw] = extent(blob);
  const ok =
    blob.length >= DOT_MIN_FRACTION * n &&
    blob.length <= DOT_MAX_FRACTION * n &&
    bh <= mh + DOT_GROW &&
    bw <= mw + DOT_GROW &&
    shift <= DOT_SHIFT &&
    ringFill >= DOT_RING &&
    stray <= DOT_STRAY;
  return { expected: n, blob: blob.length, shift, angle, ring: ringFill, stray, ok };
}

interface Segment {
  readonly ay: number;
  readonly ax: number;
  /** Unit vector from a's centre to b's. */
  readonly uy: number;
  readonly ux: number;
}

/** The points every ½ px along the segment between the box centres, outside every box grown by LINK_END, as pieces between boxes. */
function linkPieces(a: Box, b: Box, boxes: readonly Box[]): { seg: Segment; pieces: [number, number][][] } {
  const [ay, ax] = boxCentre(a);
  const [by, bx] = boxCentre(b);
  const len = Math.hypot(by - ay, bx - ax);
  const steps = Math.ceil(2 * len);
  const pieces: [number, number][][] = [];
  let open = false;
  for (let i = 0; i <= steps; i++) {
    const py = ay + ((by - ay) * i) / steps;
    const px = ax + ((bx - ax) * i) / steps;
    if (insideAnyBox(boxes, Math.floor(py), Math.floor(px), LINK_END)) {
      open = false;
      continue;
    }
    if (!open) pieces.push([]);
    open = true;
    pieces[pieces.length - 1].push([py, px]);
  }
  return { seg: { ay, ax, uy: (by - ay) / len, ux: (bx - ax) / len }, pieces };
}

/**
 * The white pixels that cover the point (py, px) of the segment: centres within LINK_ALONG px of it
 * along the segment and within LINK_ACROSS px across it (a 1-px diagonal shift moves the line √2 px
 * across; along, the window is short, so a smudge covers only its own length).
 */
function coveringPixels(seg: Segment, py: number, px: number, white: Uint8Array, boxes: readonly Box[]): number[] {
  const out: number[] = [];
  for (let y = Math.floor(py) - 2; y <= Math.floor(py) + 2; y++)
    for (let x = Math.floor(px) - 2; x <= Math.floor(px) + 2; x++) {
      if (y < 0 || y >= S || x < 0 || x >= S || !white[y * S + x] || insideAnyBox(boxes, y, x, 0)) continue;
      const dy = y + 0.5 - py;
      const dx = x + 0.5 - px;
      const along = dy * seg.uy + dx * seg.ux;
      const across = dy * seg.ux - dx * seg.uy;
      if (Math.abs(along) <= LINK_ALONG && Math.abs(across) <= LINK_ACROSS) out.push(y * S + x);
    }
  return out;
}

/** The strict "linked to" test between boxes `a` and `b` of a scene with `boxes` (see the module comment). */
export function linkTest(a: Box, b: Box, boxes: readonly Box[], white: Uint8Array): LinkEvidence {
  const { seg, pieces } = linkPieces(a, b, boxes);
  const { label } = components8((q) => {
    const y = Math.floor(q / S);
    const x = q % S;
    return white[q] === 1 && !insideAnyBox(boxes, y, x, 0) && distanceToLink(a, b, y, x) <= LINK_CORRIDOR;
  });
  let checked = 0;
  let covered = 0;
  let longestGap = 0;
  let connected = pieces.length > 0;
  for (const piece of pieces) {
    const cover = piece.map(([y, x]) => coveringPixels(seg, y, x, white, boxes));
    const first = cover.findIndex((c) => c.length > 0);
    if (first === -1) {
      connected = false;
      checked += piece.length;
      longestGap = Math.max(longestGap, piece.length);
      continue;
    }
    const last = cover.length - 1 - [...cover].reverse().findIndex((c) => c.length > 0);
    // the line may stop up to LINK_GAP points short of one box (a shifted line), not of both (a smudge)
    const lead = first;
    const trail = cover.length - 1 - last;
    const from = lead <= LINK_GAP && (trail === 0 || lead === 0) ? first : 0;
    const to = trail <= LINK_GAP && (lead === 0 || trail === 0) ? last : cover.length - 1;
    let gap = 0;
    for (let i = from; i <= to; i++) {
      checked++;
      if (cover[i].length > 0) {
        covered++;
        gap = 0;
      } else longestGap = Math.max(longestGap, ++gap);
    }
    const labels = (c: readonly number[]) => c.map((q) => label[q]);
    const end = new Set(labels(cover[last]));
    if (!labels(cover[first]).some((l) => end.has(l))) connected = false;
  }
  const coverage = checked === 0 ? 0 : covered / checked;
  return { coverage, longestGap, connected, ok: coverage >= LINK_COVERAGE && longestGap <= LINK_GAP && connected };
}
