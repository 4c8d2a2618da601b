/**
 * `amdm --import <module>`: imports modules before the command runs, so that what they register
 * when imported — aggregation rules (`registerRule`, then `--rule <name>` and a job's `"rule"`),
 * model families (`registerFamily`, a job's `models[i].kind`) — is there when the command parses
 * its flags and files. A module is a path relative to the working folder (or a file: URL): a
 * `.js`/`.mjs` file under Node, a `.ts` file as well under tsx or Deno.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The URL `import()` takes for a module given on the command line. */
export function moduleUrl(spec: string, cwd = process.cwd()): string {
  return spec.startsWith('file:') ? spec : pathToFileURL(resolve(cwd, spec)).href;
}

/** Imports each module in turn; a failure names the module. */
export async function importModules(specs: readonly string[]): Promise<void> {
  for (const spec of specs) {
    try {
      await import(moduleUrl(spec));
    } catch (e) {
      throw new Error(`--import ${spec}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  }
}
