import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SPHERE_RULES, runZooSphere } from '../../../src/experiments/zoo/sphere.ts';
import { projectRoot } from '../../helpers/data.ts';

const zoo = join(projectRoot, 'models', 'mini-zoo');
const haveZoo = ['migc-mini', 'interactdiffusion-mini'].every((m) => existsSync(join(zoo, m, 'unet', 'model.onnx')));
if (!haveZoo) console.warn(`[skip] zoo sphere: the model folders under ${zoo} are missing`);

describe.skipIf(!haveZoo)('zoo sphere (Figure 5b analog) on the committed folders', () => {
  const out = mkdtempSync(join(tmpdir(), 'zoo-sphere-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('one row per method and aggregated step, positive norms, written whole', async () => {
    const rows = await runZooSphere({ zoo, prompts: 2, steps: 4, s: 2, out: join(out, 's'), log: () => {} });
    expect(rows.map((r) => `${r.method}@${r.step}`).sort()).toEqual(
      ['target alone', ...SPHERE_RULES].flatMap((m) => [`${m}@0`, `${m}@1`]).sort(),
    );
    for (const r of rows) expect(r.mean > 0 && r.sd >= 0 && Number.isFinite(r.sd)).toBe(true);
    const csv = readFileSync(join(out, 's', 'sphere.csv'), 'utf8')
      .trim()
      .split('\n');
    expect(csv[0]).toBe('method,step,mean,sd');
    expect(csv).toHaveLength(1 + rows.length);
    expect(JSON.parse(readFileSync(join(out, 's', '.amdm-output.json'), 'utf8')).command).toBe('zoo sphere');
    await expect(runZooSphere({ zoo, steps: 3, s: 4, out: join(out, 'x') })).rejects.toThrow(
      '--s must be ≤ --steps (3), got 4',
    );
  }, 120_000);
});
