/**
 * The requests that the handler tests send under Node (test/server/) and Deno (test-deno/), and
 * the SHA-256 of the PNG each answers: both runtimes must give these same bytes.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { writeSdTinyFolder } from '../../fixtures/sd-tiny.ts';

/** A model root with two generated SD folders, `a` and `b` (different weights, same shapes). */
export async function writeModelRoot(root: string): Promise<void> {
  await writeSdTinyFolder(join(root, 'a'), { seed: 1 });
  await writeSdTinyFolder(join(root, 'b'), { seed: 2 });
}

/** AMDM over the two fixture folders, seeded: one 64×64 PNG. */
export const FIXTURE_JOB = Object.freeze({
  prompt: 'a red square left of a blue square',
  models: [{ folder: 'a' }, { folder: 'b' }],
  steps: 6,
  aggregateSteps: 3,
  seed: 3,
  backend: 'node',
});

/** The Shapes demo, small: the grid PNG (two prompts: its notes wrap onto several lines). */
export const DEMO_REQUEST = Object.freeze({ prompts: 2, samples: 1, steps: 8, s: 3, gridPrompts: 2, seed: 1 });

export const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

export const FIXTURE_JOB_PNG_SHA256 = '1292c89ca3034067901d5d26b05cd0e983d787b766028a6918889c0ca7ef84ad';
export const DEMO_PNG_SHA256 = 'ef5fc1abaa0ac6b4943333156b480c326b347fee706aede2981d3c9fe17c56c8';
