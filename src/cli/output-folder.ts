/**
 * Output folders that always hold one run's complete output, or nothing.
 *
 * 1. {@link prepareOutputFolder}, before any model runs: checks the location (creating missing
 *    parents, so a path under a file, a read-only place or /proc fails at once), refuses to
 *    replace a folder that amdm did not write, and sweeps what killed runs left behind.
 * 2. {@link OutputFolder.commit}, once everything is computed: writes every file into a hidden
 *    staging folder beside the target, adds the manifest `.amdm-output.json` (the command and
 *    the files it wrote), and swaps the staging folder in with two renames. The renames are
 *    synchronous, so an interrupt handler cannot run between them; while staging exists an
 *    interrupt removes it (interrupt-cleanup.ts).
 *
 * A rerun therefore never leaves an earlier run's file beside the new ones (a batch-4 run does
 * not keep the batch-1 `target.png`), and a reader never sees a half-written folder.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, normalize, resolve, sep } from 'node:path';
import { ensureDir, processAlive, sweepTempFiles } from './files.ts';
import { removeOnInterrupt } from './interrupt-cleanup.ts';

/** The manifest every output folder holds: which command wrote it and which files are its output. */
export const OUTPUT_MANIFEST = '.amdm-output.json';

export interface OutputManifest {
  /** The command that wrote the folder, e.g. "demo" or "experiment eta". */
  command: string;
  /** True for smoke runs (`--quick`): they never replace a full run's folder. */
  smoke: boolean;
  /** The output files, relative to the folder, sorted. */
  files: string[];
  /** ISO time of the commit. */
  written: string;
}

export interface OutputFolderOptions {
  /** The command recorded in the manifest, e.g. "demo". */
  command: string;
  /** How the user gave the path, for messages (e.g. "--out", "output"); default "dir". */
  param?: string;
  /** A smoke run: refuses to replace a folder written by a full run (default false). */
  smoke?: boolean;
  /**
   * Names (top-level entries) this command writes. A folder without the manifest whose entries
   * all match was written by an earlier version of amdm and may be replaced; without the
   * pattern only folders with the manifest (or empty ones) are.
   */
  writes?: RegExp;
}

export interface OutputFolder {
  /** Absolute path of the folder. */
  readonly path: string;
  /**
   * Writes `files` (relative path → content) as the folder's whole content and swaps it in;
   * resolves to the absolute paths of the files, in the order given.
   */
  commit(files: ReadonlyMap<string, Uint8Array | string>): Promise<string[]>;
}

