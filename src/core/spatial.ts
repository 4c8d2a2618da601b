/**
 * Spatial weights (not in the paper): a weight m ∈ [0, 1] per latent cell for a non-target model,
 * so that it is merged in some regions and not in others (regional prompting, ComfyUI's
 * conditioning areas). A map covers the last two axes of a sample's shape (H×W of C×H×W; the last
 * axis of a 1-D shape) and is shared by the leading axes (the channels, channel-major).
 *
 * How a map composes with eq. 8 — the rule is applied per cell with the weight w·mᵢ, where w is
 * the step's weight of the model (its schedule's value), and for slerp the angle is measured
 * where the map is:
 *
 *   cos θ_m = Σᵢ mᵢ aᵢ bᵢ / √(Σᵢ mᵢ aᵢ² · Σᵢ mᵢ bᵢ²)       (per sample, i over its elements)
 *   outᵢ = sin((1 − w mᵢ) θ_m)/sin θ_m · aᵢ + sin(w mᵢ θ_m)/sin θ_m · bᵢ
 *
 * (lerp's coefficients below the lerp threshold or when a weighted norm is zero; a RangeError for
 * antipodal inputs, as eq. 8's slerp.) Cells with mᵢ = 0 copy a. So:
 * - an all-0 map is the target alone, bit for bit (out = a);
 * - an all-1 map is eq. 8's slerp with weight w (θ_m = θ; bit for bit on the JS backend), and with
 *   w = 1 the other model exactly (out = b);
 * - for a hard map (mᵢ ∈ {0, 1}, region R), out is slerp restricted to R with R's own angle, and
 *   a elsewhere: where ‖a_R‖ = ‖b_R‖ the result keeps ‖a‖ — slerp's norm behaviour, per region.
 *   A feathered edge (0 < mᵢ < 1) interpolates the weight, not the angle.
 * lerp uses (1 − w mᵢ)·a + w mᵢ·b, vp √(1 − (w mᵢ)²)·a + w mᵢ·b; other rules take no map.
 *
 * The deviation step restricted by a map (`spatialDeviation`): model k moves only where its map
 * is, xₖ = x′ − η·m⊙(x′ − μₖ)/‖m⊙(x′ − μₖ)‖ (eq. 9's step of length η, spent inside the map), or
 * xₖ = x′ + λ m⊙(μₖ − x′) (the relative step); an all-1 map is the unrestricted step, an all-0
 * map no step.
 *
 * These loops run in JS on any backend's buffers (the WASM backend's are Float32Arrays too) and
 * allocate nothing.
 */
import { clampUnit } from './tensor.ts';
import { SLERP_ANTIPODAL_TOLERANCE, SLERP_LERP_THRESHOLD, deviationFactor } from './kernel-math.ts';
import { checkInt, checkNumber, describe } from './validate.ts';

/** The rules that take a spatial map. */
export const SPATIAL_RULES = ['slerp', 'lerp', 'vp'] as const;
export type SpatialRule = (typeof SPATIAL_RULES)[number];

/** A map as given: one weight in [0, 1] per cell, row-major over H×W. */
export type SpatialMapInput = Float32Array | readonly number[];

/** Cells of one map for a sample shape: H·W of the last two axes (the last axis of a 1-D shape). */
export function mapCells(shape: readonly number[]): number {
  return shape.length === 1 ? shape[0] : shape[shape.length - 2] * shape[shape.length - 1];
}

/** A checked copy of a map of `cells` weights in [0, 1]; errors name `name` and the cell. */
export function checkSpatialMap(name: string, map: unknown, cells: number): Float32Array {
  if (!(map instanceof Float32Array) && !Array.isArray(map))
    throw new TypeError(
      `${name} must be an array of ${cells} weights in [0, 1] (one per latent cell), got ${describe(map)}`,
    );
  if (map.length !== cells)
    throw new RangeError(`${name} must hold ${cells} weights (one per latent cell, H·W), got ${map.length}`);
  const out = new Float32Array(cells);
  for (let i = 0; i < cells; i++) out[i] = checkNumber(`${name}[${i}]`, map[i], 0, 1);
  return out;
}

/** What `boxWeightMap` derives a map from. */
export interface BoxMapOptions {
  /** Latent height and width in cells. */
  height: number;
  width: number;
  /** Boxes [x0, y0, x1, y1] as fractions of the image's width and height (0 ≤ x0 < x1 ≤ 1). */
  boxes: readonly (readonly number[])[];
  /**
   * Width of the feathered edge in cells (default 0, a hard edge): a cell whose centre lies at
   * distance d outside every box gets max(0, 1 − d/feather); cells with their centre inside a box get 1.
   */
  feather?: number;
  /** 1 − the map: the model everywhere but the boxes (e.g. the target inside them). Default false. */
  invert?: boolean;
}

