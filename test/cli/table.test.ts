import { describe, expect, it } from 'vitest';
import { csvCell, csvOfRecords, csvText, markdownRow, markdownTable } from '../../src/jobs/table.ts';

describe('report tables', () => {
  it('markdownTable right-aligns all but the text columns', () => {
    expect(markdownTable(['a', 'b', 'c'], [['x', '1', '2']])).toBe(
      '| a | b | c |\n| --- | ---: | ---: |\n| x | 1 | 2 |',
    );
    expect(markdownTable(['a', 'b'], [], { textColumns: 2 })).toBe('| a | b |\n| --- | --- |');
  });
  it('markdownRow prints one row of a table printed a row at a time', () => {
    expect(markdownRow(['x', '1'])).toBe('| x | 1 |');
    expect([markdownTable(['a', 'b'], []), markdownRow(['x', '1'])].join('\n')).toBe(
      markdownTable(['a', 'b'], [['x', '1']]),
    );
  });
  it('csvCell leaves plain fields alone and quotes commas, quotes and newlines', () => {
    expect([null, undefined, 1.5, 'layout alone'].map(csvCell)).toEqual(['', '', '1.5', 'layout alone']);
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "x"')).toBe('"say ""x"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
  });
  it('csvText writes a header, one line per row and a final newline; `quoted` columns are always quoted', () => {
    expect(
      csvText(
        ['m', 'v'],
        [
          ['a', 1],
          ['b,c', null],
        ],
      ),
    ).toBe('m,v\na,1\n"b,c",\n');
    expect(csvText(['m', 'v'], [['a', 1]], { quoted: [0] })).toBe('m,v\n"a",1\n');
  });
  it('csvOfRecords takes the columns from the first record unless given', () => {
    const rows = [
      { m: 'a', v: 1, w: 2 },
      { m: 'b', v: 3, w: 4 },
    ];
    expect(csvOfRecords(rows)).toBe('m,v,w\na,1,2\nb,3,4\n');
    expect(csvOfRecords(rows, ['w', 'm'])).toBe('w,m\n2,a\n4,b\n');
  });
});
