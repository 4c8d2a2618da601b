/**
 * The Shapes world: C×H×W images (C = 3, RGB in [−1, 1], channel-major) made of a background
 * style pattern and up to `maxInstances` filled squares of palette colours. Each clean render
 * is blurred by isotropic data noise σ₀, so a prompt's data distribution is N(render, σ₀² I).
 *
 * Levels are chosen so that everything is told apart robustly at σ₀ = 0.15:
 * - every background value is ≤ −0.4 in every channel,
 * - every palette colour has at least one channel at +1 (black would be the background),
 * - palette colours differ by ≥ 2 in at least one channel.
 */
import { checkInt, checkNumber, checkOneOf, describe } from '../../core/validate.ts';

export type Rgb = readonly [number, number, number];

/** The built-in palette: corners of the RGB cube except black (which is the plain background). */
export const DEFAULT_PALETTE: Readonly<Record<string, Rgb>> = Object.freeze({
  red: [1, -1, -1],
  green: [-1, 1, -1],
  blue: [-1, -1, 1],
  yellow: [1, 1, -1],
  cyan: [-1, 1, 1],
  magenta: [1, -1, 1],
  white: [1, 1, 1],
});

/** Low and high level of the two-level background patterns (all channels equal). */
export const BACKGROUND_LOW = -1;
export const BACKGROUND_HIGH = -0.4;

/**
 * Built-in background styles, each a function of the pixel (row y, column x) giving the value
 * of every channel:
 * - plain: −1 everywhere;
 * - stripes: horizontal stripes, even rows −1, odd rows −0.4;
 * - columns: vertical stripes, even columns −1, odd columns −0.4;
 * - checker: 2×2 cells alternating −1 / −0.4, the cell at (0, 0) is −1;
 * - grey: −0.4 everywhere.
 */
export const BUILTIN_STYLES: Readonly<Record<string, (y: number, x: number) => number>> = Object.freeze({
  plain: () => BACKGROUND_LOW,
  stripes: (y: number) => (y % 2 === 0 ? BACKGROUND_LOW : BACKGROUND_HIGH),
  columns: (_y: number, x: number) => (x % 2 === 0 ? BACKGROUND_LOW : BACKGROUND_HIGH),
  checker: (y: number, x: number) => ((((y >> 1) + (x >> 1)) & 1) === 0 ? BACKGROUND_LOW : BACKGROUND_HIGH),
  grey: () => BACKGROUND_HIGH,
});

export const DEFAULT_STYLES: readonly string[] = Object.freeze(['plain', 'stripes', 'checker']);

export interface ShapesWorldConfig {
  /** Image height in pixels (default 16). */
  height?: number;
  /** Image width in pixels (default 16). */
  width?: number;
  /** Side of every instance square in pixels (default 4). */
  square?: number;
  /** Standard deviation σ₀ of the isotropic data noise (default 0.15). */
  sigma0?: number;
  /** Most instances a prompt may hold (default 3). */
  maxInstances?: number;
  /** Named colours in [−1, 1] RGB (default DEFAULT_PALETTE). */
  palette?: Readonly<Record<string, Rgb>>;
  /** Background styles of the world, a subset of BUILTIN_STYLES (default plain, stripes, checker). */
  styles?: readonly string[];
  /** Style of a prompt that names none (default 'plain'); must be one of `styles`. */
  defaultStyle?: string;
}

export interface ShapesWorld {
  readonly channels: 3;
  readonly height: number;
  readonly width: number;
  readonly square: number;
  readonly sigma0: number;
  readonly maxInstances: number;
  /** Elements of one image: 3·height·width. */
  readonly dim: number;
  readonly palette: Readonly<Record<string, Rgb>>;
  /** Palette names in a fixed order (the order experts enumerate colours in). */
  readonly colors: readonly string[];
  readonly styles: readonly string[];
  readonly defaultStyle: string;
  /** The grey levels (equal in every channel) that the world's styles are made of, ascending. */
  readonly backgroundLevels: readonly number[];
}

/** Builds and validates a Shapes world. */
export function makeWorld(config: ShapesWorldConfig = {}): ShapesWorld {
  if (config === null || typeof config !== 'object') {
    throw new TypeError(`config must be an object, got ${describe(config)}`);
  }
  const height = checkInt('config.height', config.height ?? 16, 2, 4096);
  const width = checkInt('config.width', config.width ?? 16, 2, 4096);
  const square = checkInt('config.square', config.square ?? 4, 1, Math.min(height, width));
  const sigma0 = checkNumber('config.sigma0', config.sigma0 ?? 0.15, 0, Infinity, { minExclusive: true });
  if (!Number.isFinite(sigma0))
    throw new RangeError(`config.sigma0 must be a finite number in (0, Infinity), got ${sigma0}`);
  const maxInstances = checkInt('config.maxInstances', config.maxInstances ?? 3, 1, 64);

  const { palette, colors } = checkPalette(config.palette ?? DEFAULT_PALETTE);
  const { styles, defaultStyle } = checkStyles(config);
  const backgroundLevels = checkBackgroundLevels(styles, palette, colors);
  return Object.freeze({
    channels: 3 as const,
    height,
    width,
    square,
    sigma0,
    maxInstances,
    dim: 3 * height * width,
    palette: Object.freeze(palette),
    colors: Object.freeze(colors),
    styles: Object.freeze(styles),
    defaultStyle,
    backgroundLevels: Object.freeze(backgroundLevels),
  });
}

