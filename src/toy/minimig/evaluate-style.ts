/** The background's style (texture, tint) and the image's cleanness, as the MiniMIG evaluator (evaluate.ts) reads them. */
import {
  COLOURS,
  MARK_RGB,
  PALETTE,
  TEXTURE_PERIOD,
  TEXTURES,
  TINTS,
  TINT_HIGH,
  textureAt,
  type Box,
  type Rgb8,
  type Texture,
  type Tint,
} from './world.ts';
import { BACKGROUND_LEVELS, PLANE, S, dist2, insideAnyBox, type Classes } from './evaluate-pixels.ts';

/** Smallest luminance step (bytes) between a texture's high and low pixels (the world's: 47–66). */
export const TEXTURE_MIN_CONTRAST = 12;
export const TEXTURE_MIN_R2 = 0.1;
export const CLEAN_RMS = 0.25;

/** Background pixel indices: outside every box grown by `grow` px, neither white nor a palette colour. */
export function backgroundPixels(boxes: readonly Box[], cls: Classes, grow: number): number[] {
  const out: number[] = [];
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const q = y * S + x;
      if (!insideAnyBox(boxes, y, x, grow) && cls.colour[q] < 0 && !cls.white[q]) out.push(q);
    }
  }
  return out;
}

export const MIN_BACKGROUND = 32;

export function findTint(u: Float32Array, bg: readonly number[]): Tint {
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
export function findTexture(u: Float32Array, bg: readonly number[]): Texture {
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

export function cleanRms(u: Float32Array): number {
  let sum = 0;
  for (let q = 0; q < PLANE; q++) {
    let d = Infinity;
    for (const c of DRAWABLE) d = Math.min(d, dist2(u, q, c));
    sum += d;
  }
  return Math.sqrt(sum / (3 * PLANE)) / 127.5;
}
