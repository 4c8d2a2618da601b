#!/usr/bin/env node
/**
 * Executes the notebooks headless, fails on any error, and checks (or writes) their committed outputs.
 *
 *   node scripts/notebooks-check.mjs [--no-build] [--keep] [--write] [notebook.ipynb ...]
 *
 * 1. Builds dist/ (`tsc -p tsconfig.build.json`) when it is missing or older than any file in
 *    src/ or the tsconfig files — notebooks import the built package (`amdm`, `amdm/image`, …).
 *    `--no-build` uses dist/ as it is.
 * 2. Runs every `notebooks/*.ipynb` (or the notebooks named) through
 *    `jupyter nbconvert --to notebook --execute` with the project's tslab kernel
 *    (kernels/tslab, found through JUPYTER_PATH) into a temporary folder; `--keep` keeps it.
 * 3. A notebook fails when nbconvert fails or any cell output is an error (`output_type:
 *    "error"`) or text on stderr (tslab reports compile errors and exceptions there).
 * 4. The notebooks are committed executed, so a code host shows their charts and images. A
 *    notebook also fails when a cell's outputs differ from the committed ones, up to timings
 *    (numbers followed by ms or s in text outputs), numbers within a relative 1e-3 and PNG pixels
 *    within 8/255 (ONNX Runtime's float results differ in the last bits between CPUs); `--write`
 *    instead stores the fresh outputs in the notebook (through a temporary file and a rename),
 *    without nbconvert's timing metadata.
 *
 * Prints one line per notebook with its time and a last line `notebooks: P passed, F failed`.
 * Exit status: 0 all passed, 1 some failed or the build failed, 2 Jupyter is not available.
 * The Jupyter command is /usr/bin/jupyter unless the JUPYTER environment variable names another.
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pngjs from 'pngjs';

const { PNG } = pngjs;

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const jupyter = process.env.JUPYTER || '/usr/bin/jupyter';
const INSTALL_HINT =
  'install it with: apt-get install -y jupyter-nbconvert jupyter-client python3-nbclient python3-ipykernel';

function parseArgs(argv) {
  const opts = { build: true, keep: false, write: false, notebooks: [] };
  for (const a of argv) {
    if (a === '--no-build') opts.build = false;
    else if (a === '--keep') opts.keep = true;
    else if (a === '--write') opts.write = true;
    else if (a === '--help' || a === '-h') {
      console.log('usage: node scripts/notebooks-check.mjs [--no-build] [--keep] [--write] [notebook.ipynb ...]');
      process.exit(0);
    } else if (a.startsWith('-')) {
      console.error(`notebooks-check: unknown option ${a} (allowed: --no-build, --keep, --write)`);
      process.exit(1);
    } else opts.notebooks.push(resolve(a));
  }
  return opts;
}

/** Newest modification time (ms) of the files under `dir`, recursively. */
function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    const t = entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs;
    if (t > newest) newest = t;
  }
  return newest;
}

/** Why dist/ must be rebuilt, or null when it is up to date. */
function staleReason() {
  const src = join(root, 'src');
  const entries = [
    'index.ts',
    ...readdirSync(src, { withFileTypes: true })
      .filter((e) => e.isDirectory() && existsSync(join(src, e.name, 'index.ts')))
      .map((e) => `${e.name}/index.ts`),
  ];
  let oldestBuilt = Infinity;
  for (const entry of entries) {
    const built = join(root, 'dist', entry.replace(/\.ts$/, '.js'));
    if (!existsSync(built)) return `dist/${entry.replace(/\.ts$/, '.js')} is missing`;
    oldestBuilt = Math.min(oldestBuilt, statSync(built).mtimeMs);
  }
  const configs = ['tsconfig.json', 'tsconfig.build.json'].map((f) => join(root, f)).filter(existsSync);
  const newestSource = Math.max(newestMtime(src), ...configs.map((f) => statSync(f).mtimeMs));
  return newestSource > oldestBuilt ? 'src/ changed since the last build' : null;
}

