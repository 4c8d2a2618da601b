/**
 * Benchmark of the playground in headless Chromium: how long the page takes from a change to
 * the updated images, rates and charts (the page's own measure, `data-update-ms`: from the
 * control's event to the last card and chart drawn).
 *
 *  - first load: from the page's start to the first complete run (worker start + every method);
 *  - one slider step of w (AMDM reruns; the experts alone come from the worker's cache), at the
 *    default settings, `--reps` times alternating 0.5 → 0.55 → 0.5;
 *  - one step of T, downward (50 → 49 → 48 …, so nothing is cached): every method reruns.
 * Median, min and max of the repetitions. Needs Chromium (see playground/chromium.ts).
 *
 * Run: `npx tsx bench/playground.ts [--reps 10]`. Output is Markdown.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import { buildPlayground } from '../playground/build.ts';
import { CHROMIUM, launchChromium } from '../playground/chromium.ts';
import { serveStatic } from '../playground/serve.ts';
import { markdownTable } from '../src/jobs/table.ts';

const { values } = parseArgs({ options: { reps: { type: 'string', default: '10' } } });
const reps = Number(values.reps);
if (!Number.isInteger(reps) || reps < 1 || reps > 29)
  throw new RangeError(`--reps must be an integer in [1, 29] (T steps down from 50 to s = 20), got ${values.reps}`);

/** Presses `key` on `selector` and returns the page's update time for the run it starts. */
async function step(page: Page, selector: string, key: string): Promise<number> {
  const before = await page.getAttribute('#results', 'data-settings');
  await page.focus(selector);
  await page.keyboard.press(key);
  await page.waitForFunction(
    (b) => {
      const r = document.querySelector<HTMLElement>('#results')!;
      return r.dataset.state === 'done' && r.dataset.settings !== b;
    },
    before,
    { timeout: 120_000 },
  );
  return Number(await page.getAttribute('#results', 'data-update-ms'));
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return [s[Math.floor((s.length - 1) / 2)], s[0], s[s.length - 1]].map((v) => v.toFixed(0));
};

const dir = mkdtempSync(join(os.tmpdir(), 'amdm-playground-bench-'));
await buildPlayground(dir);
const server = await serveStatic(dir);
const browser = await launchChromium();
try {
  const page = await browser.context.newPage();
  await page.goto(server.url);
  await page.waitForSelector('#results[data-state=done]', { timeout: 120_000 });
  const first = Number(await page.getAttribute('#results', 'data-update-ms'));
  const w: number[] = [];
  const T: number[] = [];
  for (let i = 0; i < reps; i++) w.push(await step(page, '#control-w', i % 2 === 0 ? 'ArrowRight' : 'ArrowLeft'));
  for (let i = 0; i < reps; i++) T.push(await step(page, '#control-T', 'ArrowLeft'));
  const version = browser.context.browser()?.version() ?? CHROMIUM;
  console.log(`### Playground update time in headless Chromium ${version}\n`);
  console.log(
    `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores visible, load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' / ')} at the end; Node ${process.version}; \`npx tsx bench/playground.ts --reps ${reps}\`\n`,
  );
  console.log(
    markdownTable(
      ['change (default settings: layout ← attribute, T = 50, s = 20, B = 4)', 'median ms', 'min ms', 'max ms'],
      [
        ['first load (worker start, 3 runs)', first.toFixed(0), '—', '—'],
        [`one step of w (AMDM reruns, experts alone cached), ${reps}×`, ...stats(w)],
        [`one step of T down from 50 (all 3 methods rerun), ${reps}×`, ...stats(T)],
      ],
      { textColumns: 4 },
    ),
  );
} finally {
  await browser.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}
