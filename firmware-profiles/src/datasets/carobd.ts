// The carOBD data set (Toyota Etios 2014, datasets/carobd-toyota-etios-2014/SOURCE.md): where its
// drives are and how to read one. The simulator replays the drives and ML trains on them; both read
// them through this parser so the files' quirks are handled once.
import { readdirSync } from 'node:fs';
import path from 'node:path';

/** The data set's folder inside the data sets folder, and its CSV folder. */
export const CAROBD_DATASET = 'carobd-toyota-etios-2014';
const CSV_FOLDER = 'obdiidata';

/** carOBD column order (SOURCE.md lists the 27 Mode 01 PIDs) as OBDb SAEJ1979 signal ids. */
export const CAROBD_COLUMNS = [
  'RUNTM',
  'RPM',
  'VSS',
  'TP',
  'LOAD_PCT',
  'ECT',
  'LONGFT1',
  'SHRTFT1',
  'MAP',
  'FLI',
  'TP_B',
  'APP_D',
  'APP_E',
  'TAC_PCT',
  'EQ_RAT',
  'BARO',
  'TP_R',
  'IAT',
  'SPARKADV',
  'CATEMP11',
  'CATEMP12',
  'VPWR',
  'EVAP_PCT',
  'MIL_TIME',
  'CLR_TIME',
  'MIL_DIST',
  'WARM_UPS',
] as const;

export type CarObdColumn = (typeof CAROBD_COLUMNS)[number];

/** Drive files are named after how the car was driven: drive1.csv, idle3.csv, live6.csv, long1.csv, ufpe12.csv. */
export const CAROBD_FILE = /^(drive|idle|live|long|ufpe)\d+\.csv$/;

export interface CarObdRow {
  /** CAROBD_COLUMNS.length values in column order; NaN where the field was empty, not a number or missing. */
  readonly values: Float64Array;
  /** Fields the line had (a trailing comma is not a field): fewer than the file's columns = a cut-off line. */
  readonly fields: number;
}

export interface CarObdCsv {
  /** Header names as written, e.g. 'ENGINE_RPM ()'. */
  readonly header: readonly string[];
  /** The columns the file's rows carry, in order (live6.csv: the first 24 of the 27 its header names). */
  readonly columns: readonly CarObdColumn[];
  /** Every non-blank data line, in file order. */
  readonly rows: readonly CarObdRow[];
}

/** The folder of drive CSVs inside the data sets folder. */
export function carObdDriveDir(datasetsDir: string): string {
  return path.join(datasetsDir, CAROBD_DATASET, CSV_FOLDER);
}

/** Drive file names in natural order (drive2 before drive10); empty when the data set is absent. */
export function listCarObdFiles(driveDir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(driveDir);
  } catch {
    return [];
  }
  return names.filter((n) => CAROBD_FILE.test(n)).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

function splitFields(line: string): string[] {
  const parts = line.split(',').map((f) => f.trim());
  // 121 of the files end every line with a comma (SOURCE.md); the empty last field is not a column.
  if (parts.length > 0 && parts.at(-1) === '') parts.pop();
  return parts;
}

/** The most common field count of the first data lines (ties: the wider); the header may name more. */
function usualWidth(lines: readonly string[]): number | undefined {
  const counts = new Map<number, number>();
  for (const line of lines.slice(1, 200)) {
    if (line.trim() === '') continue;
    const n = splitFields(line).length;
    counts.set(n, (counts.get(n) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1] || b[0] - a[0])[0]?.[0];
}

/**
 * Parses one carOBD file: a header line, then one sample per line. Quirks (SOURCE.md): most files end
 * every line with a comma, blank lines occur, the last line may be cut off, and live6.csv names 27
 * columns while every row has 24, so the columns are the rows' usual width, not the header's.
 * What to do with a short or incomplete row is the caller's choice (`fields`, NaN values).
 */
export function parseCarObdCsv(text: string): CarObdCsv {
  const lines = text.split(/\r?\n/);
  const header = splitFields(lines[0] ?? '');
  const width = Math.min(header.length, usualWidth(lines) ?? header.length, CAROBD_COLUMNS.length);
  const rows: CarObdRow[] = [];
  for (const line of lines.slice(1)) {
    if (line.trim() === '') continue;
    const fields = splitFields(line);
    const values = new Float64Array(CAROBD_COLUMNS.length).fill(NaN);
    for (let c = 0; c < Math.min(fields.length, values.length); c++) {
      const raw = fields[c]!;
      values[c] = raw === '' ? NaN : Number(raw);
    }
    rows.push({ values, fields: fields.length });
  }
  return { header, columns: CAROBD_COLUMNS.slice(0, width), rows };
}
