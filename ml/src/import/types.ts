import type { Reading } from '../features/frames.js';

export type LogFormat = 'torque' | 'car-scanner' | 'obd-auto-doctor' | 'carobd';

export const LOG_FORMATS: readonly LogFormat[] = ['torque', 'car-scanner', 'obd-auto-doctor', 'carobd'];

/** One column of the file (a Car Scanner PID) and what became of it. */
export interface ImportedColumn {
  /** As written in the file. */
  source: string;
  /** Catalogue key it was imported as; null = not imported (why in `note`). */
  signal: string | null;
  /** Unit as written in the file (null: none given). */
  unit: string | null;
  note?: string;
}

export interface ParsedLog {
  format: LogFormat;
  /** Catalogue keys, catalogue (SAE J1979) units; time = epoch ms, or ms from the first row when the file has no date. */
  readings: Reading[];
  /** Epoch ms of the first row when the file carries a date, else null. */
  startedAt: number | null;
  columns: ImportedColumn[];
  warnings: string[];
  /** Data rows read (Car Scanner: lines, one reading each). */
  rows: number;
  /** Rows that could not be read (no time, cut off, text where numbers belong) and were skipped. */
  skippedRows: number;
}