function build() {
  const reason = staleReason();
  if (!reason) return true;
  console.log(`building dist/ (${reason}) …`);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: root,
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    process.stdout.write(r.stdout ?? '');
    process.stderr.write(r.stderr ?? '');
    console.error(`notebooks-check: the build failed (tsc -p tsconfig.build.json, exit ${r.status ?? r.signal})`);
    return false;
  }
  console.log(`built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return true;
}

function jupyterAvailable() {
  if (!existsSync(jupyter)) return `${jupyter} not found`;
  const r = spawnSync(jupyter, ['nbconvert', '--version'], { encoding: 'utf8' });
  if (r.status !== 0) return `${jupyter} nbconvert is not available (${(r.stderr || '').trim().split('\n').pop()})`;
  return null;
}

function firstLines(text, n = 8) {
  const lines = String(Array.isArray(text) ? text.join('') : text)
    .trimEnd()
    .split('\n');
  return lines.slice(0, n).join('\n') + (lines.length > n ? `\n… (${lines.length - n} more lines)` : '');
}

/** Error outputs of an executed notebook, one message per offending cell output. */
function problemsOf(nb) {
  const problems = [];
  nb.cells.forEach((cell, i) => {
    if (cell.cell_type !== 'code') return;
    for (const out of cell.outputs ?? []) {
      if (out.output_type === 'error') {
        problems.push(`cell ${i}: ${out.ename}: ${out.evalue}`);
      } else if (out.output_type === 'stream' && out.name === 'stderr') {
        problems.push(`cell ${i} wrote to stderr:\n${firstLines(out.text)}`);
      }
    }
  });
  return problems;
}

/** The executed notebook as it is committed: nbconvert's per-cell timing metadata removed. */
function storable(nb) {
  for (const cell of nb.cells) if (cell.metadata) delete cell.metadata.execution;
  return `${JSON.stringify(nb, null, 1)}\n`;
}

const TIMING = /\b\d+(\.\d+)?(\s|\u00a0)?(ms|s)\b/g;
const NUMBER = /-?\d+(\.\d+)?(e[-+]?\d+)?/gi;
/** Numbers may differ by this much relative (ONNX Runtime's float results differ in the last bits between CPUs). */
const REL_TOL = 1e-3;
/** PNG outputs may differ by this much per channel (of 255). */
const PIXEL_TOL = 8;

const joined = (v) => (Array.isArray(v) ? v.join('') : String(v));

/** Why two text outputs differ, or null: equal up to timings and numbers within REL_TOL. */
function textDifference(a, b) {
  const [x, y] = [joined(a).replace(TIMING, '<time>'), joined(b).replace(TIMING, '<time>')];
  if (x.replace(NUMBER, '#') !== y.replace(NUMBER, '#')) return 'the text differs';
  const [nx, ny] = [x.match(NUMBER) ?? [], y.match(NUMBER) ?? []];
  for (let i = 0; i < nx.length; i++) {
    const [u, v] = [Number(nx[i]), Number(ny[i])];
    if (Math.abs(u - v) > 1e-9 + REL_TOL * Math.max(Math.abs(u), Math.abs(v)))
      return `a number differs: ${nx[i]} committed, ${ny[i]} now`;
  }
  return null;
}

/** Why two base64 PNGs differ, or null: same size and every channel within PIXEL_TOL. */
function pngDifference(a, b) {
  const [x, y] = [PNG.sync.read(Buffer.from(joined(a), 'base64')), PNG.sync.read(Buffer.from(joined(b), 'base64'))];
  if (x.width !== y.width || x.height !== y.height)
    return `the image is ${y.width}×${y.height} now, ${x.width}×${x.height} committed`;
  let worst = 0;
  for (let i = 0; i < x.data.length; i++) worst = Math.max(worst, Math.abs(x.data[i] - y.data[i]));
  return worst <= PIXEL_TOL ? null : `an image differs by up to ${worst}/255 in a channel`;
}

/** Why a code cell's outputs differ, or null. */
function cellDifference(committed, executed) {
  const [xs, ys] = [committed.outputs ?? [], executed.outputs ?? []];
  if (xs.length !== ys.length) return `${ys.length} outputs now, ${xs.length} committed`;
  for (let i = 0; i < xs.length; i++) {
    const [x, y] = [xs[i], ys[i]];
    if (x.output_type !== y.output_type) return `output ${i} is ${y.output_type} now, ${x.output_type} committed`;
    if (x.text !== undefined || y.text !== undefined) {
      const d = textDifference(x.text ?? '', y.text ?? '');
      if (d) return `output ${i}: ${d}`;
    }
    const keys = [...new Set([...Object.keys(x.data ?? {}), ...Object.keys(y.data ?? {})])].sort();
    for (const k of keys) {
      const [u, v] = [x.data?.[k], y.data?.[k]];
      if (u === undefined || v === undefined) return `output ${i}: ${k} only ${u === undefined ? 'now' : 'committed'}`;
      const d =
        k === 'image/png'
          ? pngDifference(u, v)
          : typeof u === 'string' || Array.isArray(u)
            ? textDifference(u, v)
            : JSON.stringify(u) === JSON.stringify(v)
              ? null
              : 'the data differs';
      if (d) return `output ${i} (${k}): ${d}`;
    }
  }
  return null;
}

/** Cells whose outputs differ between the committed and the executed notebook. */
function outputDifferences(committed, executed) {
  if (committed.cells.length !== executed.cells.length)
    return [`${committed.cells.length} cells committed, ${executed.cells.length} executed`];
  const diffs = [];
  committed.cells.forEach((cell, i) => {
    if (cell.cell_type !== 'code') return;
    const d = cellDifference(cell, executed.cells[i]);
    if (d) diffs.push(`cell ${i}: ${d}`);
  });
  return diffs.length === 0 ? [] : [...diffs, 'run `npm run notebooks:render` and commit the notebooks'];
}

function runNotebook(path, outDir) {
  const name = basename(path);
  const env = {
    ...process.env,
    JUPYTER_PATH: [root, process.env.JUPYTER_PATH].filter(Boolean).join(delimiter),
    PYDEVD_DISABLE_FILE_VALIDATION: '1',
  };
  const t0 = performance.now();
  const r = spawnSync(
    jupyter,
    [
      'nbconvert',
      '--to',
      'notebook',
      '--execute',
      '--allow-errors',
      '--ExecutePreprocessor.kernel_name=tslab',
      '--ExecutePreprocessor.timeout=600',
      '--output-dir',
      outDir,
      '--output',
      name,
      path,
    ],
    { cwd: root, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  const seconds = (performance.now() - t0) / 1000;
  const problems = [];
  const executed = join(outDir, name);
  if (r.status !== 0 || !existsSync(executed)) {
    problems.push(
      `nbconvert failed (exit ${r.status ?? r.signal}):\n${firstLines((r.stderr || '').split('\n').slice(-12).join('\n'), 12)}`,
    );
  } else {
    problems.push(...problemsOf(JSON.parse(readFileSync(executed, 'utf8'))));
  }
  return { name, seconds, problems, executed };
}

/** Writes the executed notebook over `path`, or returns how its outputs differ from the committed ones. */
function storeOrCompare(path, executed, write) {
  const fresh = JSON.parse(readFileSync(executed, 'utf8'));
  if (!write) return outputDifferences(JSON.parse(readFileSync(path, 'utf8')), fresh);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, storable(fresh));
  renameSync(tmp, path);
  return [];
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const missing = jupyterAvailable();
  if (missing) {
    console.error(`notebooks-check: ${missing}; ${INSTALL_HINT}`);
    process.exit(2);
  }
  if (opts.build && !build()) process.exit(1);
  const dir = join(root, 'notebooks');
  const notebooks = opts.notebooks.length
    ? opts.notebooks
    : readdirSync(dir)
        .filter((f) => f.endsWith('.ipynb'))
        .sort()
        .map((f) => join(dir, f));
  if (notebooks.length === 0) {
    console.error('notebooks-check: no notebooks to run');
    process.exit(1);
  }
  for (const nb of notebooks) {
    if (!existsSync(nb)) {
      console.error(`notebooks-check: ${nb} does not exist`);
      process.exit(1);
    }
  }
  const outDir = mkdtempSync(join(tmpdir(), 'amdm-notebooks-'));
  let passed = 0;
  let failed = 0;
  try {
    for (const nb of notebooks) {
      const { name, seconds, problems, executed } = runNotebook(nb, outDir);
      if (problems.length === 0) problems.push(...storeOrCompare(nb, executed, opts.write));
      const time = `${seconds.toFixed(1).padStart(6)} s`;
      if (problems.length === 0) {
        passed++;
        console.log(`  ok    ${time}  ${name}${opts.write ? ' (written)' : ''}`);
      } else {
        failed++;
        console.log(`  FAIL  ${time}  ${name}`);
        for (const p of problems) console.log(p.replace(/^/gm, '        '));
      }
    }
  } finally {
    if (opts.keep) console.log(`executed notebooks kept in ${outDir}`);
    else rmSync(outDir, { recursive: true, force: true });
  }
  console.log(`notebooks: ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

main();
