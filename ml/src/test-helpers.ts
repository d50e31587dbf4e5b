import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { carObdDir, loadDrive, type Drive } from './dataset/carobd.js';

/** Test-only: real carOBD drives read in place from the shared datasets folder. */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const datasetDir = carObdDir(repoRoot);

/**
 * Tests on real drives skip when the carOBD data set is absent (CLUTCH_DATASETS_DIR elsewhere, a CI
 * runner without ../shared/datasets): `describe.skipIf(NO_CAROBD)(...)`; they run whenever it is there.
 */
export const NO_CAROBD = !existsSync(datasetDir);
export const NO_CAROBD_REASON = `carOBD drives not found at ${datasetDir} (set CLUTCH_DATASETS_DIR)`;

const cache = new Map<string, Promise<Drive>>();
export function realDrive(file: string): Promise<Drive> {
  let p = cache.get(file);
  if (!p) cache.set(file, (p = loadDrive(datasetDir, file)));
  return p;
}

/** A describe title that says why it was skipped: `describe.skipIf(NO_CAROBD)(onRealDrives('...'), ...)`. */
export function onRealDrives(title: string): string {
  return NO_CAROBD ? `${title} [skipped: ${NO_CAROBD_REASON}]` : title;
}
