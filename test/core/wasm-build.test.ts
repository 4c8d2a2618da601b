import { expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { compileModule, renderModule, TARGETS } from '../../scripts/build-wasm.ts';

for (const target of TARGETS) {
  it(`the committed WebAssembly module ${target.module} is the compiled ${target.source} (npm run build:wasm)`, async () => {
    const bytes = await compileModule(target);
    const committed = readFileSync(new URL(`../../${target.module}`, import.meta.url), 'utf8');
    expect(committed, `${target.module} is stale: run npm run build:wasm`).toBe(renderModule(target, bytes));
    // browsers compile modules over 4 KiB only asynchronously on the main thread; the core
    // compiles synchronously, so each module must stay under that limit
    expect(bytes.length).toBeLessThan(4096);
  });
}