/** A map from boxes: 1 inside (the union of) the boxes, a linear feather outside, 0 beyond. */
export function boxWeightMap(opts: BoxMapOptions): Float32Array {
  const H = checkInt('height', opts.height, 1),
    W = checkInt('width', opts.width, 1);
  const feather = checkNumber('feather', opts.feather ?? 0, 0, Math.max(H, W));
  if (opts.invert !== undefined && typeof opts.invert !== 'boolean')
    throw new TypeError(`invert must be a boolean, got ${describe(opts.invert)}`);
  if (!Array.isArray(opts.boxes))
    throw new TypeError(`boxes must be an array of [x0, y0, x1, y1] fractions, got ${describe(opts.boxes)}`);
  const boxes = opts.boxes.map((b, n) => checkBox(`boxes[${n}]`, b, W, H));
  const map = new Float32Array(H * W);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const cx = x + 0.5,
        cy = y + 0.5;
      let m = 0;
      for (const [x0, y0, x1, y1] of boxes) {
        const dx = Math.max(x0 - cx, 0, cx - x1),
          dy = Math.max(y0 - cy, 0, cy - y1);
        const d = Math.hypot(dx, dy);
        m = Math.max(m, d === 0 ? 1 : feather > 0 ? Math.max(0, 1 - d / feather) : 0);
      }
      map[y * W + x] = opts.invert === true ? 1 - m : m;
    }
  }
  return map;
}

/** A box of fractions, checked, in cells. */
function checkBox(name: string, b: unknown, W: number, H: number): [number, number, number, number] {
  if (!Array.isArray(b) || b.length !== 4)
    throw new TypeError(`${name} must be [x0, y0, x1, y1] (fractions in [0, 1]), got ${describe(b)}`);
  const [x0, y0, x1, y1] = b.map((v, i) => checkNumber(`${name}[${i}]`, v, 0, 1));
  if (!(x0 < x1 && y0 < y1)) throw new RangeError(`${name} must have x0 < x1 and y0 < y1, got [${b.join(', ')}]`);
  return [x0 * W, y0 * H, x1 * W, y1 * H];
}

/** The merge of {@link mergeWithMap}: the rule, the model's weight and map, and what it reports. */
export interface MapMergeOptions {
  rule: SpatialRule;
  /** w: the model's weight at this step (eq. 8), applied per cell as w·mᵢ. */
  w: number;
  /** The model's map, one weight in [0, 1] per cell. */
  map: Float32Array;
  /** Values per sample. */
  dim: number;
  /** When given, receives the per-sample angle θ_m (for every rule; 0 when a weighted norm is zero). */
  angles?: Float64Array | null;
}

/**
 * The pairwise merge with a map (see the header): out = rule(a, b; w·m) per cell, per sample of
 * `dim` values; `out` may be `a`. A loop that merges every step builds `opts` once and updates
 * `w`, `map` and `angles` in place.
 */
export function mergeWithMap(a: Float32Array, b: Float32Array, out: Float32Array, opts: MapMergeOptions): void {
  const { rule, w, map, dim, angles = null } = opts;
  const cells = map.length,
    channels = dim / cells;
  for (let s = 0, o = 0; o < out.length; s++, o += dim) {
    const slerping = rule === 'slerp';
    // θ_m: slerp's angle, and the trace's for every rule (θ < 0: a zero weighted norm)
    const theta = slerping || angles ? mapAngle(a, b, map, o, dim, s, slerping) : -1;
    if (angles) angles[s] = Math.max(theta, 0);
    // lerp's coefficients for the other rules, a zero weighted norm, or θ below the threshold
    const spherical = slerping && theta >= SLERP_LERP_THRESHOLD;
    const sinTheta = spherical ? Math.sin(theta) : 1;
    for (let j = 0; j < cells; j++) {
      const m = map[j];
      if (m === 0) {
        if (out !== a) for (let c = 0, i = o + j; c < channels; c++, i += cells) out[i] = a[i];
        continue;
      }
      const wm = w * m;
      const ca = rule === 'vp' ? Math.sqrt(1 - wm * wm) : spherical ? Math.sin((1 - wm) * theta) / sinTheta : 1 - wm;
      const cb = spherical ? Math.sin(wm * theta) / sinTheta : wm;
      for (let c = 0, i = o + j; c < channels; c++, i += cells) out[i] = ca * a[i] + cb * b[i];
    }
  }
}

