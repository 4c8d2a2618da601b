'use strict';
/**
 * Starts the tslab kernel with one change to how cells are type-checked: TypeScript resolves
 * imports with its 'bundler' rule (package.json "exports", subpath exports and a package's
 * reference to itself) instead of tslab's fixed 'node10' rule, which ignores "exports". With it a
 * notebook imports the built package exactly as a user does — `import { sampleAMDM } from 'amdm'`,
 * `import { plotToSVG } from 'amdm/image'` — and cells are checked against dist/*.d.ts. At run
 * time cells already go through Node's own resolution, which reads "exports".
 *
 * Run from the project root (kernel.json does the `cd`); the arguments are tslab's own
 * (`kernel --config-path <connection file>`).
 */
const path = require('node:path');

const root = process.cwd();
const tslabMain = require.resolve('tslab/dist/main.js', { paths: [root] });
const tsPath = require.resolve('@tslab/typescript-for-tslab', { paths: [path.dirname(tslabMain)] });
const ts = require(tsPath);

// The module's exports are read-only getters, so tslab gets a view of them with
// createWatchCompilerHost(rootFiles, options, ...) wrapped to override moduleResolution.
const view = {};
for (const key of Object.keys(ts)) {
  if (key !== 'createWatchCompilerHost') Object.defineProperty(view, key, { enumerable: true, get: () => ts[key] });
}
Object.defineProperty(view, 'createWatchCompilerHost', {
  enumerable: true,
  value: function createWatchCompilerHost(rootFilesOrConfig, options, ...rest) {
    if (Array.isArray(rootFilesOrConfig) && options && typeof options === 'object') {
      options = { ...options, moduleResolution: ts.ModuleResolutionKind.Bundler };
    }
    return ts.createWatchCompilerHost(rootFilesOrConfig, options, ...rest);
  },
});
require.cache[tsPath].exports = view;

require(tslabMain).main();
