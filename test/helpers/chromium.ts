/**
 * Headless Chromium for browser tests: Debian's `chromium` (or the binary named by the
 * CHROMIUM environment variable) driven by playwright-core; no browser is ever downloaded.
 * When it is missing, suites are skipped with the reason printed; under CI they fail.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { describe, it } from 'vitest';
import { inCI } from './data.ts';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_INSTALL = 'apt-get update && apt-get install -y --no-install-recommends chromium';

const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

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

/** A headless Chromium with a fresh profile folder; `close` removes the folder too. */
export async function launchChromium(viewport = { width: 1400, height: 1000 }): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'amdm-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
