import { createRng, hashSeed } from './rng.js';
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

/**
 * Splits a car's drives (after its calibration drives) into a model-training pool and a test set by
 * a seeded hash of each file name: a drive's side does not depend on which other drives exist, so
 * adding a car or a drive never reshuffles the rest. Order inside each part is kept.
 */
export function splitByHash<T extends { file: string }>(
  drives: readonly T[],
  seed: number,
  testShare = 0.5,
): { train: T[]; test: T[] } {
  const train: T[] = [];
  const test: T[] = [];
  for (const d of drives) (mix(hashSeed(d.file, seed)) / 4294967296 < testShare ? test : train).push(d);
  return { train, test };
}

/** murmur3's finaliser: FNV-1a alone leaves names that differ in the last digit close together. */
function mix(h: number): number {
  let x = h >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}
