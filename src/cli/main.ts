#!/usr/bin/env node
/** The `amdm` command line. Each subcommand loads only what it needs. */
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { addDemoCommand } from './demo.ts';
import { commandOf } from './import-modules.ts';
import { importModules } from '../io/import-modules.ts';
import { serveCommand } from './serve.ts';
import { exportCommand } from './export-command.ts';
import { addGenerateCommand } from './generate.ts';
import { addExperimentCommand } from './experiment.ts';

/** The package version, from package.json two folders up (src/cli/ and dist/cli/ alike). */
function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string })
    .version;
}

/** The program itself: name, version, the error hint and the global `--import` flag. */
function newProgram(): Command {
  const program = new Command();
  program
    .name('amdm')
    .description('Aggregation of Multiple Diffusion Models: toy demo, ONNX generation, benchmarks')
    .version(packageVersion(), '-V, --version', 'print the version')
    // after a bad flag: the error and one hint line, not the whole help
    .showHelpAfterError('(add --help to list the options)')
    .option(
      '--import <module>',
      'import a module before the command, e.g. one that registers an aggregation rule (registerRule) for --rule and job files; repeatable',
      (v: string, all: string[] | undefined) => [...(all ?? []), v],
    )
    // before the command parses its flags, so that the rules the modules register are known
    .hook('preSubcommand', async (cmd) => {
      await importModules(cmd.opts<{ import?: string[] }>().import ?? []);
    });
  return program;
}

/** Adds `bench` to the program, holding the given benchmark commands. */
function addBenchCommand(program: Command, extra: Command[]): void {
  const bench = program.command('bench').description('benchmarks on real models (run `amdm bench coco-mig --help`)');
  for (const c of extra) bench.addCommand(c);
}

/**
 * Commands whose definitions load the models' code (onnxruntime, the MiniMIG world, Plot): `main`
 * loads one only when the command line names it, so `amdm --help` and the other commands start
 * fast; `buildProgram` without them lists a stub with the command's summary.
 */
export interface LoadedCommands {
  /** The commands under `bench`. */
  bench?: Command[];
  /** `zoo` with all its subcommands. */
  zoo?: Command;
}

const ZOO_SUMMARY =
  'the learned mini-zoo (models/mini-zoo) on the MiniMIG world: calibrate, bench, experiment, sphere, search, confirm, jobs (run `amdm zoo --help`)';

/** Loads the heavy command named by an argument list (`help <command>` included). */
export async function loadCommands(args: readonly string[]): Promise<LoadedCommands> {
  let name = commandOf(args);
  if (name === 'help') name = commandOf(args.slice(args.indexOf('help') + 1));
  if (name === 'bench') return { bench: [(await import('./coco-mig-command.ts')).cocoMigCommand()] };
  if (name === 'zoo') {
    const [{ zooCommand }, { addZooSearchCommands }] = await Promise.all([
      import('./zoo-command.ts'),
      import('./zoo-search-command.ts'),
    ]);
    return { zoo: addZooSearchCommands(zooCommand()) };
  }
  return {};
}

/** The `amdm` program; the heavy commands are those `loaded` holds, stubs otherwise (`loadCommands`). */
export function buildProgram(loaded: LoadedCommands = {}): Command {
  const program = newProgram();
  addDemoCommand(program);
  addGenerateCommand(program);
  program.addCommand(serveCommand());
  program.addCommand(exportCommand());
  addBenchCommand(program, loaded.bench ?? []);
  addExperimentCommand(program);
  program.addCommand(loaded.zoo ?? new Command('zoo').summary(ZOO_SUMMARY));
  return program;
}

export async function main(argv: readonly string[] = process.argv): Promise<void> {
  try {
    await buildProgram(await loadCommands(argv.slice(2))).parseAsync([...argv]);
  } catch (err) {
    console.error(`amdm: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}

const isEntry = (() => {
  try {
    return (
      import.meta.url === new URL(`file://${process.argv[1]}`).href ||
      /cli[\\/]main\.(ts|js)$/.test(process.argv[1] ?? '')
    );
  } catch {
    return false;
  }
})();
if (isEntry) await main();
