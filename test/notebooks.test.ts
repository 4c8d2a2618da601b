/**
 * The notebooks under notebooks/: how they are stored (always checked: executed, with outputs) and
 * that they execute headless without an error into the committed outputs, up to timings
 * (scripts/notebooks-check.mjs, when Jupyter's nbconvert is installed at
 * /usr/bin/jupyter, or where the JUPYTER environment variable says). Without Jupyter the execution tests are skipped with the reason printed; with
 * CI set (any value except "", "0", "false") a missing Jupyter is a failure.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inCI, projectRoot } from './helpers/data.ts';

/** The Jupyter command: /usr/bin/jupyter (Debian's), or the one named by the JUPYTER environment variable. */
const JUPYTER = process.env.JUPYTER || '/usr/bin/jupyter';
const INSTALL = 'apt-get install -y jupyter-nbconvert jupyter-client python3-nbclient python3-ipykernel';
const CHECK_SCRIPT = join(projectRoot, 'scripts', 'notebooks-check.mjs');
const NOTEBOOKS_DIR = join(projectRoot, 'notebooks');
const notebookFiles = readdirSync(NOTEBOOKS_DIR)
  .filter((f) => f.endsWith('.ipynb'))
  .sort();

interface Cell {
  cell_type: 'code' | 'markdown' | 'raw';
  source: string | string[];
  outputs?: unknown[];
  execution_count?: number | null;
}
interface Notebook {
  nbformat: number;
  metadata: { kernelspec?: { name?: string } };
  cells: Cell[];
}

const text = (cell: Cell) => (Array.isArray(cell.source) ? cell.source.join('') : cell.source);
const load = (file: string) => JSON.parse(readFileSync(join(NOTEBOOKS_DIR, file), 'utf8')) as Notebook;

/** Module specifiers a notebook may import: the built package's public entry points, Plot, tslab, Node built-ins. */
const ALLOWED_IMPORT = /^(amdm(\/(core|toy|image|onnx|sd|compose))?|@observablehq\/plot|tslab|node:[a-z_/]+)$/;

