import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { carObdDir, loadDrive, type Drive } from './dataset/carobd.js';

/** Test-only: real carOBD drives read in place from the shared datasets folder. */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const datasetDir = carObdDir(repoRoot);

const cache = new Map<string, Promise<Drive>>();
export function realDrive(file: string): Promise<Drive> {
  let p = cache.get(file);
  if (!p) cache.set(file, (p = loadDrive(datasetDir, file)));
  return p;
}