/** `.<name>.staging-<pid>-<hex>` and `.<name>.old-<pid>-<hex>` beside the folder. */
function siblingName(name: string, kind: 'staging' | 'old'): string {
  return `.${name}.${kind}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

function sweepSiblings(parent: string, name: string): void {
  let entries: string[];
  try {
    entries = readdirSync(parent);
  } catch {
    return;
  }
  const prefix = `.${name}.`;
  for (const e of entries) {
    if (!e.startsWith(prefix)) continue;
    const m = /^(?:staging|old)-(\d+)-[0-9a-f]{8}$/.exec(e.slice(prefix.length));
    if (m && !processAlive(Number(m[1]))) rmSync(join(parent, e), { recursive: true, force: true });
  }
}

function readManifest(dir: string): OutputManifest | null {
  try {
    return JSON.parse(readFileSync(join(dir, OUTPUT_MANIFEST), 'utf8')) as OutputManifest;
  } catch {
    return null;
  }
}

/** Throws unless `target` is absent, an empty folder, or a folder amdm may replace. */
function checkReplaceable(target: string, param: string, smoke: boolean, writes: RegExp | undefined): void {
  let st;
  try {
    st = statSync(target);
  } catch {
    return;
  }
  if (!st.isDirectory()) throw new Error(`${param}: ${target} is a file, not a folder`);
  const entries = readdirSync(target);
  if (entries.length === 0) return;
  const manifest = readManifest(target);
  // an earlier version's output (no manifest): replaceable, except by a smoke run, which cannot tell it from a full run
  if (manifest === null && !smoke && writes !== undefined && entries.every((e) => writes.test(e))) return;
  if (manifest === null) {
    throw new Error(
      `${param}: ${target} already holds files that amdm did not write (no ${OUTPUT_MANIFEST}); ` +
        'amdm replaces its output folder as a whole, so give a new or empty folder',
    );
  }
  if (smoke && manifest.smoke === false) {
    throw new Error(
      `${param}: ${target} holds the full run of "${manifest.command}"; a smoke run (--quick) never replaces it — ` +
        'give another folder, or leave --out out to use the smoke default',
    );
  }
}

function checkRelative(name: string): string {
  const n = normalize(name);
  if (
    name === '' ||
    isAbsolute(name) ||
    n.startsWith(`..${sep}`) ||
    n === '..' ||
    n === '.' ||
    basename(n) === OUTPUT_MANIFEST
  ) {
    throw new RangeError(
      `file names must be relative paths inside the folder (not ${OUTPUT_MANIFEST}), got ${JSON.stringify(name)}`,
    );
  }
  return n;
}

/**
 * Checks the output location and prepares it (see the module comment); call it before any
 * model runs. Missing parent folders are created; the folder itself appears only at commit.
 */
export async function prepareOutputFolder(dir: string, opts: OutputFolderOptions): Promise<OutputFolder> {
  const param = opts.param ?? 'dir';
  if (typeof dir !== 'string' || dir === '')
    throw new TypeError(`${param} must be a non-empty path, got ${JSON.stringify(dir)}`);
  const target = resolve(dir);
  const smoke = opts.smoke ?? false;
  const parent = dirname(target);
  const name = basename(target);
  if (parent === target) throw new RangeError(`${param}: the file system root cannot be an output folder`);
  checkReplaceable(target, param, smoke, opts.writes);
  await ensureDir(parent, param, target);
  sweepSiblings(parent, name);
  sweepTempFiles(target);
  // A staging folder made and removed now proves the location can hold the output.
  const probe = join(parent, siblingName(name, 'staging'));
  const releaseProbe = removeOnInterrupt(probe);
  try {
    await mkdir(probe);
  } catch (e) {
    throw new Error(`${param}: cannot write into ${parent}: ${(e as Error).message}`);
  } finally {
    rmSync(probe, { recursive: true, force: true });
    releaseProbe();
  }

  return {
    path: target,
    async commit(files) {
      const entries = [...files].map(([rel, data]) => [checkRelative(rel), data] as const);
      const names = entries.map(([rel]) => rel);
      const staging = join(parent, siblingName(name, 'staging'));
      const release = removeOnInterrupt(staging);
      try {
        await mkdir(staging);
        for (const [rel, data] of entries) {
          const p = join(staging, rel);
          await mkdir(dirname(p), { recursive: true });
          await writeFile(p, data);
        }
        const manifest: OutputManifest = {
          command: opts.command,
          smoke,
          files: [...names].sort(),
          written: new Date().toISOString(),
        };
        await writeFile(join(staging, OUTPUT_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
        checkReplaceable(target, param, smoke, opts.writes); // another run may have written it meanwhile
        swapIn(staging, target, name);
      } catch (e) {
        rmSync(staging, { recursive: true, force: true });
        throw e;
      } finally {
        release();
      }
      return names.map((n) => join(target, n));
    },
  };
}

/** Replaces `target` by `staging` with synchronous renames; the old content is then removed. */
function swapIn(staging: string, target: string, name: string): void {
  let old: string | null = null;
  try {
    if (statSync(target, { throwIfNoEntry: false })) {
      old = join(dirname(target), siblingName(name, 'old'));
      renameSync(target, old);
    }
    renameSync(staging, target);
  } catch (e) {
    if (old !== null && !statSync(target, { throwIfNoEntry: false })) renameSync(old, target);
    throw e;
  }
  if (old !== null) rmSync(old, { recursive: true, force: true });
}

/**
 * Writes a whole folder atomically with {@link prepareOutputFolder} and commit; returns the
 * absolute path. For generators that have every file in hand (fixtures, exports).
 */
export async function writeFolderAtomic(
  dir: string,
  files: ReadonlyMap<string, Uint8Array | string>,
  opts: Omit<OutputFolderOptions, 'param'>,
): Promise<string> {
  const out = await prepareOutputFolder(dir, opts);
  await out.commit(files);
  return out.path;
}
