/**
 * The playground in a real browser (headless Chromium): the page loads, runs the worker, shows
 * the library's rates for the same seed, and updates images, rates and charts when a slider
 * moves (by keyboard); switched to the mini-zoo world it runs the zoo's ONNX models on
 * onnxruntime-web and shows the library's MiniMIG scores. Saves screenshots of the default view
 * and of the mini-zoo world to out/playground/playground.png and playground-zoo.png.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildPlayground } from '../../playground/build.ts';
import { serveStatic, type StaticServer } from '../../playground/serve.ts';
import { DEFAULT_SETTINGS } from '../../playground/src/settings.ts';
import { launchChromium } from '../../playground/chromium.ts';
import { describeWithChromium } from '../helpers/chromium.ts';
import { projectRoot } from '../helpers/data.ts';
import {
  libraryRates,
  libraryZooScores,
  type ExpectedSettings,
  type ExpectedZooSettings,
} from '../helpers/playground-expected.ts';

const RATES = [
  ['instance-success', 'instanceSuccess'],
  ['image-success', 'imageSuccess'],
  ['style-success', 'styleSuccess'],
  ['clean-images', 'cleanImages'],
] as const;
const defaults = DEFAULT_SETTINGS as unknown as ExpectedSettings;

/** The first mini-zoo run loads onnxruntime-web and the models: seconds on idle cores, minutes on busy ones. */
const ZOO_TIMEOUT = 900_000;

/** Waits until the run for settings with the values in `want` has finished; returns its settings. */
async function waitForRun(
  page: Page,
  want: Partial<ExpectedSettings> | Record<string, unknown>,
  timeout = 60_000,
): Promise<ExpectedSettings> {
  await page.waitForFunction(
    (w) => {
      const r = document.querySelector<HTMLElement>('#results')!;
      if (r.dataset.state !== 'done' || r.dataset.settings === undefined) return false;
      const s = JSON.parse(r.dataset.settings);
      return Object.entries(w).every(([k, v]) => JSON.stringify(s[k]) === JSON.stringify(v));
    },
    want,
    { timeout },
  );
  return JSON.parse((await page.getAttribute('#results', 'data-settings'))!);
}

/** The rates each card shows, at full precision (data attributes) and as text. */
async function shownRates(page: Page) {
  return page.$$eval('#methods [data-key]:not([data-key=prompt])', (cards) =>
    cards.map((c) => ({
      key: c.getAttribute('data-key')!,
      values: Object.fromEntries(
        ['instance-success', 'image-success', 'style-success', 'clean-images'].map((a) => [
          a,
          c.getAttribute(`data-${a}`),
        ]),
      ),
      texts: Object.fromEntries(
        [...c.querySelectorAll('[data-rate]')].map((d) => [d.getAttribute('data-rate'), d.textContent]),
      ),
    })),
  );
}

async function expectLibraryRates(page: Page, settings: ExpectedSettings): Promise<void> {
  const want = await libraryRates(settings);
  const shown = await shownRates(page);
  expect(shown.map((s) => s.key)).toEqual(Object.keys(want));
  for (const s of shown) {
    for (const [attr, field] of RATES) {
      const e = want[s.key][field];
      expect(s.values[attr], `${s.key} ${attr}`).toBe(e === null ? '' : String(e.value));
      expect(s.texts[attr]).toBe(e === null ? '—' : `${(100 * e.value).toFixed(0)}% ± ${(100 * e.se).toFixed(0)}`);
    }
  }
}

const snapshot = (page: Page) =>
  page.evaluate(() => ({
    amdm: [...document.querySelectorAll<HTMLCanvasElement>('[data-key=amdm] canvas')].map((c) => c.toDataURL()).join(),
    charts: [...document.querySelectorAll('#charts figure')]
      .map((f) => (f.querySelector('svg') ? f.innerHTML : ''))
      .join(),
  }));

