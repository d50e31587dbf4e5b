import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { datasetsDir } from '@clutch/firmware-profiles';
import { carObdDir, listDriveFiles, loadDrive, parseCarObdCsv, rowsToFrames, type Drive } from './dataset/carobd.js';
import { learnNormalFromFrames } from './normal/learn-offline.js';
import { calibrationStatus } from './normal/readiness.js';
import { createVehicleNormal, type VehicleNormal } from './normal/vehicle-normal.js';

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

/**
 * The KIT Seat Leon (turbo petrol, another logger; SOURCE.md beside it): carOBD layout with dated
 * file names, load, trims, catalyst and voltage columns empty. Read in place like carOBD.
 */
export const seatLeonDir = path.join(datasetsDir(process.env, repoRoot), 'kit-seat-leon-2017', 'drives');
export const NO_SEAT_LEON = !existsSync(seatLeonDir);
export const NO_SEAT_LEON_REASON = `KIT Seat Leon drives not found at ${seatLeonDir} (set CLUTCH_DATASETS_DIR)`;

/** Seat Leon drive files in chronological order (the names start with the date). */
export async function seatLeonFiles(): Promise<string[]> {
  return (await readdir(seatLeonDir)).filter((f) => f.endsWith('.csv')).sort();
}

const seatCache = new Map<string, Promise<Drive>>();
export function seatLeonDrive(file: string): Promise<Drive> {
  let p = seatCache.get(file);
  if (!p) {
    p = readFile(path.join(seatLeonDir, file), 'utf8').then((text) => ({
      file,
      mode: 'drive' as const,
      frames: rowsToFrames(parseCarObdCsv(text).rows),
    }));
    seatCache.set(file, p);
  }
  return p;
}

export function onSeatLeon(title: string): string {
  return NO_SEAT_LEON ? `${title} [skipped: ${NO_SEAT_LEON_REASON}]` : title;
}

/**
 * A car's normal calibrated the way production does it: its first drives in order until
 * calibrationStatus says calibrated. Returns the normal and the files it used (tests score others).
 */
export async function calibratedNormal(car: 'etios' | 'seat'): Promise<{ normal: VehicleNormal; used: string[] }> {
  const files = car === 'etios' ? await listDriveFiles(datasetDir) : await seatLeonFiles();
  const load = car === 'etios' ? realDrive : seatLeonDrive;
  const normal = createVehicleNormal();
  const used: string[] = [];
  for (const file of files) {
    if (calibrationStatus(normal).status === 'calibrated') break;
    learnNormalFromFrames(normal, (await load(file)).frames);
    used.push(file);
  }
  return { normal, used };
}
