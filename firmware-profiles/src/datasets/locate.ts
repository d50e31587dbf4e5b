// Where the shared data sets live. They are read in place from one folder outside the repository and
// never copied into it (licences, size); every package that reads them locates the folder here.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// src/datasets/ and dist/datasets/ are both two levels below the package, three below the repo root.
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The environment variable that points at the data sets folder (deployments, CI, tests). */
export const DATASETS_ENV = 'CLUTCH_DATASETS_DIR';

/**
 * The data sets folder: `$CLUTCH_DATASETS_DIR` when set and not empty, else `../shared/datasets`
 * relative to the repository root (`repoRoot` lets a caller name another checkout).
 */
export function datasetsDir(env: NodeJS.ProcessEnv = process.env, repoRoot: string = REPO_ROOT): string {
  const override = env[DATASETS_ENV];
  if (override !== undefined && override !== '') return path.resolve(override);
  return path.resolve(repoRoot, '..', 'shared', 'datasets');
}

/** Whether the data set `sub` (e.g. 'obdb-signalsets') is present; tests skip on false. */
export function datasetAvailable(sub: string, dir: string = datasetsDir()): boolean {
  return existsSync(path.join(dir, sub));
}
