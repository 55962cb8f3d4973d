#!/usr/bin/env node
// Thin shim: the CLI is written in TypeScript and compiled to dist/ by `npm install` (prepare).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/lib/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  process.stderr.write('flotilla: dist/ is missing; run `npm install` (or `npm run build`) first\n');
  process.exit(1);
}
await import(cli.href);
