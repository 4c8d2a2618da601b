/**
 * The export behind `amdm export <family> --from <checkpoint> --out <folder> [--fp16] [--base <sd folder>] …`:
 * turns a real checkpoint into a model folder of docs/models.md by running the Python exporter
 * (`python -m amdm_tools.export`, python/amdm_tools/export/) in the repository's `.venv`
 * (`npm run setup:python`). Options the command does not know (a family's own, e.g.
 * `--dynamic-size`) go to the exporter unchanged.
 *
 * Output: the location is checked first (prepareOutputFolder: a folder amdm did not write is
 * never replaced); the exporter writes into a hidden staging folder beside it, removed on an
 * interrupt or a failure; the finished folder is committed through the same output mechanism as
 * every other command (manifest `.amdm-output.json`, swapped in by renames), so `--out` holds a
 * complete, checked export or what it held before.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { removeOnInterrupt } from '../io/interrupt-cleanup.ts';
import { prepareOutputFolder } from '../io/output-folder.ts';

export const EXPORT_FAMILIES = ['sd', 'ipadapter', 'interactdiffusion', 'migc'] as const;

/** The package root (two folders above src/jobs/ and dist/jobs/ alike). */
const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The Python of `.venv` (or AMDM_PYTHON); a clear error naming `npm run setup:python` when missing. */
export function exportPython(root = packageRoot): string {
  const given = process.env.AMDM_PYTHON;
  const python = given !== undefined && given !== '' ? given : join(root, '.venv', 'bin', 'python');
  if (!existsSync(python)) {
    throw new Error(
      `amdm export runs the Python exporter in ${join(root, '.venv')}, which is missing (no ${python}); ` +
        'run `npm run setup:python` first (it installs torch, diffusers and onnx from python/requirements.lock)',
    );
  }
  return python;
}

/** Every file under `dir`, as paths relative to it. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((rel) => statSync(join(dir, rel)).isFile())
    .sort();
}

/** Runs the exporter; resolves to its exit status. Its output goes to the terminal as it comes. */
function runExporter(python: string, args: readonly string[]): Promise<number> {
  const env = {
    ...process.env,
    PYTHONPATH: [join(packageRoot, 'python'), process.env.PYTHONPATH].filter(Boolean).join(':'),
    // nothing may be downloaded: the Hugging Face libraries stay offline, their caches in .venv
    HF_HUB_OFFLINE: '1',
    TRANSFORMERS_OFFLINE: '1',
    HF_HOME: process.env.HF_HOME ?? join(packageRoot, '.venv', 'hf-home'),
  };
  return new Promise((resolveStatus, reject) => {
    const child = spawn(python, ['-m', 'amdm_tools.export', ...args], { stdio: 'inherit', env });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolveStatus(code ?? (signal ? 128 : 1)));
  });
}

export interface ExportOptions {
  from: string;
  out: string;
  fp16?: boolean;
  base?: string;
  externalData?: 'auto' | 'always' | 'never';
}

/** Exports into `opts.out` through the output mechanism; returns the folder's absolute path. */
export async function runExport(family: string, opts: ExportOptions, extra: readonly string[] = []): Promise<string> {
  if (!(EXPORT_FAMILIES as readonly string[]).includes(family)) {
    throw new RangeError(`family must be one of ${EXPORT_FAMILIES.join(', ')}, got ${JSON.stringify(family)}`);
  }
  const python = exportPython();
  const out = await prepareOutputFolder(opts.out, { command: `export ${family}`, param: '--out' });
  const staging = join(
    dirname(out.path),
    `.${basename(out.path)}.staging-${process.pid}-${randomBytes(4).toString('hex')}`,
  );
  const release = removeOnInterrupt(staging);
  try {
    const args = [family, '--from', resolve(opts.from), '--out', staging];
    if (opts.fp16) args.push('--fp16');
    if (opts.base !== undefined) args.push('--base', resolve(opts.base));
    if (opts.externalData !== undefined) args.push('--external-data', opts.externalData);
    const status = await runExporter(python, [...args, ...extra]);
    if (status !== 0)
      throw new Error(`export ${family} failed (the exporter's message is above; exit status ${status})`);
    // Node reads at most 2 GiB per file; the exporter splits external data into files of ≤ 1 GiB.
    const files = new Map(filesUnder(staging).map((rel) => [rel, readFileSync(join(staging, rel))] as const));
    await out.commit(files);
    return out.path;
  } finally {
    rmSync(staging, { recursive: true, force: true });
    release();
  }
}
