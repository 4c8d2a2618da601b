/**
 * Where `amdm` finds the command in its argument list, past the global `--import <module>` flags
 * (src/io/import-modules.ts imports those modules before the command parses its flags).
 */

/** The command an argument list runs (its first argument that is not a global option), if any. */
export function commandOf(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--import') i++;
    else if (!args[i].startsWith('-')) return args[i];
  }
  return undefined;
}
