/**
 * The playground's build: the Shapes page and worker stay free of onnxruntime; the mini-zoo's
 * runner, onnxruntime-web's .wasm and a byte-identical copy of the zoo's model folders (listed
 * with their sizes in zoo/files.json) are in the folder, so the page needs nothing from elsewhere.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPlayground, ORT_WASM, ZOO_SOURCE, type BuildResult } from '../../playground/build.ts';
import { ZOO_MODEL_NAMES } from '../../playground/src/zoo-settings.ts';

describe('buildPlayground', () => {
  let dir: string;
  let built: BuildResult;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'amdm-playground-build-'));
    built = await buildPlayground(join(dir, 'dist'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the page, the worker, the zoo runner and onnxruntime-web’s .wasm', () => {
    for (const f of ['index.html', 'style.css', 'app.js', 'worker.js', 'zoo.js', ORT_WASM, 'zoo/files.json'])
      expect(built.files[f], f).toBeGreaterThan(0);
    const read = (f: string) => readFileSync(join(built.dir, f), 'utf8');
    // the Shapes world loads no ONNX code; the worker loads zoo.js beside itself on the first zoo run
    for (const f of ['app.js', 'worker.js']) expect(read(f)).not.toContain('InferenceSession');
    expect(read('worker.js')).toContain('new URL("zoo.js",import.meta.url)');
    expect(read('zoo.js')).toContain('InferenceSession');
    expect(read('zoo.js')).not.toMatch(/https?:\/\/[^"'\s]*\.wasm/); // the .wasm comes from beside zoo.js
  });

  it('copies the zoo’s model folders byte for byte and lists them with their sizes', async () => {
    const list = JSON.parse(readFileSync(join(built.dir, 'zoo', 'files.json'), 'utf8')) as {
      files: Record<string, number>;
    };
    const want: Record<string, number> = {};
    for (const model of ZOO_MODEL_NAMES) {
      for (const e of await readdir(join(ZOO_SOURCE, model), { withFileTypes: true, recursive: true })) {
        if (!e.isFile()) continue;
        const rel = relative(ZOO_SOURCE, join(e.parentPath, e.name));
        const bytes = readFileSync(join(ZOO_SOURCE, rel));
        want[rel] = bytes.byteLength;
        expect(readFileSync(join(built.dir, 'zoo', rel)).equals(bytes), rel).toBe(true);
      }
    }
    expect(list.files).toEqual(want);
    expect(Object.keys(want)).toContain('migc-mini/plain/model.onnx');
  });
});
