import { describe, expect, it } from 'vitest';
import { minimigPrompt, minimigPromptSet, validateScene } from '../../src/toy/minimig/index.ts';

describe('MiniMIG prompt sets', () => {
  it('one level per block, interactions from L2, a reference of the same style at another phase', () => {
    const set = minimigPromptSet({ perLevel: 30 });
    expect(set).toHaveLength(120);
    expect(set.slice(0, 2).map((p) => p.id)).toEqual(['L1-000', 'L1-001']);
    for (const p of set) {
      validateScene(p.scene);
      expect(p.scene.instances).toHaveLength(p.level);
      const nRel = p.scene.relations.length;
      if (p.level === 1) expect(nRel).toBe(0);
      else expect([nRel >= 1, nRel <= Math.min(3, p.level - 1)]).toEqual([true, true]);
      expect([p.reference.texture, p.reference.tint]).toEqual([p.scene.style.texture, p.scene.style.tint]);
      if (p.scene.style.texture !== 'plain') expect(p.reference.phase).not.toEqual(p.scene.style.phase);
      expect(p.seed).toBe(p.level * 1_000_000 + Number(p.id.slice(3)));
    }
  });

  it('a prompt does not depend on the set size; other seeds give other prompts', () => {
    expect(minimigPromptSet({ perLevel: 5 })[7]).toEqual(minimigPromptSet({ perLevel: 9, levels: [2] })[2]);
    expect(minimigPromptSet({ perLevel: 5 })[7]).toEqual(minimigPrompt(2, 2));
    expect(minimigPrompt(3, 0, 1).scene).not.toEqual(minimigPrompt(3, 0, 2).scene);
  });

  it('rejects bad options with the allowed range', () => {
    expect(() => minimigPromptSet({ levels: [0] })).toThrow('opts.levels[0] must be an integer in [1, 4], got 0');
    expect(() => minimigPromptSet({ perLevel: 0 })).toThrow('opts.perLevel must be an integer in [1, 1000000], got 0');
  });
});
