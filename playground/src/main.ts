/**
 * The playground page: settings (from the URL hash or the defaults) → the worker → cards and
 * charts. A change while a run is going on is kept (only the latest) and sent when that run
 * ends (a mini-zoo run, which takes seconds, is stopped before its next method), so dragging a
 * slider shows intermediate results and never queues stale work. The world
 * switch shows the chosen world's prompt and model panels and takes its sampler defaults.
 */
import { parsePromptLabel } from '../../src/toy/shapes/prompts.ts';
import type { MiniMigPrompt } from '../../src/toy/minimig/index.ts';
import type { MethodView } from './run.ts';
import {
  DEFAULT_SETTINGS,
  EXPERT_NAMES,
  WORLD,
  WORLDS,
  WORLD_NAMES,
  parseSettings,
  samplerDefaults,
  settingsFromHash,
  settingsToHash,
  type Settings,
  type World,
} from './settings.ts';
import { buildControls, el } from './ui-controls.ts';
import { PromptEditor } from './ui-draw.ts';
import { methodCard, promptCard, putCard, renderCharts, zooMethodCard, zooPromptCard } from './ui-results.ts';
import type { FromWorker } from './worker.ts';
import type { ZooMethodView } from './zoo-run.ts';
import {
  ZOO_MODEL_HELP,
  ZOO_MODEL_NAMES,
  ZOO_MODELS,
  ZOO_PRESET_IDS,
  zooPrompt,
  zooPromptText,
} from './zoo-settings.ts';

/**
 * A Shapes run longer than this is stopped (an endless loop in a custom rule, say). Mini-zoo runs
 * run no code of the user's and are not stopped: their first run loads onnxruntime-web and the models.
 */
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
let running: { id: number; settings: Settings; changedAt: number; watchdog: number | undefined } | null = null;
let pending: { settings: Settings; changedAt: number } | null = null;
/** What the status line said after the last finished run. */
let lastDone = '';
/** Whether a mini-zoo run has finished (onnxruntime-web and the models are loaded). */
let zooLoaded = false;

const showControls = buildControls($('#controls'), (patch) => update(patch));
const editor = new PromptEditor($('#prompt-panel'), (prompt) => update({ prompt }));
buildWorldSwitch();
buildExperts();
buildZooPanels();
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

/**
 * Applies a change from a control; s follows T down so that s ≤ T always holds; a change of
 * world takes that world's sampler defaults.
 */
function update(patch: Partial<Settings>): void {
  const next = { ...settings, ...patch };
  if (patch.world !== undefined && patch.world !== settings.world) Object.assign(next, samplerDefaults(patch.world));
  if (next.s > next.T) next.s = next.T;
  if (next.others.includes(next.target)) next.others = next.others.filter((e) => e !== next.target);
  if (next.zooOthers.includes(next.zooTarget)) next.zooOthers = next.zooOthers.filter((e) => e !== next.zooTarget);
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
  if (running) {
    pending = req;
    // a mini-zoo run takes seconds: it stops before its next method and the new settings run
    if (running.settings.world === 'zoo') worker.postMessage({ type: 'cancel', id: running.id });
  } else send(req);
}

function send(req: { settings: Settings; changedAt: number }): void {
  const id = nextId++;
  const zoo = req.settings.world === 'zoo';
  running = { id, ...req, watchdog: zoo ? undefined : window.setTimeout(stuck, STUCK_MS) };
  results.setAttribute('aria-busy', 'true');
  results.dataset.state = 'running';
  status.textContent =
    zoo && !zooLoaded ? 'loading onnxruntime-web and the mini-zoo’s models, then sampling…' : 'sampling…';
  if (results.dataset.world !== req.settings.world) methods.replaceChildren(); // the other world's cards
  results.dataset.world = req.settings.world;
  putCard(
    methods,
    zoo
      ? zooPromptCard(zooPromptOf(req.settings), zooPromptText(req.settings.zooPrompt))
      : promptCard(parsePromptLabel(WORLD, req.settings.prompt)),
  );
  worker.postMessage({ type: 'run', id, settings: req.settings });
}

