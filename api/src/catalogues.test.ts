import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { identityErrors, mfaErrors, rbacErrors } from '@clutch/identity';
import { jobsErrors } from '@clutch/jobs';
import { mlErrors } from '@clutch/ml';
import { describe, expect, it } from 'vitest';
import { apiErrors, foreignErrorCodes, isApiErrorCode } from './errors.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The packages whose errors can reach an API response (the API calls them inside requests) and their
 * exported catalogues. ingest raises no coded errors (its one error class, QueueClosedError, stays in the
 * ingest process) and db's CopyValueError carries SQLSTATEs, not catalogue codes: the scan below checks
 * that both stay that way.
 */
const catalogues: Record<string, Record<string, string>> = {
  identity: { ...identityErrors, ...mfaErrors, ...rbacErrors },
  jobs: jobsErrors,
  ml: mlErrors,
  ingest: {},
  db: {},
};

/** `new ClutchError('CODE'` in a package's sources (tests excepted): a code raised outside its catalogue. */
function inlineCodes(pkg: string): string[] {
  const dir = path.join(repoRoot, pkg, 'src');
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter(
    (f) => f.endsWith('.ts') && !f.endsWith('.test.ts'),
  );
  return files.flatMap((file) =>
    [...readFileSync(path.join(dir, file), 'utf8').matchAll(/new ClutchError\(\s*['"`]([A-Z][A-Z0-9_]+)['"`]/g)].map(
      (m) => `${pkg}/src/${file}: ${m[1]}`,
    ),
  );
}

describe('error catalogues of the packages behind the API', () => {
  it('gives every code a package raises an answer in the API catalogue', () => {
    const unanswered = Object.entries(catalogues).flatMap(([pkg, codes]) =>
      Object.keys(codes)
        .filter((code) => !isApiErrorCode(code) && !Object.hasOwn(foreignErrorCodes, code))
        .map((code) => `${pkg}: ${code}`),
    );
    expect(unanswered).toEqual([]);
    // The comparison must have something to compare, or it would pass on empty catalogues.
    expect(Object.values(catalogues).flatMap(Object.keys).length).toBeGreaterThanOrEqual(12);
  });

  it('finds no code raised outside its package catalogue', () => {
    expect(Object.keys(catalogues).flatMap(inlineCodes)).toEqual([]);
  });

  it('maps foreign codes only to codes of the API catalogue, and only codes of the packages', () => {
    const known = new Set(Object.values(catalogues).flatMap(Object.keys));
    for (const [foreign, code] of Object.entries(foreignErrorCodes)) {
      expect(known.has(foreign), foreign).toBe(true);
      expect(Object.hasOwn(apiErrors, code), code).toBe(true);
    }
  });
});
