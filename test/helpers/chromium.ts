/**
 * Browser suites run only where Chromium is installed: elsewhere they are skipped with the
 * reason printed, and under CI they fail.
 */
import { existsSync } from 'node:fs';
import { describe, it } from 'vitest';
import { CHROMIUM, CHROMIUM_INSTALL } from '../../playground/chromium.ts';
import { inCI } from './data.ts';

/** `describe` that runs only when Chromium is installed (skips with a reason; fails under CI). */
export function describeWithChromium(name: string, fn: () => void): void {
  if (existsSync(CHROMIUM)) {
    describe(name, fn);
    return;
  }
  const reason = `Chromium not found at ${CHROMIUM} (set CHROMIUM to its path, or install Debian's: ${CHROMIUM_INSTALL})`;
  if (inCI()) {
    describe(name, () => {
      it('has a browser', () => {
        throw new Error(`${reason} (CI is set, so a missing browser is an error)`);
      });
    });
    return;
  }
  console.warn(`[skip] ${name}: ${reason}`);
  describe.skip(name, fn);
}
