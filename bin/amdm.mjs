#!/usr/bin/env node
// The installed `amdm` command: runs the compiled CLI. `npm ci` / `npm install` in a checkout
// build dist/ (the `prepare` script); the published package ships it.
import { existsSync } from 'node:fs';
const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  console.error('amdm: dist/ is missing; run `npm run build` (npm ci runs it) in the checkout');
  process.exit(1);
}
const { main } = await import(entry.href);
await main(process.argv);
