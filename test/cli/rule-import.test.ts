// `amdm --import <module>`: a module that registers an aggregation rule (examples/rules/my-rule.ts)
// makes `--rule myRule` and a job's "rule": "myRule" work. The tests run in order: the name is
// unknown until the module is imported, and stays registered in this process afterwards.
import { readFile, writeFile } from 'node:fs/promises';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram, main } from '../../src/cli/main.ts';
import { commandOf } from '../../src/cli/import-modules.ts';
import { moduleUrl } from '../../src/io/import-modules.ts';
import { hasRule, resolveRule } from '../../src/core/rule-registry.ts';
import { parseJob } from '../../src/jobs/job-schema.ts';
import { tmpFolders } from '../onnx/tmp-folders.ts';

const EXAMPLE = 'examples/rules/my-rule.ts';
const tmp = tmpFolders();
let work: string;

beforeAll(async () => {
  work = await tmp.jobFolder();
});
afterAll(() => tmp.cleanup());

/** Runs the CLI in this process; resolves to what it printed, rejects with its error. */
async function cli(args: string[]): Promise<string> {
  const p = buildProgram()
    .exitOverride()
    .configureOutput({ writeErr: () => {}, writeOut: () => {} });
  p.commands.forEach((c) => c.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} }));
  const lines: string[] = [];
  const orig = console.log;
  console.log = (l: unknown) => lines.push(String(l));
  try {
    await p.parseAsync(['node', 'amdm', ...args]);
  } finally {
    console.log = orig;
  }
  return lines.join('\n');
}

const demoArgs = (out: string) => [
  'demo',
  '--rule',
  'myRule',
  '--steps',
  '6',
  '--prompts',
  '1',
  '--samples',
  '1',
  '--grid-prompts',
  '0',
  '--no-progress',
  '--out',
  out,
];
const twoModels = {
  prompt: 'a red square',
  models: [{ folder: 'models/a' }, { folder: 'models/b' }],
  steps: 4,
  aggregateSteps: 2,
};

describe('a rule registered by an --import module', () => {
  it('is unknown before: --rule and a job file list the registered names', async () => {
    expect(hasRule('myRule')).toBe(false);
    await expect(cli(demoArgs(mkdtempSync(join(tmpdir(), 'amdm-rule-'))))).rejects.toThrow(
      "must be one of slerp, lerp, nlerp, vp, sphericalMean, got 'myRule' (a module given to amdm --import can register more)",
    );
    expect(() => parseJob({ ...twoModels, rule: 'myRule' })).toThrow(
      'job: rule: must be one of "slerp", "lerp", "nlerp", "vp", "sphericalMean" (the registered aggregation rules; `amdm --import <module>` registers more), got "myRule"',
    );
  });

  it('amdm --import <module> demo --rule myRule samples with it', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'amdm-rule-')), 'demo');
    const printed = await cli(['--import', EXAMPLE, ...demoArgs(out)]);
    expect(hasRule('myRule')).toBe(true);
    expect(printed).toContain('rule = myRule');
    const results = JSON.parse(await readFile(join(out, 'results.json'), 'utf8'));
    expect(results.settings.rule).toBe('myRule');
    // the rows that take the flags' rule (η = 0 here) differ from slerp's, the others do not
    const slerpOut = join(mkdtempSync(join(tmpdir(), 'amdm-rule-')), 'demo');
    await cli(demoArgs(slerpOut).map((a) => (a === 'myRule' ? 'slerp' : a)));
    const slerp = JSON.parse(await readFile(join(slerpOut, 'results.json'), 'utf8'));
    expect(results.methods.slice(0, 5)).toEqual(slerp.methods.slice(0, 5));
    expect(resolveRule('myRule').ruleName).toBe('myRule');
  });

  it('a job file names it: amdm --import <module> generate job.json', async () => {
    const path = join(work, 'job.json');
    await writeFile(path, JSON.stringify({ ...twoModels, rule: 'myRule', output: 'out' }));
    const printed = await cli(['--import', EXAMPLE, 'generate', path, '--no-progress']);
    // target.png, sheet.png, results.json, resolved.json; then one line per file
    expect(printed.split('\n')).toEqual([
      expect.stringMatching(/^wrote 4 files to .*out \(UNet calls 4 \+ 2 = 6\)$/),
      '  sheet.png: the contact sheet (prompt, boxes, every image labelled)',
      '  target.png: the AMDM result: a (the target) after 2 aggregated steps with the other models and 2 alone',
    ]);
    const resolved = JSON.parse(await readFile(join(work, 'out', 'resolved.json'), 'utf8'));
    expect(resolved.job.rule).toBe('myRule');
  });

  it('a module that cannot be imported is named; the command is found after --import', async () => {
    const errors: string[] = [];
    const orig = console.error;
    console.error = (l: unknown) => errors.push(String(l));
    try {
      await main(['node', 'amdm', '--import', 'no/such/module.mjs', 'demo']);
    } finally {
      console.error = orig;
      process.exitCode = undefined;
    }
    expect(errors.join('\n')).toMatch(/^amdm: --import no\/such\/module\.mjs: Cannot find module/);
    expect(commandOf(['--import', 'a.mjs', 'bench', 'coco-mig'])).toBe('bench');
    expect(commandOf(['--version'])).toBeUndefined();
    expect(moduleUrl('x/y.mjs', '/work')).toBe('file:///work/x/y.mjs');
    expect(moduleUrl('file:///a/b.mjs')).toBe('file:///a/b.mjs');
  });
});
