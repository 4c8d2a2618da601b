/**
 * The layering rules of DESIGN.md, checked on the source tree: no import cycle anywhere in `src`
 * (type-only imports included), and nothing outside `src/cli` imports the command line.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
const IMPORT = /(?:^|\n)\s*(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?['"](\.{1,2}\/[^'"]+)['"]/g;
const DYNAMIC = /import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'dist') out.push(...sourceFiles(rel));
    } else if (/\.(ts|mts|mjs)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

/** The files `file` imports by relative path, static and dynamic, as paths relative to the root. */
function importsOf(file: string): string[] {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  const specs = [...text.matchAll(IMPORT), ...text.matchAll(DYNAMIC)].map((m) => m[1]);
  return specs.map((s) => path.normalize(path.join(path.dirname(file), s)));
}

/** Every elementary cycle found by a depth-first search, each as the list of files around it. */
function findCycles(graph: Map<string, string[]>): string[][] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (node: string) => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next) && graph.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return cycles;
}

describe('architecture', () => {
  it('has no import cycle in src, type-only imports included', () => {
    const files = sourceFiles('src');
    const graph = new Map(files.map((f) => [f, importsOf(f).filter((d) => d.startsWith('src'))]));
    expect(findCycles(graph).map((c) => c.join(' → '))).toEqual([]);
  });

  it('finds a cycle when there is one (the checker itself)', () => {
    const graph = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', ['a']],
    ]);
    expect(findCycles(graph)).toEqual([['a', 'b', 'c', 'a']]);
  });

  it('lets nothing outside src/cli import src/cli', () => {
    const dirs = ['src', 'playground', 'bench', 'train', 'fixtures', 'scripts', 'examples', 'test-deno'];
    const offenders = dirs
      .flatMap((d) => sourceFiles(d))
      .filter((f) => !f.startsWith(path.join('src', 'cli') + path.sep))
      .flatMap((f) =>
        importsOf(f)
          .filter((d) => d.startsWith(path.join('src', 'cli') + path.sep))
          .map((d) => `${f} imports ${d}`),
      );
    expect(offenders).toEqual([]);
  });
});
