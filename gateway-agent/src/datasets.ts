import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// src/ and dist/ are both one level below the package, which is one level below the repo root.
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Where the shared datasets live: `$CLUTCH_DATASETS_DIR`, else `<repo>/../shared/datasets`. */
export function defaultDatasetsDir(): string {
  const override = process.env['CLUTCH_DATASETS_DIR'];
  if (override !== undefined && override !== '') return path.resolve(override);
  return path.resolve(REPO_ROOT, '..', 'shared', 'datasets');
}

export function datasetsAvailable(sub: string, dir = defaultDatasetsDir()): boolean {
  return existsSync(path.join(dir, sub));
}
