/**
 * Notebook 05's prose states the settings its cells run: every "T = a, s = b" (or "T = a and
 * s = b") in its text is a (steps, aggregateSteps) pair one of its code cells runs, the mini-zoo
 * job (the first pair of the job cell) is the one its recorded outputs ran, and the call counts
 * the text derives from it are the ones the outputs print.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from './helpers/data.ts';

interface Cell {
  cell_type: 'markdown' | 'code';
  source: string[] | string;
  outputs?: { text?: string[] | string }[];
}
const text = (s: string[] | string | undefined) => (Array.isArray(s) ? s.join('') : (s ?? ''));
const nb = JSON.parse(
  readFileSync(join(projectRoot, 'notebooks', '05-interactdiffusion-migc-ipadapter.ipynb'), 'utf8'),
) as { cells: Cell[] };
const markdown = nb.cells.filter((c) => c.cell_type === 'markdown').map((c) => text(c.source));
const code = nb.cells.filter((c) => c.cell_type === 'code');
const outputs = code.flatMap((c) => (c.outputs ?? []).map((o) => text(o.text))).join('\n');

/** The (T, s) pairs of a code cell: its `steps: n` and `aggregateSteps: n`, in order. */
function runPairs(source: string): [number, number][] {
  const steps = [...source.matchAll(/\bsteps: (\d+)/g)].map((m) => Number(m[1]));
  const s = [...source.matchAll(/\baggregateSteps: (\d+)/g)].map((m) => Number(m[1]));
  return s.map((v, i) => [steps[i], v]);
}

describe('notebook 05: the prose and the runs agree', () => {
  const jobCell = code.find((c) => text(c.source).includes('AMDM (3 models, decodeAll)'))!;
  const [zoo, real] = runPairs(text(jobCell.source));
  const ran = new Set(code.flatMap((c) => runPairs(text(c.source))).map(([T, s]) => `${T}/${s}`));

  it('the job cell runs the mini-zoo at T = 50, s = 20 and real exports at T = 10, s = 5', () => {
    expect([zoo, real]).toEqual([
      [50, 20],
      [10, 5],
    ]);
  });

  it('every "T = a, s = b" the text states is run by a code cell', () => {
    const stated = markdown.flatMap((m) =>
      [...m.matchAll(/T = (\d+)(?:,| and) s = (\d+)/g)].map((x) => `${x[1]}/${x[2]}`),
    );
    expect(stated).toContain(`${zoo[0]}/${zoo[1]}`);
    expect(stated).toContain(`${real[0]}/${real[1]}`);
    for (const pair of stated) expect(ran, `the text states T/s = ${pair}`).toContain(pair);
  });

  it("the recorded outputs ran the mini-zoo's T and s, and the text's call count is theirs", () => {
    const [T, s] = zoo;
    const calls = /total UNet calls (\d+) \(AMDM itself: (\d+); one model alone: (\d+)\)/.exec(outputs);
    expect(calls, 'the model-calls cell has its output').not.toBeNull();
    // three models: T + 2s during AMDM, T − s more for each of the two others' own images
    expect(calls!.slice(1).map(Number)).toEqual([T + 2 * s + 2 * (T - s), T + 2 * s, T]);
    const derived = markdown.join('\n').match(/here (\d+) \+ 2·(\d+) = (\d+) on the zoo/);
    expect(derived!.slice(1).map(Number)).toEqual([T, s, T + 2 * s]);
    // the text above the model-calls cell names the run its output shows first
    const at = nb.cells.findIndex((c) => c.cell_type === 'code' && text(c.source).includes('total UNet calls'));
    const above = text(nb.cells[at - 1].source);
    const first = /T = (\d+)[^.;]*?\bs = (\d+)/.exec(above);
    expect(first!.slice(1).map(Number)).toEqual([T, s]);
  });
});
