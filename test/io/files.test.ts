import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureDir, tempPathFor, writeFileAtomic, writeJSONAtomic } from '../../src/io/files.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'amdm-files-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  it('writes bytes and strings exactly and leaves no temporary file', async () => {
    const bytes = new Uint8Array([0, 1, 2, 253, 254, 255]);
    await writeFileAtomic(join(dir, 'a.bin'), bytes);
    await writeFileAtomic(join(dir, 'b.txt'), 'héllo\n');
    expect(Array.from(readFileSync(join(dir, 'a.bin')))).toEqual([0, 1, 2, 253, 254, 255]);
    expect(readFileSync(join(dir, 'b.txt'), 'utf8')).toBe('héllo\n');
    expect(readdirSync(dir).sort()).toEqual(['a.bin', 'b.txt']);
  });

  it('replaces an existing file completely', async () => {
    const p = join(dir, 'x.txt');
    writeFileSync(p, 'a much longer previous content');
    await writeFileAtomic(p, 'new');
    expect(readFileSync(p, 'utf8')).toBe('new');
    expect(readdirSync(dir)).toEqual(['x.txt']);
  });

  it('writes a subarray view, not its whole buffer', async () => {
    const buf = new Uint8Array([9, 9, 1, 2, 3, 9]);
    await writeFileAtomic(join(dir, 'v.bin'), buf.subarray(2, 5));
    expect(Array.from(readFileSync(join(dir, 'v.bin')))).toEqual([1, 2, 3]);
  });

  it('into a missing directory fails and writes nothing', async () => {
    await expect(writeFileAtomic(join(dir, 'missing', 'a.txt'), 'x')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(readdirSync(dir)).toEqual([]);
  });

  it('removes the temporary file when the final rename fails, and keeps the old target', async () => {
    const target = join(dir, 'out');
    mkdirSync(target);
    writeFileSync(join(target, 'keep.txt'), 'k'); // a non-empty directory cannot be renamed over
    await expect(writeFileAtomic(target, 'data')).rejects.toThrow();
    expect(readdirSync(dir)).toEqual(['out']);
    expect(statSync(target).isDirectory()).toBe(true);
    expect(readFileSync(join(target, 'keep.txt'), 'utf8')).toBe('k');
  });

  it('rejects bad arguments naming the parameter', async () => {
    await expect(writeFileAtomic('', 'x')).rejects.toThrow(/path must be a non-empty string/);
    await expect(writeFileAtomic(join(dir, 'n'), 42 as unknown as string)).rejects.toThrow(
      /data must be a Uint8Array or a string, got number/,
    );
    expect(readdirSync(dir)).toEqual([]);
  });

  it('uses a hidden temporary name in the target directory', () => {
    const t = tempPathFor(join('some', 'dir', 'img.png'));
    expect(t.startsWith(join('some', 'dir', '.img.png.'))).toBe(true);
    expect(t.endsWith('.tmp')).toBe(true);
    expect(tempPathFor('a')).not.toBe(tempPathFor('a'));
  });
});

describe('writeJSONAtomic', () => {
  it('writes indented JSON plus a newline', async () => {
    const p = join(dir, 'r.json');
    const value = { seed: 3, steps: [1, 2], name: 'amdm' };
    await writeJSONAtomic(p, value);
    expect(readFileSync(p, 'utf8')).toBe(`${JSON.stringify(value, null, 2)}\n`);
    await writeJSONAtomic(p, value, { indent: 0 });
    expect(readFileSync(p, 'utf8')).toBe('{"seed":3,"steps":[1,2],"name":"amdm"}\n');
  });

  it('refuses non-finite numbers, naming where they are, and writes nothing', async () => {
    const p = join(dir, 'r.json');
    await expect(writeJSONAtomic(p, { runs: [{ loss: 1 }, { loss: NaN }] })).rejects.toThrow(
      /value\.runs\[1\]\.loss must be a finite number to be written as JSON, got NaN/,
    );
    await expect(writeJSONAtomic(p, Infinity)).rejects.toThrow(/^value must be a finite number/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a value that throws while serializing leaves the previous file and no temporary file', async () => {
    const p = join(dir, 'r.json');
    await writeJSONAtomic(p, { ok: true });
    const bad = {
      a: 1,
      b: {
        toJSON() {
          throw new Error('boom');
        },
      },
    };
    await expect(writeJSONAtomic(p, bad)).rejects.toThrow('boom');
    await expect(writeJSONAtomic(p, { n: 10n })).rejects.toThrow(TypeError);
    expect(readFileSync(p, 'utf8')).toBe('{\n  "ok": true\n}\n');
    expect(readdirSync(dir)).toEqual(['r.json']);
  });

  it('rejects undefined and a bad indent', async () => {
    await expect(writeJSONAtomic(join(dir, 'u.json'), undefined)).rejects.toThrow(/value must be JSON-serializable/);
    await expect(writeJSONAtomic(join(dir, 'u.json'), 1, { indent: -1 })).rejects.toThrow(
      /opts\.indent must be an integer in \[0, 10\], got -1/,
    );
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('ensureDir', () => {
  it('creates nested directories and is idempotent', async () => {
    const d = join(dir, 'a', 'b', 'c');
    expect(await ensureDir(d)).toBe(d);
    expect(await ensureDir(d)).toBe(d);
    expect(statSync(d).isDirectory()).toBe(true);
    await expect(ensureDir('')).rejects.toThrow(/dir must be a non-empty string/);
  });
});