describeWithChromium('playground in Chromium', () => {
  let dir: string;
  let server: StaticServer;
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'amdm-playground-'));
    await buildPlayground(dir);
    server = await serveStatic(dir);
    browser = await launchChromium();
    page = await browser.context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.url);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows the library’s rates at the default settings, with three charts', async () => {
    const s = await waitForRun(page, { w: 0.5 });
    expect(s).toMatchObject({
      prompt: defaults.prompt,
      target: 'layout',
      others: ['attribute'],
      T: 50,
      s: 20,
      seed: 0,
      samples: 4,
    });
    await expectLibraryRates(page, s);
    expect(await page.locator('#charts figure svg').count()).toBeGreaterThanOrEqual(3);
    expect(await page.locator('[data-key=amdm] canvas').count()).toBe(4);
    expect(errors).toEqual([]);
    // the README's picture (docs/playground.png is this file, compressed)
    mkdirSync(join(projectRoot, 'out', 'playground'), { recursive: true });
    await page.screenshot({ path: join(projectRoot, 'out', 'playground', 'playground.png'), fullPage: true });
  });

  it('refuses a seed that is not an integer, saying why', async () => {
    await page.fill('#control-seed', '1.5');
    await page.press('#control-seed', 'Enter');
    expect(await page.textContent('#status')).toBe('not applied: seed must be an integer in [0, 2147483647], got 1.5');
    await page.fill('#control-seed', '0');
    await page.press('#control-seed', 'Enter');
    expect(await page.getAttribute('#results', 'data-state')).toBe('done'); // seed 0 is the current seed: nothing new ran
    expect(await page.textContent('#status')).toMatch(/^updated in \d+ ms \(sampling \d+ ms\)$/);
  });

  it('opens a shared link with its settings, and says why when a link is bad', async () => {
    const other = await browser.context.newPage();
    await other.goto(`${server.url}#w=0.25&others=attribute,style`);
    const s = await waitForRun(other, { w: 0.25 });
    expect(s.others).toEqual(['attribute', 'style']);
    expect(
      await other.locator('#methods [data-key]').evaluateAll((cs) => cs.map((c) => c.getAttribute('data-key'))),
    ).toEqual(['prompt', 'alone:layout', 'alone:attribute', 'alone:style', 'amdm']);
    await other.goto(`${server.url}#w=2`);
    await other.reload();
    await waitForRun(other, { w: 0.5 });
    expect(await other.textContent('#status')).toMatch(
      /^the link's settings were not used \(w must be in \[0, 1\], got 2\); updated in \d+ ms/,
    );
    await other.close();
  });

  it('every control has a label', async () => {
    const unlabelled = await page.$$eval('input, select, textarea', (els) =>
      els
        .filter(
          (e) => (e as HTMLInputElement).labels?.length === 0 && !e.closest('label') && !e.getAttribute('aria-label'),
        )
        .map((e) => e.id || e.outerHTML),
    );
    expect(unlabelled).toEqual([]);
  });

  it('moving w by keyboard updates the images, the rates and the charts', async () => {
    const before = await snapshot(page);
    await page.focus('#control-w');
    for (let i = 0; i < 4; i++) await page.keyboard.press('ArrowRight');
    const s = await waitForRun(page, { w: 0.7 });
    await expectLibraryRates(page, s);
    const after = await snapshot(page);
    expect(after.amdm).not.toBe(before.amdm);
    expect(after.charts).not.toBe(before.charts);
    expect(await page.textContent('#control-w-value')).toBe('0.7');
    expect(page.url()).toContain('#w=0.7');

    // one step of the slider from idle: the time from the key press to the updated page
    await page.keyboard.press('ArrowLeft');
    await waitForRun(page, { w: 0.65 });
    const ms = Number(await page.getAttribute('#results', 'data-update-ms'));
    console.log(`playground: one update (w 0.7 → 0.65, defaults otherwise) took ${ms} ms in headless Chromium`);
    expect(ms).toBeGreaterThan(0);
    expect(errors).toEqual([]);
  });

  it('draws a square by keyboard and samples the new prompt', async () => {
    await page.focus('#draw');
    for (let i = 0; i < 10; i++) await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    const prompt = 'cyan@(1,1) green@(6,1) red@(0,10) | plain';
    expect(await page.inputValue('#prompt')).toBe(prompt);
    const s = await waitForRun(page, { prompt });
    await expectLibraryRates(page, s);
    // a square that would overlap is refused with a message, and nothing runs
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Enter');
    expect(await page.textContent('#prompt-error')).toBe(
      'a square at (1, 10) would overlap red at (0, 10); remove that square first',
    );
    // Enter on the red square removes it again
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('Enter');
    expect(await page.inputValue('#prompt')).toBe(defaults.prompt);
    await waitForRun(page, { prompt: defaults.prompt });
  });

  it('refuses a custom rule that fails its checks, and runs one that passes', async () => {
    await page.fill('#rule-body', 'out.fill(0);');
    await page.click('#rule-apply');
    await waitForRun(page, { rule: 'custom', ruleBody: 'out.fill(0);' } as never);
    expect(await page.textContent('#rule-status')).toMatch(
      /^not used: rule 'custom' must return a \(the target keeps its proposal\) at w = 0/,
    );
    expect(await page.locator('[data-key=amdm]').count()).toBe(0);
    expect(await page.textContent('#chart-angles')).toContain("no AMDM run: rule 'custom' must return a");
    await page.fill('#rule-body', 'for (let i = 0; i < a.length; i++) out[i] = (1 - w) * a[i] + w * b[i];');
    await page.click('#rule-apply');
    const s = await waitForRun(page, { rule: 'custom' as never });
    await expectLibraryRates(page, { ...s, rule: 'lerp' });
    expect(await page.textContent('#rule-status')).toBe('the custom rule passed its checks and ran');
  });

  it(
    'the mini-zoo world: each model alone and AMDM on onnxruntime-web, with the library’s MiniMIG scores',
    async () => {
      const zoo = await browser.context.newPage();
      const zooErrors: string[] = [];
      zoo.on('pageerror', (e) => zooErrors.push(e.message));
      await zoo.goto(server.url);
      await zoo.selectOption('#world', 'zoo');
      // a change while the zoo run is going on stops it before its next method and runs the new settings
      await zoo.waitForSelector('[data-key="alone:interactdiffusion-mini"]', { timeout: ZOO_TIMEOUT });
      await zoo.focus('#control-T');
      await zoo.keyboard.press('ArrowLeft');
      const s = (await waitForRun(zoo, { world: 'zoo', T: 11 }, ZOO_TIMEOUT)) as unknown as ExpectedZooSettings & {
        world: string;
      };
      expect(s).toMatchObject({
        zooPrompt: 'L3-002',
        zooTarget: 'interactdiffusion-mini',
        zooOthers: ['migc-mini', 'ipadapter-mini'],
        T: 11,
        s: 5,
        eta: 0.3,
        samples: 1,
      });
      expect(zoo.url()).toContain('#world=zoo&T=11');
      expect(await zoo.getAttribute('#results', 'data-cancelled')).toBe('1');
      const want = await libraryZooScores(s, 'web');
      const shown = await zoo.$$eval('#methods [data-key]:not([data-key=prompt])', (cards) =>
        cards.map((c) => ({
          key: c.getAttribute('data-key')!,
          values: Object.fromEntries(
            [
              'instance-success',
              'miou',
              'interaction-success',
              'relation-success',
              'image-success',
              'style-success',
              'clean-rate',
            ].map((a) => [a, c.getAttribute(`data-${a}`)]),
          ),
          texts: Object.fromEntries(
            [...c.querySelectorAll('[data-rate]')].map((d) => [d.getAttribute('data-rate'), d.textContent]),
          ),
          images: c.querySelectorAll('canvas').length,
        })),
      );
      expect(shown.map((c) => c.key)).toEqual([
        'alone:interactdiffusion-mini',
        'alone:migc-mini',
        'alone:ipadapter-mini',
        'amdm',
      ]);
      const fields = [
        ['instance-success', 'instanceSuccess'],
        ['miou', 'mIoU'],
        ['interaction-success', 'interactionSuccess'],
        ['relation-success', 'relationSuccess'],
        ['image-success', 'imageSuccess'],
        ['style-success', 'styleSuccess'],
        ['clean-rate', 'cleanRate'],
      ] as const;
      for (const c of shown) {
        expect(c.images).toBe(1);
        for (const [attr, field] of fields) {
          const e = want[c.key][field];
          // the same WebAssembly build of onnxruntime in Node and in the page: the same images
          if (e === null) expect(c.values[attr], `${c.key} ${attr}`).toBe('');
          else expect(Number(c.values[attr]), `${c.key} ${attr}`).toBeCloseTo(e.value, 12);
        }
        expect(c.texts['instance-success']).toBe(
          `${(100 * want[c.key].instanceSuccess.value).toFixed(0)}% ± ${(100 * want[c.key].instanceSuccess.se).toFixed(0)}`,
        );
        expect(c.texts.miou).toBe(`${want[c.key].mIoU.value.toFixed(2)} ± ${want[c.key].mIoU.se.toFixed(2)}`);
      }
      expect(await zoo.locator('[data-key=prompt] canvas').count()).toBe(2); // the exact render and the style reference
      expect(await zoo.locator('#charts figure svg').count()).toBeGreaterThanOrEqual(3);
      expect(await zoo.locator('#prompt-panel').isHidden()).toBe(true);
      expect(zooErrors).toEqual([]);
      mkdirSync(join(projectRoot, 'out', 'playground'), { recursive: true });
      await zoo.screenshot({ path: join(projectRoot, 'out', 'playground', 'playground-zoo.png'), fullPage: true });
      await zoo.close();
    },
    ZOO_TIMEOUT + 300_000,
  );
});
