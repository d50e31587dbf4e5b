import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { signalByObdbId } from '@clutch/contracts';
import {
  CAROBD_COLUMNS as CAROBD_OBDB_COLUMNS,
  CAROBD_FILE,
  carObdDriveDir,
  datasetsDir,
  listCarObdFiles,
  parseCarObdCsv as parseCsv,
} from '@clutch/firmware-profiles';
import { SIGNAL_COUNT, FEATURE_SIGNALS } from '../signals.js';
import { FRAME_MS, type Frame } from '../features/frames.js';

/**
 * carOBD CSV columns in file order as catalogue keys: the shared column list (OBDb ids,
 * @clutch/firmware-profiles) mapped through the catalogue, so ML, the simulator and ingest agree.
 */
export const CAROBD_COLUMNS: readonly string[] = CAROBD_OBDB_COLUMNS.map((id) => {
  const signal = signalByObdbId(id);
  // Failing at import is deliberate: a carOBD column without a catalogue signal would silently vanish.
  if (!signal) throw new Error(`carOBD column ${id} is missing from the signal catalogue`);
  return signal.key;
});

/** carOBD file-name modes; 'log' for a drive from any other car or logger (no mode in its name). */
export type DriveMode = 'drive' | 'idle' | 'live' | 'long' | 'ufpe' | 'log';

export interface Drive {
  file: string;
  mode: DriveMode;
  frames: Frame[];
}

export interface ParsedCsv {
  /** One array per kept row, CAROBD_COLUMNS.length long; NaN where the row had no value. */
  rows: Float64Array[];
  /** Rows dropped because they lacked the feature columns (cut-off last lines). */
  dropped: number;
}

/**
 * Every feature signal sits in the first 22 columns, so a row cut short after column 22 (live6.csv
 * has only 24 columns) is still usable; shorter rows are the truncated last lines SOURCE.md
 * describes and are dropped.
 */
const MIN_FIELDS = Math.max(...FEATURE_SIGNALS.map((k) => CAROBD_COLUMNS.indexOf(k))) + 1;

/**
 * The rows of one carOBD file that ML can use, parsed by the shared carOBD parser (header, trailing
 * commas, blank lines, live6.csv's 24 columns): rows cut off before the feature columns are dropped;
 * empty or non-numeric fields stay NaN.
 */
export function parseCarObdCsv(text: string): ParsedCsv {
  const rows: Float64Array[] = [];
  let dropped = 0;
  for (const row of parseCsv(text).rows) {
    if (row.fields < MIN_FIELDS) dropped++;
    else rows.push(row.values);
  }
  return { rows, dropped };
}

const featureColumns = FEATURE_SIGNALS.map((k) => CAROBD_COLUMNS.indexOf(k));

/**
 * Frames from parsed rows. The files have no wall clock and run time moves in 0/1/2 s steps at
 * about two rows per second (SOURCE.md), so row i is placed at i × 500 ms.
 */
export function rowsToFrames(rows: readonly Float64Array[], startMs = 0): Frame[] {
  return rows.map((row, i) => {
    const v = new Float64Array(SIGNAL_COUNT);
    featureColumns.forEach((col, k) => {
      v[k] = row[col] ?? NaN;
    });
    return { t: startMs + i * FRAME_MS, v };
  });
}

export function driveMode(file: string): DriveMode {
  const m = CAROBD_FILE.exec(path.basename(file));
  if (!m) throw new Error(`not a carOBD drive file name: ${file}`);
  return m[1] as DriveMode;
}

/**
 * Where the carOBD CSVs live: CLUTCH_DATASETS_DIR (the `datasets` folder) when set, otherwise the
 * shared folder beside `repoRoot`. They are read in place, never copied into the repo.
 */
export function carObdDir(repoRoot: string, env: NodeJS.ProcessEnv = process.env): string {
  return carObdDriveDir(datasetsDir(env, repoRoot));
}

/** Drive file names in natural order (drive2 before drive10); rejects when the folder is absent. */
export async function listDriveFiles(dir: string): Promise<string[]> {
  await access(dir); // an absent folder rejects (ENOENT): callers tell "no data set" from "no drives"
  return listCarObdFiles(dir);
}

export async function loadDrive(dir: string, file: string): Promise<Drive> {
  const text = await readFile(path.join(dir, file), 'utf8');
  return { file, mode: driveMode(file), frames: rowsToFrames(parseCarObdCsv(text).rows) };
}

export async function loadDrives(dir: string, files: readonly string[]): Promise<Drive[]> {
  return Promise.all(files.map((f) => loadDrive(dir, f)));
}
