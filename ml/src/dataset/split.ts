import { createRng } from './rng.js';
import { driveMode } from './carobd.js';

export interface DriveSplit {
  train: string[];
  validation: string[];
  test: string[];
}

/**
 * Splits by drive FILE (never by row, so no test minute has a neighbour in training), stratified
 * by driving mode so idle, city and highway drives appear in every part. Deterministic in the seed.
 */
export function splitDrives(
  files: readonly string[],
  seed: number,
  fractions = { train: 0.6, validation: 0.2 },
): DriveSplit {
  const byMode = new Map<string, string[]>();
  for (const f of [...files].sort()) {
    const mode = driveMode(f);
    byMode.set(mode, [...(byMode.get(mode) ?? []), f]);
  }
  const rng = createRng(seed);
  const split: DriveSplit = { train: [], validation: [], test: [] };
  for (const mode of [...byMode.keys()].sort()) {
    const list = rng.shuffle([...(byMode.get(mode) ?? [])]);
    const nTrain = Math.round(list.length * fractions.train);
    const nVal = Math.round(list.length * fractions.validation);
    split.train.push(...list.slice(0, nTrain));
    split.validation.push(...list.slice(nTrain, nTrain + nVal));
    split.test.push(...list.slice(nTrain + nVal));
  }
  return split;
}
