/**
 * Output folders that always hold one run's complete output, or nothing.
 *
 * 1. {@link prepareOutputFolder}, before any model runs: checks the location (creating missing
 *    parents, so a path under a file, a read-only place or /proc fails at once), refuses, naming
 *    the files, a folder without the manifest or holding anything its manifest does not list (so
 *    amdm never deletes a file it did not write), and cleans up what killed runs left behind: a
 *    run killed between the two renames of its swap left no folder, and the newer complete one
 *    of its staging and old folders is put back in its place.
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
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, normalize, resolve, sep } from 'node:path';
import { ensureDir, isTempFileName, processAlive, sweepTempFiles } from './files.ts';
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
   * Names (top-level entries) this command writes. Only for the message: a folder without the
   * manifest is never replaced, even when every name matches (it may be an earlier amdm
   * version's output, or the user's own files of the same names).
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

/**
 * Cleans up after killed runs (their pid is no longer running) beside the folder `name`. A kill
 * between the two renames of a swap leaves no folder, the previous output as `.old-*` and the
 * complete new one as `.staging-*` (complete: its manifest, written last, is there); then the
 * newer complete one takes the folder's place. Every other staging or old folder of a dead
 * process is removed: they hold only files amdm wrote.
 */
function recoverOrSweepSiblings(parent: string, name: string): void {
  let entries: string[];
  try {
    entries = readdirSync(parent);
  } catch {
    return;
  }
  const prefix = `.${name}.`;
  const dead: { path: string; kind: string; written: string | null }[] = [];
  for (const e of entries) {
    if (!e.startsWith(prefix)) continue;
    const m = /^(staging|old)-(\d+)-[0-9a-f]{8}$/.exec(e.slice(prefix.length));
    if (!m || processAlive(Number(m[2]))) continue;
    const path = join(parent, e);
    dead.push({ path, kind: m[1], written: readManifest(path)?.written ?? null });
  }
  const target = join(parent, name);
  if (!existsSync(target)) {
    const newest = (kind: string) =>
      dead
        .filter((d) => d.kind === kind && (kind === 'old' || d.written !== null))
        .sort((x, y) => String(y.written).localeCompare(String(x.written)))[0];
    const restore = newest('staging') ?? newest('old');
    if (restore) {
      renameSync(restore.path, target);
      dead.splice(dead.indexOf(restore), 1);
    }
  }
  for (const d of dead) rmSync(d.path, { recursive: true, force: true });
}

function readManifest(dir: string): OutputManifest | null {
  try {
    const m = JSON.parse(readFileSync(join(dir, OUTPUT_MANIFEST), 'utf8')) as OutputManifest;
    return Array.isArray(m?.files) && m.files.every((f) => typeof f === 'string') ? m : null;
  } catch {
    return null;
  }
}

/**
 * The entries of `dir` (relative paths, '/'-separated, depth first) that the manifest does not
 * account for: a file it does not list, a link or anything else that is not a file, an empty
 * folder. The manifest and amdm's temporary files are accounted for.
 */
function unlisted(dir: string, listed: ReadonlySet<string>): string[] {
  const out: string[] = [];
  const walk = (rel: string): boolean => {
    let holdsListed = false;
    for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const path = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isFile() && (listed.has(path) || path === OUTPUT_MANIFEST || isTempFileName(e.name))) holdsListed = true;
      else if (e.isDirectory()) {
        const before = out.length;
        if (walk(path)) holdsListed = true;
        else if (out.length === before) out.push(`${path}/`); // an empty folder
      } else out.push(path);
    }
    return holdsListed;
  };
  walk('');
  return out;
}

/** At most `n` names, then how many more. */
function someNames(names: readonly string[], n = 5): string {
  const shown = names.slice(0, n).join(', ');
  return names.length > n ? `${shown} and ${names.length - n} more` : shown;
}

/**
 * Throws unless `target` is absent, an empty folder, or a folder amdm wrote and nobody added to:
 * every file in it is listed in its manifest. Anything else is the user's, so the folder is
 * refused, naming those files; amdm never deletes a file it did not write.
 */
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
  if (manifest === null) {
    const earlier = writes !== undefined && entries.every((e) => writes.test(e));
    throw new Error(
      `${param}: ${target} already holds files that amdm did not write (no ${OUTPUT_MANIFEST}): ${someNames(entries.sort())}; ` +
        (earlier
          ? 'their names are those this command writes (perhaps the output of an earlier amdm version), but they may be yours, so amdm leaves them: delete the folder yourself or give a new or empty one'
          : 'amdm replaces its output folder as a whole, so give a new or empty folder'),
    );
  }
  const foreign = unlisted(target, new Set(manifest.files));
  if (foreign.length > 0) {
    throw new Error(
      `${param}: ${target} holds files that its ${OUTPUT_MANIFEST} does not list: ${someNames(foreign)}; ` +
        'amdm replaces its output folder as a whole and never deletes files it did not write, so move them elsewhere or give another folder',
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
  recoverOrSweepSiblings(parent, name);
  checkReplaceable(target, param, smoke, opts.writes);
  await ensureDir(parent, param, target);
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
