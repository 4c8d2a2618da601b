#!/usr/bin/env node
/**
 * Executes the notebooks headless and fails on any error.
 *
 *   node scripts/notebooks-check.mjs [--no-build] [--keep] [notebook.ipynb ...]
 *
 * 1. Builds dist/ (`tsc -p tsconfig.build.json`) when it is missing or older than any file in
 *    src/ or the tsconfig files — notebooks import the built package (`amdm`, `amdm/image`, …).
 *    `--no-build` uses dist/ as it is.
 * 2. Runs every `notebooks/*.ipynb` (or the notebooks named) through
 *    `jupyter nbconvert --to notebook --execute` with the project's tslab kernel
 *    (kernels/tslab, found through JUPYTER_PATH) into a temporary folder; `--keep` keeps it.
 * 3. A notebook fails when nbconvert fails or any cell output is an error (`output_type:
 *    "error"`) or text on stderr (tslab reports compile errors and exceptions there).
 *
 * Prints one line per notebook with its time and a last line `notebooks: P passed, F failed`.
 * Exit status: 0 all passed, 1 some failed or the build failed, 2 Jupyter is not available.
 * The Jupyter command is /usr/bin/jupyter unless the JUPYTER environment variable names another.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const jupyter = process.env.JUPYTER || '/usr/bin/jupyter';
const INSTALL_HINT =
  'install it with: apt-get install -y jupyter-nbconvert jupyter-client python3-nbclient python3-ipykernel';

function parseArgs(argv) {
  const opts = { build: true, keep: false, notebooks: [] };
  for (const a of argv) {
    if (a === '--no-build') opts.build = false;
    else if (a === '--keep') opts.keep = true;
    else if (a === '--help' || a === '-h') {
      console.log('usage: node scripts/notebooks-check.mjs [--no-build] [--keep] [notebook.ipynb ...]');
      process.exit(0);
    } else if (a.startsWith('-')) {
      console.error(`notebooks-check: unknown option ${a} (allowed: --no-build, --keep)`);
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
  const entries = ['index.ts', ...readdirSync(src, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(src, e.name, 'index.ts')))
    .map((e) => `${e.name}/index.ts`)];
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
  const lines = String(Array.isArray(text) ? text.join('') : text).trimEnd().split('\n');
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
      'nbconvert', '--to', 'notebook', '--execute', '--allow-errors',
      '--ExecutePreprocessor.kernel_name=tslab',
      '--ExecutePreprocessor.timeout=600',
      '--output-dir', outDir, '--output', name, path,
    ],
    { cwd: root, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  const seconds = (performance.now() - t0) / 1000;
  const problems = [];
  const executed = join(outDir, name);
  if (r.status !== 0 || !existsSync(executed)) {
    problems.push(`nbconvert failed (exit ${r.status ?? r.signal}):\n${firstLines((r.stderr || '').split('\n').slice(-12).join('\n'), 12)}`);
  } else {
    problems.push(...problemsOf(JSON.parse(readFileSync(executed, 'utf8'))));
  }
  return { name, seconds, problems };
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
    : readdirSync(dir).filter((f) => f.endsWith('.ipynb')).sort().map((f) => join(dir, f));
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
      const { name, seconds, problems } = runNotebook(nb, outDir);
      const time = `${seconds.toFixed(1).padStart(6)} s`;
      if (problems.length === 0) {
        passed++;
        console.log(`  ok    ${time}  ${name}`);
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
