/**
 * The playground page: settings (from the URL hash or the defaults) → the worker → cards and
 * charts. A change while a run is going on is kept (only the latest) and sent when that run
 * ends, so dragging a slider shows intermediate results and never queues stale work.
 */
import { parsePromptLabel, type ShapesPrompt } from '../../src/toy/shapes/prompts.ts';
import { DEFAULT_SETTINGS, EXPERT_NAMES, WORLD, parseSettings, settingsFromHash, settingsToHash, type Settings } from './settings.ts';
import { buildControls, el } from './ui-controls.ts';
import { PromptEditor } from './ui-draw.ts';
import { methodCard, promptCard, putCard, renderCharts } from './ui-results.ts';
import type { FromWorker } from './worker.ts';

/** A run longer than this is stopped (an endless loop in a custom rule, say). */
const STUCK_MS = 30_000;

const $ = <T extends HTMLElement>(sel: string) => document.querySelector<T>(sel)!;
const status = $('#status');
const methods = $('#methods');
const results = $('#results');

/** Why the link's settings were not used, shown with the first result. */
let linkNotice = '';
let settings: Settings = initialSettings();
let worker = startWorker();
let nextId = 1;
let running: { id: number; settings: Settings; changedAt: number; watchdog: number } | null = null;
let pending: { settings: Settings; changedAt: number } | null = null;
/** What the status line said after the last finished run. */
let lastDone = '';


const showControls = buildControls($('#controls'), (patch) => update(patch));
const editor = new PromptEditor($('#prompt-panel'), (prompt) => update({ prompt }));
buildExperts();
buildRuleBox();
show(settings);
send({ settings, changedAt: performance.now() });

function initialSettings(): Settings {
  if (location.hash.length <= 1) return { ...DEFAULT_SETTINGS };
  try {
    return settingsFromHash(location.hash);
  } catch (e) {
    linkNotice = `the link's settings were not used (${e instanceof Error ? e.message : String(e)}); `;
    return { ...DEFAULT_SETTINGS };
  }
}

function startWorker(): Worker {
  const w = new Worker(new URL('worker.js', import.meta.url), { type: 'module' });
  w.onmessage = (e: MessageEvent<FromWorker>) => receive(e.data);
  w.onerror = (e) => fail(`the worker failed: ${e.message}`);
  return w;
}

/** Applies a change from a control; s follows T down so that s ≤ T always holds. */
function update(patch: Partial<Settings>): void {
  const next = { ...settings, ...patch };
  if (next.s > next.T) next.s = next.T;
  if (next.others.includes(next.target)) next.others = next.others.filter((e) => e !== next.target);
  let parsed: Settings;
  try {
    parsed = parseSettings(next as unknown as Record<string, unknown>);
  } catch (e) {
    status.textContent = `not applied: ${e instanceof Error ? e.message : String(e)}`;
    return;
  }
  if (JSON.stringify(parsed) === JSON.stringify(settings)) {
    show(settings); // e.g. a field edited back to the value in use: nothing to run
    if (!running) status.textContent = lastDone;
    return;
  }
  settings = parsed;
  show(settings);
  history.replaceState(null, '', settingsToHash(settings) || location.pathname);
  const req = { settings, changedAt: performance.now() };
  if (running) pending = req;
  else send(req);
}

function send(req: { settings: Settings; changedAt: number }): void {
  const id = nextId++;
  running = { id, ...req, watchdog: window.setTimeout(stuck, STUCK_MS) };
  results.setAttribute('aria-busy', 'true');
  results.dataset.state = 'running';
  status.textContent = 'sampling…';
  putCard(methods, promptCard(promptOf(req.settings)));
  worker.postMessage({ type: 'run', id, settings: req.settings });
}

function receive(msg: FromWorker): void {
  if (!running || msg.id !== running.id) return;
  if (msg.type === 'method') {
    putCard(methods, methodCard(msg.view, promptOf(running.settings)));
    return;
  }
  window.clearTimeout(running.watchdog);
  const done = running;
  running = null;
  if (msg.type === 'error') fail(msg.message);
  else {
    // drop the cards of methods no longer chosen; keep the rest in the run's order
    const keys = ['prompt', ...msg.result.methods.map((m) => m.key)];
    methods.querySelectorAll<HTMLElement>('[data-key]').forEach((c) => { if (!keys.includes(c.dataset.key!)) c.remove(); });
    for (const k of keys) methods.append(methods.querySelector(`[data-key="${k}"]`)!);
    renderCharts($('#charts'), msg.result, done.settings.T);
    const err = msg.result.amdmError;
    $('#rule-status').textContent = err ? `not used: ${err}` : done.settings.rule === 'custom' ? 'the custom rule passed its checks and ran' : '';
    const total = performance.now() - done.changedAt;
    results.dataset.updateMs = total.toFixed(0);
    results.dataset.settings = JSON.stringify(done.settings);
    lastDone = `updated in ${total.toFixed(0)} ms (sampling ${msg.ms.toFixed(0)} ms)`;
    status.textContent = linkNotice + lastDone;
    linkNotice = '';
  }
  results.dataset.state = pending ? 'running' : 'done';
  results.setAttribute('aria-busy', pending ? 'true' : 'false');
  if (pending) {
    const next = pending;
    pending = null;
    send(next);
  }
}

function stuck(): void {
  worker.terminate();
  worker = startWorker();
  running = null;
  pending = null;
  fail(`the run took longer than ${STUCK_MS / 1000} s and was stopped (an endless loop in the rule?)`);
}

function fail(message: string): void {
  status.textContent = `error: ${message}`;
  results.dataset.state = 'error';
  results.setAttribute('aria-busy', 'false');
}

function promptOf(s: Settings): ShapesPrompt {
  return parsePromptLabel(WORLD, s.prompt);
}

function show(s: Settings): void {
  showControls(s);
  editor.show(s.prompt);
  $<HTMLSelectElement>('#target').value = s.target;
  for (const box of document.querySelectorAll<HTMLInputElement>('#others input')) {
    box.checked = s.others.includes(box.value as Settings['target']);
    box.disabled = box.value === s.target;
  }
}

function buildExperts(): void {
  const target = $<HTMLSelectElement>('#target');
  const others = $('#others');
  for (const name of EXPERT_NAMES) {
    target.append(el('option', { value: name }, name));
    const id = `other-${name}`;
    const box = el('input', { type: 'checkbox', id, value: name }) as HTMLInputElement;
    box.addEventListener('change', () => {
      const chosen = EXPERT_NAMES.filter((e) => document.querySelector<HTMLInputElement>(`#other-${e}`)!.checked);
      update({ others: chosen });
    });
    const check = el('span', { class: 'check' });
    check.append(box, el('label', { for: id }, name));
    others.append(check);
  }
  target.addEventListener('change', () => update({ target: target.value as Settings['target'] }));
}

function buildRuleBox(): void {
  const body = $<HTMLTextAreaElement>('#rule-body');
  body.value = settings.ruleBody;
  // the worker checks the rule (checkAggregationRule) before it samples with it, so an endless
  // loop in the body stops the worker, not the page
  $('#rule-apply').addEventListener('click', () => {
    $('#rule-status').textContent = 'checking the rule…';
    update({ rule: 'custom', ruleBody: body.value });
  });
}
