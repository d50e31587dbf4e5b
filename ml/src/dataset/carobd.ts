import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { SIGNAL_COUNT, FEATURE_SIGNALS } from '../signals.js';
import { FRAME_MS, type Frame } from '../features/frames.js';

/** carOBD CSV columns in file order, mapped to catalogue keys (SOURCE.md lists the 27 PIDs). */
export const CAROBD_COLUMNS = [
  'engine.run_time',
  'engine.rpm',
  'vehicle.speed',
  'throttle.position',
  'engine.load',
  'engine.coolant_temp',
  'fuel.trim.long_term_b1',
  'fuel.trim.short_term_b1',
  'intake.manifold_pressure',
  'fuel.level',
  'throttle.position_b',
  'pedal.position_d',
  'pedal.position_e',
  'throttle.commanded_actuator',
  'fuel.commanded_equivalence_ratio',
  'ambient.barometric_pressure',
  'throttle.relative_position',
  'intake.air_temp',
  'engine.timing_advance',
  'catalyst.temp_b1s1',
  'catalyst.temp_b1s2',
  'ecu.control_module_voltage',
  'evap.commanded_purge',
  'mil.run_time',
  'dtc.time_since_cleared',
  'mil.distance',
  'dtc.warm_ups_since_cleared',
] as const;

export type DriveMode = 'drive' | 'idle' | 'live' | 'long' | 'ufpe';

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

/** Parses one carOBD file: header line, trailing commas or not, short rows, blank lines. */
export function parseCarObdCsv(text: string): ParsedCsv {
  const rows: Float64Array[] = [];
  let dropped = 0;
  const lines = text.split(/\r?\n/);
  for (let i = 1; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    if (line === '') continue;
    // A trailing comma yields one empty last field; it is not a value.
    const fields = line.endsWith(',') ? line.slice(0, -1).split(',') : line.split(',');
    if (fields.length < MIN_FIELDS) {
      dropped++;
      continue;
    }
    const row = new Float64Array(CAROBD_COLUMNS.length).fill(NaN);
    for (let c = 0; c < Math.min(fields.length, row.length); c++) {
      const raw = (fields[c] ?? '').trim();
      row[c] = raw === '' ? NaN : Number(raw);
    }
    rows.push(row);
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
  const m = /^(drive|idle|live|long|ufpe)\d+\.csv$/.exec(path.basename(file));
  if (!m) throw new Error(`not a carOBD drive file name: ${file}`);
  return m[1] as DriveMode;
}

/**
 * Where the carOBD CSVs live: CLUTCH_DATASETS_DIR (the `datasets` folder) when set, otherwise the
 * shared folder beside the repository. They are read in place, never copied into the repo.
 */
export function carObdDir(repoRoot: string, env: NodeJS.ProcessEnv = process.env): string {
  const datasets = env.CLUTCH_DATASETS_DIR ?? path.resolve(repoRoot, '..', 'shared', 'datasets');
  return path.join(datasets, 'carobd-toyota-etios-2014', 'obdiidata');
}

export async function listDriveFiles(dir: string): Promise<string[]> {
  const names = await readdir(dir);
  return names.filter((n) => /^(drive|idle|live|long|ufpe)\d+\.csv$/.test(n)).sort(naturalOrder);
}

function naturalOrder(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

export async function loadDrive(dir: string, file: string): Promise<Drive> {
  const text = await readFile(path.join(dir, file), 'utf8');
  return { file, mode: driveMode(file), frames: rowsToFrames(parseCarObdCsv(text).rows) };
}

export async function loadDrives(dir: string, files: readonly string[]): Promise<Drive[]> {
  return Promise.all(files.map((f) => loadDrive(dir, f)));
}