/** θ_m of one sample (−1 when a weighted norm is zero); with `strict`, a RangeError for antipodal inputs (slerp's). */
function mapAngle(
  a: Float32Array,
  b: Float32Array,
  map: Float32Array,
  o: number,
  dim: number,
  s: number,
  strict: boolean,
): number {
  const cells = map.length;
  let dot = 0,
    aa = 0,
    bb = 0;
  // element order o, o + 1, …: with an all-1 map the sums are eq. 8's slerp's, bit for bit
  for (let i = o, j = 0; i < o + dim; i++, j = j + 1 === cells ? 0 : j + 1) {
    const m = map[j],
      u = a[i],
      v = b[i];
    dot += m * u * v;
    aa += m * u * u;
    bb += m * v * v;
  }
  if (!(aa > 0 && bb > 0)) return -1;
  const theta = Math.acos(clampUnit(dot / (Math.sqrt(aa) * Math.sqrt(bb))));
  if (strict && Math.PI - theta < SLERP_ANTIPODAL_TOLERANCE)
    throw new RangeError(
      `slerp with a spatial map: sample ${s} has antipodal inputs where the map is (θ = π): the interpolation path is not unique`,
    );
  return theta;
}

/** The step of {@link deviateWithMap}: its length (or λ), the model's map, and its variant. */
export interface MapDeviateOptions {
  /** η, eq. 9's absolute length, or λ ∈ [0, 1] with `relative`. */
  eta: number;
  /** The model's map, one weight in [0, 1] per cell. */
  map: Float32Array;
  /** Values per sample. */
  dim: number;
  /** Receives ‖m⊙(x′ − μ)‖ per sample. */
  distances: Float64Array;
  /** The relative step x′ + λ m⊙(μ − x′) instead of eq. 9. Default false. */
  relative?: boolean;
  /** eq. 9 only: stop the step at μ. Default false. */
  clip?: boolean;
}

/**
 * The deviation step restricted by a map (see the header), per sample: eq. 9 (`eta` an absolute
 * length, `clip` stops at μ) or the relative step (`relative`; `eta` = λ). Writes ‖m⊙(x′ − μ)‖
 * per sample into `distances`. `out` may be `x`. A loop that deviates every step builds `opts`
 * once and updates its fields in place.
 */
export function deviateWithMap(x: Float32Array, mu: Float32Array, out: Float32Array, opts: MapDeviateOptions): void {
  const { eta, map, dim, distances, relative = false, clip = false } = opts;
  const cells = map.length;
  for (let s = 0, o = 0; o < x.length; s++, o += dim) {
    const end = o + dim;
    let sq = 0;
    for (let i = o, j = 0; i < end; i++, j = j + 1 === cells ? 0 : j + 1) {
      const d = map[j] * (x[i] - mu[i]);
      sq += d * d;
    }
    const dist = Math.sqrt(sq);
    distances[s] = dist;
    // x − k·m⊙(x − μ): k = λ for the relative step, eq. 9's factor otherwise
    const k = relative ? eta : deviationFactor(dist, eta, clip);
    if (k === 0) {
      if (out !== x) for (let i = o; i < end; i++) out[i] = x[i];
      continue;
    }
    for (let i = o, j = 0; i < end; i++, j = j + 1 === cells ? 0 : j + 1) {
      const xm = x[i];
      out[i] = xm - k * map[j] * (xm - mu[i]);
    }
  }
}

/**
 * A map as job files and command lines give it: the weights themselves (`map`, one per latent
 * cell), or boxes with a feathered edge (`boxWeightMap`'s options without the latent size).
 */
export type SpatialSpec =
  | { readonly map: readonly number[] }
  | {
      readonly boxes: readonly (readonly number[])[];
      readonly feather?: number;
      readonly invert?: boolean;
    };

/** The map of a spec for a sample shape (its last two axes are the map's H×W), checked; errors name `name`. */
export function spatialMapOf(name: string, spec: SpatialSpec, shape: readonly number[]): Float32Array {
  if (spec === null || typeof spec !== 'object')
    throw new TypeError(`${name} must be { map } or { boxes, feather?, invert? }, got ${describe(spec)}`);
  const cells = mapCells(shape);
  if ('map' in spec) return checkSpatialMap(`${name}.map`, spec.map, cells);
  if (!('boxes' in spec)) throw new TypeError(`${name} must be { map } or { boxes, feather?, invert? }`);
  const [height, width] = shape.length === 1 ? [1, shape[0]] : shape.slice(-2);
  try {
    return boxWeightMap({ height, width, boxes: spec.boxes, feather: spec.feather, invert: spec.invert });
  } catch (e) {
    if (e instanceof Error) e.message = `${name}.${e.message}`;
    throw e;
  }
}
