#!/usr/bin/env node
// Benchmark dispatcher: `npm run bench -- <name> [args]` runs bench/<name>/index.mjs when it exists,
// else the compiled TypeScript bench/dist/<name>/index.js (built here first with `tsc -b bench`).
// A new benchmark is a new folder; nothing to register.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const [name, ...args] = process.argv.slice(2);
const available = () =>
  [
    ...readdirSync(here, { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(path.join(here, d.name, 'index.mjs')))
      .map((d) => d.name),
    ...(existsSync(path.join(here, 'src'))
      ? readdirSync(path.join(here, 'src'), { withFileTypes: true })
          .filter((d) => d.isDirectory() && existsSync(path.join(here, 'src', d.name, 'index.ts')))
          .map((d) => d.name)
      : []),
  ].sort();

if (!name || !/^[a-z0-9-]+$/.test(name)) {
  console.error(`usage: npm run bench -- <name> [args]\navailable: ${available().join(', ')}`);
  process.exit(2);
}
const plain = path.join(here, name, 'index.mjs');
let entry = plain;
if (!existsSync(plain)) {
  if (!existsSync(path.join(here, 'src', name, 'index.ts'))) {
    console.error(`no benchmark "${name}"; available: ${available().join(', ')}`);
    process.exit(2);
  }
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-b', here], { stdio: 'inherit' });
  entry = path.join(here, 'dist', name, 'index.js');
}
process.argv = [process.argv[0], entry, ...args];
await import(pathToFileURL(entry).href);
