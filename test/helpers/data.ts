/**
 * The shared test-data folder beside the checkout.
 *
 * Tests that need real files (CLIP tokenizer files, COCO-MIG prompts, …) find them in the folder
 * named by the environment variable AMDM_TEST_DATA (absolute, or relative to the project root),
 * by default `../shared/data` relative to the project root. When files are missing such suites
 * are skipped with a printed reason; with CI set (any value except "", "0", "false") they fail.
 */
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';

/** Project root: two levels above test/helpers/. */
export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where the test data is expected (whether or not it exists). */
export function dataRoot(): string {
  const env = process.env.AMDM_TEST_DATA;
  if (env !== undefined && env !== '') return isAbsolute(env) ? env : resolve(projectRoot, env);
  return resolve(projectRoot, '..', 'shared', 'data');
}

/** The test-data folder, or undefined when it does not exist. */
export function dataDir(): string | undefined {
  const root = dataRoot();
  return existsSync(root) ? root : undefined;
}

/** Absolute path of a file under the test-data folder (`dataPath('coco-mig', 'mig_bench.json')`). */
export function dataPath(...parts: string[]): string {
  return join(dataRoot(), ...parts);
}

/** True when the CI environment variable is set to something other than "", "0" or "false". */
export function inCI(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}

/** The entries of `required` (paths relative to the data folder) that do not exist. */
export function missingData(required: readonly string[]): string[] {
  return required.filter((rel) => !existsSync(dataPath(...rel.split('/'))));
}

/**
 * `describe` that runs only when every path in `required` exists under the test-data folder.
 * Each entry is one relative path with "/" separators, e.g.
 * `describeWithData('COCO-MIG', ['coco-mig/mig_bench.json'], () => { … })`.
 * Missing files: console.warn names them and the suite is skipped; under CI the suite fails.
 */
export function describeWithData(name: string, required: readonly string[], fn: () => void): void {
  const missing = missingData(required);
  if (missing.length === 0) {
    describe(name, fn);
    return;
  }
  const reason =
    `test data missing: ${missing.map((m) => dataPath(...m.split('/'))).join(', ')}. ` +
    `Set AMDM_TEST_DATA to the test-data folder (default: ../shared/data beside the checkout, now ${dataRoot()}).`;
  if (inCI()) {
    describe(name, () => {
      it('has its test data', () => {
        throw new Error(`${reason} (CI is set, so missing data is an error)`);
      });
    });
    return;
  }
  console.warn(`[skip] ${name}: ${reason}`);
  describe.skip(name, fn);
}
