import { describe, expect, it } from 'vitest';
import { fc, test as fcTest } from '@fast-check/vitest';
import { readFileSync } from 'node:fs';
import {
  cocoMigFileName,
  cocoMigInteract,
  cocoMigLevel,
  cocoMigMigc,
  parseCocoMig,
  parseShard,
  shardItems,
} from '../../src/sd/coco-mig.ts';
import { interactConditionSchema } from '../../src/sd/families/interactdiffusion.ts';
import { migcConditionSchema } from '../../src/sd/families/migc.ts';
import { dataPath, describeWithData } from '../helpers/data.ts';

const small = {
  '10': {
    caption: 'a photo of a red cat and a blue dog ',
    segment: [
      { bbox: [0, 0, 0.5, 1], label: 'a red cat' },
      { bbox: [0.5, 0, 1, 1], label: 'a blue dog' },
    ],
    image_id: '42',
  },
  '2': {
    caption: 'a photo of a green cup ',
    segment: [{ bbox: [0.1, 0.1, 0.2, 0.3], label: 'a green cup' }],
    image_id: '500084',
  },
};

describe('COCO-MIG entries', () => {
  it('parses in numeric key order and maps as infer800.py (subject = object = label, action "and")', () => {
    const e = parseCocoMig(small);
    expect(e.map((x) => x.key)).toEqual(['2', '10']);
    const i = cocoMigInteract(e[1]);
    expect(i).toEqual({
      subjects: ['a red cat', 'a blue dog'],
      objects: ['a red cat', 'a blue dog'],
      actions: ['and', 'and'],
      subjectBoxes: [
        [0, 0, 0.5, 1],
        [0.5, 0, 1, 1],
      ],
      objectBoxes: [
        [0, 0, 0.5, 1],
        [0.5, 0, 1, 1],
      ],
    });
    expect(cocoMigMigc(e[1], 20)).toEqual({
      caption: 'a photo of a red cat and a blue dog ',
      phrases: ['a red cat', 'a blue dog'],
      boxes: [
        [0, 0, 0.5, 1],
        [0.5, 0, 1, 1],
      ],
      migcSteps: 20,
    });
    expect(interactConditionSchema.safeParse(i).success).toBe(true);
    expect(cocoMigFileName(e[1])).toBe('000042_10.png');
    expect(cocoMigFileName(e[0])).toBe('500084_2.png');
    expect(cocoMigLevel(e[1])).toBe(2);
  });
  it('names the bad entry and field', () => {
    expect(() => parseCocoMig({ '0': { ...small['2'], segment: [{ bbox: [0.3, 0, 0.1, 1], label: 'x' }] } })).toThrow(
      /"0"\.segment\[0\]\.bbox: a box must have x0 < x1/,
    );
    expect(() => parseCocoMig({ '0': { ...small['2'], image_id: 'abc' } })).toThrow(/"0"\.image_id/);
    expect(() => parseCocoMig([])).toThrow(/JSON object keyed by entry/);
    expect(() => parseCocoMig({ 'a/b': small['2'] })).toThrow(/entry key "a\/b"/);
  });
});

describeWithData('COCO-MIG benchmark file', ['coco-mig/mig_bench.json'], () => {
  it('has 800 entries, 160 per level L2–L6, captions "a photo of " + labels joined by " and " + " ", all valid for both families', () => {
    const e = parseCocoMig(JSON.parse(readFileSync(dataPath('coco-mig', 'mig_bench.json'), 'utf8')));
    expect(e.length).toBe(800);
    expect(e[0].key).toBe('0');
    expect(e[799].key).toBe('799');
    const levels = new Map<number, number>();
    for (const x of e) levels.set(cocoMigLevel(x), (levels.get(cocoMigLevel(x)) ?? 0) + 1);
    expect([...levels.entries()].sort()).toEqual([
      [2, 160],
      [3, 160],
      [4, 160],
      [5, 160],
      [6, 160],
    ]);
    expect(e.every((x) => x.caption === `a photo of ${x.segment.map((s) => s.label).join(' and ')} `)).toBe(true);
    expect(new Set(e.map(cocoMigFileName)).size).toBe(800);
    expect(
      e.every(
        (x) =>
          migcConditionSchema.safeParse(cocoMigMigc(x)).success &&
          interactConditionSchema.safeParse(cocoMigInteract(x)).success,
      ),
    ).toBe(true);
    expect(cocoMigFileName(e[0])).toBe('500084_0.png');
  });
});

describe('shards', () => {
  it('parses i/n, and auto from Kubernetes or Slurm', () => {
    expect(parseShard(undefined)).toEqual({ index: 0, count: 1 });
    expect(parseShard('2/5')).toEqual({ index: 2, count: 5 });
    expect(parseShard('auto', { JOB_COMPLETION_INDEX: '3' }, 4)).toEqual({ index: 3, count: 4 });
    expect(parseShard('auto', { SLURM_ARRAY_TASK_ID: '7', SLURM_ARRAY_TASK_COUNT: '8' })).toEqual({
      index: 7,
      count: 8,
    });
    expect(
      parseShard('auto', { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '3', SLURM_ARRAY_TASK_MIN: '1' }),
    ).toEqual({ index: 2, count: 3 });
  });
  it('reports bad shard specs and environments', () => {
    expect(() => parseShard('5/5')).toThrow(/need n ≥ 1 and 0 ≤ i < n/);
    expect(() => parseShard('1-4')).toThrow(/shard must be "i\/n"/);
    expect(() => parseShard('auto', {})).toThrow(
      /needs JOB_COMPLETION_INDEX .* or SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT/,
    );
    expect(() => parseShard('auto', { JOB_COMPLETION_INDEX: '1' })).toThrow(/needs --shard-count/);
    expect(() => parseShard('auto', { JOB_COMPLETION_INDEX: 'x' }, 2)).toThrow(
      /JOB_COMPLETION_INDEX must be a non-negative integer, got "x"/,
    );
    expect(() => parseShard('auto', { JOB_COMPLETION_INDEX: '2' }, 2)).toThrow(/shard index 2 is outside \[0, 1\]/);
    expect(() => parseShard('auto', { SLURM_ARRAY_TASK_ID: '1' })).toThrow(
      /SLURM_ARRAY_TASK_COUNT must be a non-negative integer, got undefined/,
    );
    expect(() => parseShard('auto', { SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_COUNT: '0' })).toThrow(
      /SLURM_ARRAY_TASK_COUNT must be ≥ 1/,
    );
    expect(() => parseShard('1/2', {}, 2)).toThrow(/only used with --shard auto/);
  });
  fcTest.prop([fc.integer({ min: 0, max: 60 }), fc.integer({ min: 1, max: 9 })])(
    'shards are disjoint and their union is everything, in order',
    (n, count) => {
      const items = Array.from({ length: n }, (_, i) => i);
      const parts = Array.from({ length: count }, (_, index) => shardItems(items, { index, count }));
      expect(parts.flat().sort((a, b) => a - b)).toEqual(items);
      expect(parts.every((p) => p.every((v, k) => k === 0 || v > p[k - 1]))).toBe(true);
      expect(Math.max(...parts.map((p) => p.length)) - Math.min(...parts.map((p) => p.length))).toBeLessThanOrEqual(1);
    },
  );
});
