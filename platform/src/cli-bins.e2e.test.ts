import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const workspaces = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { workspaces: string[] })
  .workspaces;
const bins = workspaces.flatMap((ws) => {
  const pkg = JSON.parse(readFileSync(path.join(root, ws, 'package.json'), 'utf8')) as { bin?: Record<string, string> };
  return Object.entries(pkg.bin ?? {}).map(([name, target]) => ({ ws, name, target }));
});

// The README names these commands right after `npm install`; npm links bins before `prepare` builds
// dist/, so a bin that points into dist/ is silently not linked on a fresh clone.
describe('the CLIs a README names work after npm install', () => {
  it('every workspace declares its CLIs', () => {
    expect(bins.map((b) => b.name).sort()).toEqual([
      'clutch',
      'clutch-admin',
      'clutch-agent',
      'clutch-audit',
      'clutch-broker',
      'clutch-ml',
    ]);
  });

  it.each(bins)('$name points at a file of the clone, not at the build output', ({ ws, target }) => {
    expect(target.startsWith('./dist/') || target.startsWith('dist/')).toBe(false);
    expect(existsSync(path.join(root, ws, target))).toBe(true);
  });

  it.each(bins)('npx $name --help prints its usage', ({ name }) => {
    const out = execFileSync(path.join(root, 'node_modules', '.bin', name), ['--help'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(out).toContain(name);
  });
});
