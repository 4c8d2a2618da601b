import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodePNG } from '../../src/image/png.ts';
import { MINI_DEMO_METHODS, miniDemoPrompts, runMiniDemo, runMiniDemoFromCli } from '../../src/cli/demo-mini.ts';
import { projectRoot } from '../helpers/data.ts';

const zoo = join(projectRoot, 'models', 'mini-zoo');
const haveZoo = ['migc-mini', 'interactdiffusion-mini', 'ipadapter-mini'].every((m) =>
  existsSync(join(zoo, m, 'unet', 'model.onnx')),
);
if (!haveZoo) console.warn(`[skip] demo --world mini: the model folders under ${zoo} are missing`);

describe('demo --world mini', () => {
  it('cycles its prompts through levels L2–L4, each with an interaction', () => {
    const ps = miniDemoPrompts(4);
    expect(ps.map((p) => p.id)).toEqual(['L2-000', 'L3-000', 'L4-000', 'L2-001']);
    for (const p of ps) expect(p.scene.relations.length).toBeGreaterThan(0);
  });

  it('refuses the Shapes-world flags the user typed, naming them, before any model runs', async () => {
    const opts = { prompts: 6, samples: 3, gridPrompts: 2, w: [0.5], world: 'mini' };
    const typed = new Set(['samples', 'gridPrompts', 'world']);
    await expect(runMiniDemoFromCli(opts, (k) => typed.has(k))).rejects.toThrow(
      '--world mini takes --prompts, --steps, --s, --eta and --out; --samples, --grid-prompts belong to the Shapes world',
    );
  });

  it.skipIf(!haveZoo)(
    'scores every method on every prompt and writes the grid and the numbers',
    async () => {
      const out = mkdtempSync(join(tmpdir(), 'demo-mini-'));
      afterAll(() => rmSync(out, { recursive: true, force: true }));
      const lines: string[] = [];
      const r = await runMiniDemo({
        zoo,
        prompts: 2,
        steps: 3,
        s: 1,
        out: join(out, 'demo'),
        log: (l) => lines.push(l),
      });
      expect(r.rows.map((row) => row.at(-1))).toEqual(['3', '3', '3', '4', '5']); // T, and T + s per other model
      expect(r.rows[0][0]).toBe('InteractDiffusion-mini alone');
      const grid = await decodePNG(readFileSync(join(out, 'demo', 'grid.png')));
      expect(grid.width).toBeGreaterThan(MINI_DEMO_METHODS.length * 32 * 4);
      const json = JSON.parse(readFileSync(join(out, 'demo', 'results.json'), 'utf8'));
      expect(json.methods.map((m: { method: string; images: number }) => [m.method, m.images])).toEqual(
        MINI_DEMO_METHODS.map((m) => [m, 2]),
      );
      expect(lines[0]).toContain('mini-zoo demo: 2 MiniMIG prompts (L2–L4), T = 3, s = 1');
      await expect(runMiniDemo({ zoo, steps: 3, s: 4, out: join(out, 'x') })).rejects.toThrow(
        '--s must be ≤ --steps (3), got 4',
      );
    },
    120_000,
  );
});