describe('notebook files', () => {
  it('holds the introductory and the application notebooks', () => {
    expect(notebookFiles).toEqual(
      expect.arrayContaining([
        '01-hypersphere.ipynb',
        '02-linear-vs-spherical.ipynb',
        '03-deviation-optimization.ipynb',
        '04-fine-grained-control.ipynb',
        '05-interactdiffusion-migc-ipadapter.ipynb',
      ]),
    );
  });

  it.each(notebookFiles)('%s is stored executed (with outputs, without errors) on the project tslab kernel', (file) => {
    const nb = load(file);
    expect(nb.nbformat).toBe(4);
    expect(nb.metadata.kernelspec?.name).toBe('tslab');
    const code = nb.cells.filter((c) => c.cell_type === 'code');
    expect(code.length).toBeGreaterThan(0);
    // tslab reports no execution counts, so whether the outputs are today's is the headless test's job
    code.forEach((cell, i) => {
      for (const out of (cell.outputs ?? []) as { output_type: string; name?: string }[]) {
        expect(out.output_type, `code cell ${i}`).not.toBe('error');
        expect(out.name, `code cell ${i}`).not.toBe('stderr');
      }
    });
    expect(code.some((c) => (c.outputs ?? []).length > 0)).toBe(true);
  });

  it.each(notebookFiles)('%s opens with what it shows and closes with what to take away', (file) => {
    const nb = load(file);
    expect(nb.cells[0].cell_type).toBe('markdown');
    expect(text(nb.cells[0])).toMatch(/^# /);
    const last = nb.cells[nb.cells.length - 1];
    expect(last.cell_type).toBe('markdown');
    expect(text(last)).toMatch(/take away/i);
  });

  it.each(notebookFiles)('%s imports only the public API of the built package (plus Plot and tslab)', (file) => {
    const specifiers = load(file)
      .cells.filter((c) => c.cell_type === 'code')
      .flatMap((c) => [
        // import statements (line-initial, so a string like 'drinking from' is not one) and require()
        ...[...text(c).matchAll(/^\s*import\s[^;]*?\bfrom\s*['"]([^'"]+)['"]/gm)].map((m) => m[1]),
        ...[...text(c).matchAll(/\brequire\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]),
      ]);
    expect(specifiers).toContain('amdm');
    for (const s of specifiers) expect(s, `import '${s}'`).toMatch(ALLOWED_IMPORT);
  });

  it('the kernel spec starts tslab from the project root through the launcher', () => {
    const spec = JSON.parse(readFileSync(join(projectRoot, 'kernels', 'tslab', 'kernel.json'), 'utf8')) as {
      argv: string[];
      language: string;
    };
    expect(spec.language).toBe('typescript');
    const command = spec.argv.join(' ');
    expect(command).toContain('cd "{resource_dir}/../.."');
    expect(command).toContain('kernels/tslab/launch.cjs kernel --config-path "{connection_file}"');
    expect(existsSync(join(projectRoot, 'kernels', 'tslab', 'launch.cjs'))).toBe(true);
  });
});

/** Why the notebooks cannot be executed here, or undefined when they can. */
function jupyterMissing(): string | undefined {
  if (!existsSync(JUPYTER)) return `${JUPYTER} not found`;
  const r = spawnSync(JUPYTER, ['nbconvert', '--version'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : `${JUPYTER} nbconvert is not available`;
}

function runCheck(args: string[]): { status: number | null; output: string } {
  const r = spawnSync(process.execPath, [CHECK_SCRIPT, ...args], {
    cwd: projectRoot,
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

function notebookWith(sources: string[]): string {
  return JSON.stringify({
    cells: sources.map((s, i) => ({
      cell_type: 'code',
      execution_count: null,
      id: `c${i}`,
      metadata: {},
      outputs: [],
      source: s,
    })),
    metadata: { kernelspec: { display_name: 'TypeScript (tslab, amdm)', language: 'typescript', name: 'tslab' } },
    nbformat: 4,
    nbformat_minor: 5,
  });
}

const missing = jupyterMissing();
const RUN_TIMEOUT = 600_000;

describe('headless execution', () => {
  if (missing !== undefined && inCI()) {
    it('needs Jupyter in CI', () => {
      throw new Error(`${missing}: the notebooks cannot be executed; install Jupyter with: ${INSTALL}`);
    });
    return;
  }
  if (missing !== undefined) {
    console.warn(`notebooks: skipping headless execution (${missing}); install Jupyter with: ${INSTALL}`);
    it.skip(`every notebook executes without an error (skipped: ${missing})`, () => {});
    return;
  }

  it(
    'every notebook executes without an error into its committed outputs',
    () => {
      const { status, output } = runCheck([]);
      const lines = output.trimEnd().split('\n');
      expect(lines[lines.length - 1], output).toBe(`notebooks: ${notebookFiles.length} passed, 0 failed`);
      expect(status, output).toBe(0);
      for (const file of notebookFiles)
        expect(output).toMatch(new RegExp(`ok +[0-9.]+ s  ${file.replace('.', '\\.')}`));
    },
    RUN_TIMEOUT,
  );

  it(
    'reports a type error and a thrown exception as failures',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'amdm-notebook-test-'));
      try {
        const typeError = join(dir, 'type-error.ipynb');
        const thrown = join(dir, 'thrown.ipynb');
        writeFileSync(typeError, notebookWith([`import { randn } from 'amdm';\nconst n: number = randn(1, 4);`]));
        writeFileSync(thrown, notebookWith([`import { randn } from 'amdm';\nrandn(1, -1);`]));
        const { status, output } = runCheck(['--no-build', typeError, thrown]);
        expect(status, output).toBe(1);
        expect(output).toMatch(/FAIL .* type-error\.ipynb/);
        expect(output).toMatch(/not assignable to type 'number'/);
        expect(output).toMatch(/FAIL .* thrown\.ipynb/);
        expect(output).toMatch(/RangeError: n must be/);
        expect(output.trimEnd().split('\n').pop()).toBe('notebooks: 0 passed, 2 failed');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    RUN_TIMEOUT,
  );
});
