import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.ts';

describe('amdm experiment takes its names from the registry', () => {
  it('lists every experiment in its help and refuses other names', async () => {
    const p = buildProgram().exitOverride();
    p.configureOutput({ writeErr: () => {}, writeOut: () => {} });
    const cmd = p.commands.find((c) => c.name() === 'experiment')!;
    cmd.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    expect(cmd.description()).toBe(
      'Shapes-world experiments: experts, eta, rules, sphere, weights, compose-shapes, map, search-shapes, confirm-shapes (results.json/csv, table.md, charts)',
    );
    await expect(p.parseAsync(['node', 'amdm', 'experiment', 'nope'])).rejects.toThrow(
      /must be one of experts, eta, rules, sphere, weights, compose-shapes, map, search-shapes, confirm-shapes, got 'nope'/,
    );
  });
});
