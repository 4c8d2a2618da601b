/**
 * The Deno tasks of deno.json run as documented with the Deno that npm installs (a native
 * binary in node_modules/.bin, which `deno task` would run as JavaScript if a task called it by
 * its bare name). The full type check of every entry (`deno task check`) runs in CI through
 * `npm run test:deno`; here the two core tasks, which take seconds.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const DENO = 'node_modules/.bin/deno';
const present = existsSync(DENO);
if (!present) {
  if (process.env.CI) throw new Error(`${DENO} is missing: npm ci installs it (devDependency "deno")`);
  console.warn(`skipping the Deno task tests: ${DENO} is missing (npm ci installs it)`);
}

describe.runIf(present)('deno task', () => {
  it.each(['check:core', 'test:core'])(
    '%s succeeds',
    (task) => {
      const r = spawnSync(DENO, ['task', task], {
        encoding: 'utf8',
        timeout: 240_000,
        env: { ...process.env, NO_COLOR: '1' },
      });
      expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(r.stderr).not.toMatch(/SyntaxError/);
    },
    250_000,
  );
});
