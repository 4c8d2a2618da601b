/**
 * The package round trip, as a user gets it: `npm pack` → the tarball installed into an empty
 * project → a TypeScript program importing `sampleAMDM` and `registerRule` from 'amdm' is
 * type-checked and run under Node, and from 'npm:amdm' under Deno, and `npx amdm demo` runs from
 * the installed package. Offline: the tarball is unpacked as npm installs it
 * (node_modules/amdm, its bin linked into node_modules/.bin) and each of its declared
 * dependencies is linked from this checkout's node_modules, so a dependency the package uses
 * but does not declare fails here too. Needs the built dist/ (`npm run build`; CI builds first).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../helpers/data.ts';

const built =
  existsSync(join(projectRoot, 'dist', 'cli', 'main.js')) && existsSync(join(projectRoot, 'dist', 'index.d.ts'));
const reason = 'dist/ is not built (run `npm run build`)';
if (!built) {
  if (process.env.CI) throw new Error(`the package round trip needs the build: ${reason}`);
  console.warn(`[skip] package round trip: ${reason}`);
}
const deno = join(projectRoot, 'node_modules', '.bin', 'deno');
const tsc = join(projectRoot, 'node_modules', 'typescript', 'bin', 'tsc');

interface PackedFile {
  path: string;
  size: number;
}
let work: string;
let project: string;
let packed: { filename: string; size: number; unpackedSize: number; files: PackedFile[] };

/** Runs a command in the consumer project; returns stdout, fails with its stderr. */
function inProject(cmd: string, args: string[], timeout = 120_000): string {
  const r = spawnSync(cmd, args, { cwd: project, encoding: 'utf8', timeout, env: { ...process.env, NO_COLOR: '1' } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** Unpacks the tarball as npm installs it and links each declared dependency from this checkout. */
function install(tarball: string): void {
  const modules = join(project, 'node_modules');
  mkdirSync(join(modules, '.bin'), { recursive: true });
  execFileSync('tar', ['xzf', tarball, '-C', modules]);
  renameSync(join(modules, 'package'), join(modules, 'amdm'));
  const pkg = JSON.parse(readFileSync(join(modules, 'amdm', 'package.json'), 'utf8'));
  for (const dep of Object.keys(pkg.dependencies)) {
    mkdirSync(dirname(join(modules, dep)), { recursive: true });
    symlinkSync(join(projectRoot, 'node_modules', dep), join(modules, dep), 'dir');
  }
  symlinkSync(join('..', 'amdm', pkg.bin.amdm), join(modules, '.bin', 'amdm'));
}

beforeAll(() => {
  if (!built) return;
  work = mkdtempSync(join(tmpdir(), 'amdm-pack-'));
  project = join(work, 'project');
  mkdirSync(project);
  // --ignore-scripts: dist/ is built already (`prepare` would rebuild it)
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], {
    cwd: projectRoot,
    encoding: 'utf8',
  });
  packed = JSON.parse(out)[0];
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  install(join(work, packed.filename));
}, 120_000);
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe.skipIf(!built)('the npm package', () => {
  it('holds the compiled library and the bin, nothing from the sources, tests, training or experiments; under 1 MB packed', () => {
    const paths = packed.files.map((f) => f.path);
    expect(paths).toContain('package.json');
    expect(paths).toContain('README.md');
    expect(paths).toContain('bin/amdm.mjs');
    expect(paths).toContain('dist/index.js');
    expect(paths).toContain('dist/index.d.ts');
    expect(paths).toContain('dist/cli/main.js');
    for (const p of paths)
      expect(p, p).toMatch(/^(dist\/.+\.(js|d\.ts)|bin\/amdm\.mjs|package\.json|README\.md|LICENSE)$/);
    expect(packed.size).toBeLessThan(1_000_000);
    console.log(
      `npm pack: ${packed.files.length} files, ${(packed.size / 1e3).toFixed(0)} kB packed, ${(packed.unpackedSize / 1e6).toFixed(2)} MB unpacked`,
    );
  });

  it('type-checks and runs a program importing sampleAMDM and registerRule under Node and Deno, with the numbers of the sources', () => {
    const source = readFileSync(join(projectRoot, 'test', 'package', 'consumer', 'use.ts'), 'utf8');
    writeFileSync(join(project, 'use.ts'), source);
    // Node: strict type check against the package's .d.ts (libraries checked too), emitted and run
    inProject(
      process.execPath,
      [
        tsc,
        '--strict',
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        '--target',
        'es2022',
        '--types',
        'node',
        '--typeRoots',
        join(projectRoot, 'node_modules', '@types'),
        '--outDir',
        'out',
        'use.ts',
      ],
      180_000,
    );
    const node = JSON.parse(inProject(process.execPath, ['out/use.js']));
    // Deno: the npm: specifier, resolved from the project's node_modules
    writeFileSync(join(project, 'use-deno.ts'), source.replace("from 'amdm'", "from 'npm:amdm'"));
    writeFileSync(join(project, 'deno.json'), JSON.stringify({ nodeModulesDir: 'manual' }));
    inProject(deno, ['check', 'use-deno.ts']);
    const fromDeno = JSON.parse(inProject(deno, ['run', '--allow-read', '--allow-env', '--allow-sys', 'use-deno.ts']));
    expect(node.calls).toEqual([10, 4]);
    expect(fromDeno).toEqual(node);
    // the same program on the sources (under tsx) gives the same bits
    const onSources = join(work, 'use-sources.mts');
    writeFileSync(
      onSources,
      source.replace("from 'amdm'", `from ${JSON.stringify(join(projectRoot, 'src', 'index.ts'))}`),
    );
    const sources = execFileSync(process.execPath, ['--import', 'tsx', onSources], {
      cwd: projectRoot,
      encoding: 'utf8',
    });
    expect(JSON.parse(sources)).toEqual(node);
  }, 300_000);

  it('runs `npx amdm demo` and answers `npx amdm --help` from the installed package', () => {
    expect(inProject('npx', ['--no-install', 'amdm', '--help'])).toMatch(/^Usage: amdm \[options\] \[command\]/);
    const out = inProject('npx', [
      '--no-install',
      'amdm',
      'demo',
      '--prompts',
      '1',
      '--samples',
      '1',
      '--steps',
      '4',
      '--out',
      'demo',
      '--no-progress',
    ]);
    expect(out).toMatch(/AMDM layout←attribute \(paper\)/);
    expect(existsSync(join(project, 'demo', 'grid.png'))).toBe(true);
    expect(JSON.parse(readFileSync(join(project, 'demo', 'results.json'), 'utf8')).methods.length).toBeGreaterThan(3);
  }, 120_000);
});
