#!/usr/bin/env node
// The installed `amdm` command: runs the compiled CLI (npm run build creates dist/).
import { existsSync } from 'node:fs';
const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  console.error('amdm: dist/ is missing; run `npm run build` first (or use `npm run demo` in a checkout)');
  process.exit(1);
}
const { main } = await import(entry.href);
await main(process.argv);
