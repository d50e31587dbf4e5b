// Recorded drives for the simulator: the carOBD CSVs, read in place through the shared parser
// (@clutch/firmware-profiles), as a looping series of decoded Mode 01 values.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  carObdDriveDir,
  datasetsDir,
  listCarObdFiles,
  parseCarObdCsv,
  type CarObdCsv,
} from '@clutch/firmware-profiles';
import { agentError } from '../errors.js';

/** A time series of decoded Mode 01 values keyed by OBDb SAEJ1979 signal id, one row per sample. */
export interface DriveSource {
  readonly name: string;
  /** OBDb ids this drive has values for (the simulator reports exactly these PIDs as supported). */
  readonly signals: readonly string[];
  readonly length: number;
  /** Row `index`, wrapping around at both ends: a replay loops. */
  row(index: number): Readonly<Record<string, number>>;
}

/**
 * The drive in a parsed carOBD file. The ECU must answer every PID it reports as supported, so only
 * complete rows are replayed: a cut-off line or one with an empty or non-numeric value is skipped.
 */
export function driveFromCarObd(csv: CarObdCsv, name = 'carobd'): DriveSource {
  const signals = csv.columns;
  const width = signals.length;
  if (width === 0) throw agentError('DRIVE_INVALID', `${name}: no header`);
  const rows: Record<string, number>[] = [];
  for (const { values, fields } of csv.rows) {
    if (fields < width) continue;
    const row: Record<string, number> = {};
    let complete = true;
    for (let i = 0; i < width; i++) {
      if (!Number.isFinite(values[i])) complete = false;
      row[signals[i]!] = values[i]!;
    }
    if (complete) rows.push(row);
  }
  if (rows.length === 0) throw agentError('DRIVE_INVALID', `${name}: no complete rows`);
  return { name, signals, length: rows.length, row: (i) => rows[((i % rows.length) + rows.length) % rows.length]! };
}

/** A drive from carOBD CSV text (see driveFromCarObd). */
export function carObdDriveFromText(text: string, name?: string): DriveSource {
  return driveFromCarObd(parseCarObdCsv(text), name);
}

export function loadCarObdDrive(csvPath: string): DriveSource {
  return carObdDriveFromText(readFileSync(csvPath, 'utf8'), path.basename(csvPath, '.csv'));
}

/** CSV paths of the carOBD drives, in natural order; empty when the data set is absent. */
export function listCarObdDrives(dir: string = datasetsDir()): string[] {
  const driveDir = carObdDriveDir(dir);
  return listCarObdFiles(driveDir).map((f) => path.join(driveDir, f));
}
