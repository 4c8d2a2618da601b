/** Colours of the image grid (grid.ts) by name: '#rgb', '#rrggbb' or a basic CSS colour name. */
import { describe } from '../core/validate.ts';

const NAMED: Record<string, readonly [number, number, number]> = {
  black: [0, 0, 0],
  white: [255, 255, 255],
  red: [255, 0, 0],
  green: [0, 128, 0],
  lime: [0, 255, 0],
  blue: [0, 0, 255],
  yellow: [255, 255, 0],
  orange: [255, 165, 0],
  purple: [128, 0, 128],
  magenta: [255, 0, 255],
  cyan: [0, 255, 255],
  gray: [128, 128, 128],
  grey: [128, 128, 128],
};

/** Parses '#rgb', '#rrggbb' or a basic colour name to [r, g, b]; throws naming the parameter. */
export function parseColor(name: string, v: unknown): [number, number, number] {
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (/^#[0-9a-f]{3}$/.test(s)) return [1, 2, 3].map((i) => parseInt(s[i] + s[i], 16)) as [number, number, number];
    if (/^#[0-9a-f]{6}$/.test(s))
      return [1, 3, 5].map((i) => parseInt(s.slice(i, i + 2), 16)) as [number, number, number];
    const named = NAMED[s];
    if (named) return [named[0], named[1], named[2]];
  }
  throw new RangeError(
    `${name} must be '#rgb', '#rrggbb' or one of ${Object.keys(NAMED).join(', ')}, got ${describe(v)}`,
  );
}

/** [r, g, b] as '#rrggbb'. */
export function hex([r, g, b]: readonly number[]): string {
  return `#${[r, g, b].map((v) => v.toString(16).padStart(2, '0')).join('')}`;
}
