/**
 * The one place that loads a font for pureimage. pureimage draws nothing for text until a
 * TTF/OTF font is registered and loaded; we use DejaVu Sans from the `dejavu-fonts-ttf` package.
 */
import { createRequire } from 'node:module';
import * as PImage from 'pureimage';

/** Family name under which the label font is registered with pureimage. */
export const LABEL_FONT_FAMILY = 'DejaVu Sans';

let loaded = false;

/** Absolute path of DejaVuSans.ttf inside the installed `dejavu-fonts-ttf` package. */
export function labelFontPath(): string {
  return createRequire(import.meta.url).resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf');
}

/**
 * Registers and synchronously loads the label font once per process; returns its family name,
 * for `ctx.font = \`${size}px ${family}\``. Throws an Error naming the path if loading fails.
 */
export function ensureLabelFont(): string {
  if (loaded) return LABEL_FONT_FAMILY;
  const path = labelFontPath();
  try {
    PImage.registerFont(path, LABEL_FONT_FAMILY).loadSync();
  } catch (e) {
    throw new Error(`could not load the label font ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  loaded = true;
  return LABEL_FONT_FAMILY;
}