/** The palette: named, distinct [r, g, b] colours in [−1, 1]. */
function checkPalette(paletteIn: Readonly<Record<string, Rgb>>): { palette: Record<string, Rgb>; colors: string[] } {
  if (paletteIn === null || typeof paletteIn !== 'object') {
    throw new TypeError(
      `config.palette must be an object mapping colour names to [r, g, b], got ${describe(paletteIn)}`,
    );
  }
  const colors = Object.keys(paletteIn);
  if (colors.length < 1) throw new RangeError('config.palette must name at least 1 colour, got 0');
  const palette: Record<string, Rgb> = {};
  for (const name of colors) {
    if (!/^[a-z][a-z0-9_-]*$/i.test(name)) {
      throw new RangeError(`config.palette colour names must match /^[a-z][a-z0-9_-]*$/i, got ${JSON.stringify(name)}`);
    }
    const rgb = paletteIn[name];
    if (!Array.isArray(rgb) || rgb.length !== 3) {
      throw new TypeError(
        `config.palette.${name} must be an array [r, g, b] of 3 numbers in [-1, 1], got ${describe(rgb)}`,
      );
    }
    for (let c = 0; c < 3; c++) checkNumber(`config.palette.${name}[${c}]`, rgb[c], -1, 1);
    palette[name] = Object.freeze([rgb[0], rgb[1], rgb[2]]) as Rgb;
  }
  for (let i = 0; i < colors.length; i++) {
    for (let j = i + 1; j < colors.length; j++) {
      const a = palette[colors[i]];
      const b = palette[colors[j]];
      if (a[0] === b[0] && a[1] === b[1] && a[2] === b[2]) {
        throw new RangeError(
          `config.palette colours must be distinct, got '${colors[i]}' and '${colors[j]}' both [${a.join(', ')}]`,
        );
      }
    }
  }
  return { palette, colors };
}

/** The styles (a non-empty subset of BUILTIN_STYLES, no repeats) and the default one. */
function checkStyles(config: ShapesWorldConfig): { styles: string[]; defaultStyle: string } {
  const builtin = Object.keys(BUILTIN_STYLES);
  const stylesIn = config.styles ?? DEFAULT_STYLES;
  if (!Array.isArray(stylesIn) || stylesIn.length < 1) {
    throw new RangeError(
      `config.styles must be a non-empty array of ${builtin.map((s) => `'${s}'`).join(', ')}, got ${describe(stylesIn)}`,
    );
  }
  const styles: string[] = [];
  stylesIn.forEach((s, i) => {
    checkOneOf(`config.styles[${i}]`, s, builtin);
    if (styles.includes(s)) throw new RangeError(`config.styles must not repeat a style, got '${s}' twice`);
    styles.push(s);
  });
  const defaultStyle = checkOneOf(
    'config.defaultStyle',
    config.defaultStyle ?? (styles.includes('plain') ? 'plain' : styles[0]),
    styles,
  );
  return { styles, defaultStyle };
}

/** The grey levels of the styles, ascending; no palette colour may equal one. */
function checkBackgroundLevels(
  styles: readonly string[],
  palette: Record<string, Rgb>,
  colors: readonly string[],
): number[] {
  // The grey levels the styles use; a palette colour equal to one could not be told apart.
  const levels = new Set<number>();
  for (const s of styles) {
    const f = BUILTIN_STYLES[s];
    for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) levels.add(f(y, x));
  }
  const backgroundLevels = [...levels].sort((a, b) => a - b);
  for (const name of colors) {
    const c = palette[name];
    for (const b of backgroundLevels) {
      if (c[0] === b && c[1] === b && c[2] === b) {
        throw new RangeError(
          `config.palette.${name} must differ from the background level [${b}, ${b}, ${b}] of the world's styles`,
        );
      }
    }
  }
  return backgroundLevels;
}

/** Throws a TypeError unless `world` looks like a world made by makeWorld. */
export function checkWorld(world: unknown): ShapesWorld {
  const w = world as ShapesWorld;
  if (
    w === null ||
    typeof w !== 'object' ||
    w.channels !== 3 ||
    typeof w.dim !== 'number' ||
    typeof w.palette !== 'object' ||
    !Array.isArray(w.styles)
  ) {
    throw new TypeError(`world must be a Shapes world made by makeWorld(), got ${describe(world)}`);
  }
  return w;
}

/** Writes the background style `style` into `out` (C×H×W, channel-major). */
export function fillBackground(world: ShapesWorld, style: string, out: Float32Array): Float32Array {
  const f = BUILTIN_STYLES[style];
  const { height: H, width: W } = world;
  const plane = H * W;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const v = f(y, x);
      const p = y * W + x;
      out[p] = v;
      out[plane + p] = v;
      out[2 * plane + p] = v;
    }
  }
  return out;
}

/** Paints a `world.square`-sided square of colour `rgb` with top-left corner (x, y) into `out`. */
export function paintSquare(world: ShapesWorld, x: number, y: number, rgb: Rgb, out: Float32Array): Float32Array {
  const { height: H, width: W, square: S } = world;
  const plane = H * W;
  for (let c = 0; c < 3; c++) {
    const v = rgb[c];
    for (let yy = y; yy < y + S; yy++) {
      const row = c * plane + yy * W;
      for (let xx = x; xx < x + S; xx++) out[row + xx] = v;
    }
  }
  return out;
}