function receive(msg: FromWorker): void {
  if (!running || msg.id !== running.id) return;
  if (msg.type === 'status') {
    status.textContent = msg.text;
    return;
  }
  if (msg.type === 'method') {
    const s = running.settings;
    putCard(
      methods,
      s.world === 'zoo'
        ? zooMethodCard(msg.view as ZooMethodView, zooPromptOf(s))
        : methodCard(msg.view as MethodView, parsePromptLabel(WORLD, s.prompt)),
    );
    return;
  }
  window.clearTimeout(running.watchdog);
  const done = running;
  running = null;
  if (msg.type === 'error') fail(msg.message);
  else if (msg.type === 'cancelled') results.dataset.cancelled = String(Number(results.dataset.cancelled ?? 0) + 1);
  else {
    // drop the cards of methods no longer chosen; keep the rest in the run's order
    const keys = ['prompt', ...msg.result.methods.map((m) => m.key)];
    methods.querySelectorAll<HTMLElement>('[data-key]').forEach((c) => {
      if (!keys.includes(c.dataset.key!)) c.remove();
    });
    for (const k of keys) methods.append(methods.querySelector(`[data-key="${k}"]`)!);
    renderCharts($('#charts'), msg.result, done.settings.T);
    const err = msg.result.amdmError;
    $('#rule-status').textContent = err
      ? `not used: ${err}`
      : done.settings.rule === 'custom'
        ? 'the custom rule passed its checks and ran'
        : '';
    const total = performance.now() - done.changedAt;
    results.dataset.updateMs = total.toFixed(0);
    results.dataset.settings = JSON.stringify(done.settings);
    if (done.settings.world === 'zoo') zooLoaded = true;
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

function zooPromptOf(s: Settings): MiniMigPrompt {
  return zooPrompt(s.zooPrompt);
}

function show(s: Settings): void {
  $<HTMLSelectElement>('#world').value = s.world;
  for (const part of document.querySelectorAll<HTMLElement>('.world-shapes, .world-zoo'))
    part.hidden = !part.classList.contains(`world-${s.world}`);
  showControls(s);
  editor.show(s.prompt);
  $<HTMLSelectElement>('#target').value = s.target;
  showOthers('#others', s.others, s.target);
  const zp = $<HTMLSelectElement>('#zoo-prompt');
  // a prompt from a link that is not in the list gets its own entry
  if (![...zp.options].some((o) => o.value === s.zooPrompt))
    zp.append(el('option', { value: s.zooPrompt }, zooPromptText(s.zooPrompt)));
  zp.value = s.zooPrompt;
  $<HTMLSelectElement>('#zoo-target').value = s.zooTarget;
  showOthers('#zoo-others', s.zooOthers, s.zooTarget);
}

/** Ticks the chosen other models; the target's box is disabled. */
function showOthers(fieldset: string, chosen: readonly string[], target: string): void {
  for (const box of document.querySelectorAll<HTMLInputElement>(`${fieldset} input`)) {
    box.checked = chosen.includes(box.value);
    box.disabled = box.value === target;
  }
}

function buildWorldSwitch(): void {
  const world = $<HTMLSelectElement>('#world');
  for (const w of WORLD_NAMES) world.append(el('option', { value: w }, WORLDS[w]));
  world.addEventListener('change', () => update({ world: world.value as World }));
}

/** A target select and one checkbox per model for the others; `onOthers` receives the ticked ones in list order. */
function buildModelChoice(
  target: HTMLSelectElement,
  others: HTMLElement,
  names: readonly string[],
  label: (name: string) => string,
  idPrefix: string,
  onTarget: (name: string) => void,
  onOthers: (chosen: string[]) => void,
): void {
  for (const name of names) {
    target.append(el('option', { value: name }, label(name)));
    const id = `${idPrefix}-${name}`;
    const box = el('input', { type: 'checkbox', id, value: name }) as HTMLInputElement;
    box.addEventListener('change', () =>
      onOthers(names.filter((e) => document.querySelector<HTMLInputElement>(`#${idPrefix}-${e}`)!.checked)),
    );
    const check = el('span', { class: 'check' });
    check.append(box, el('label', { for: id }, label(name)));
    others.append(check);
  }
  target.addEventListener('change', () => onTarget(target.value));
}

function buildExperts(): void {
  buildModelChoice(
    $('#target'),
    $('#others'),
    EXPERT_NAMES,
    (n) => n,
    'other',
    (t) => update({ target: t as Settings['target'] }),
    (chosen) => update({ others: chosen as Settings['others'] }),
  );
}

function buildZooPanels(): void {
  const prompt = $<HTMLSelectElement>('#zoo-prompt');
  for (const id of ZOO_PRESET_IDS) prompt.append(el('option', { value: id }, zooPromptText(id)));
  prompt.addEventListener('change', () => update({ zooPrompt: prompt.value }));
  $('#zoo-target-help').textContent = ZOO_MODEL_HELP;
  buildModelChoice(
    $('#zoo-target'),
    $('#zoo-others'),
    ZOO_MODEL_NAMES,
    (n) => ZOO_MODELS[n as keyof typeof ZOO_MODELS],
    'zoo-other',
    (t) => update({ zooTarget: t as Settings['zooTarget'] }),
    (chosen) => update({ zooOthers: chosen as Settings['zooOthers'] }),
  );
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
