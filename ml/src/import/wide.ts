import { canonicalUnit } from './units.js';
import { splitHeader } from './columns.js';
import { createCollector, resolveColumn, type ResolvedColumn } from './collect.js';
import { detectDelimiter, parseNumber, splitFields } from './csv.js';
import type { ParsedLog } from './types.js';

const isUnit = (u: string): boolean => canonicalUnit(u) !== null;

/** Reads a row's time from its fields: epoch ms, ms from an origin the parser keeps, or NaN (row skipped). */
export type RowClock = (fields: readonly string[]) => number;

export interface WideLayout {
  /** Header indexes that hold time, not readings. */
  timeColumns: ReadonlySet<number>;
  clock: RowClock;
}

/**
 * A wide log (Torque Pro, OBD Auto Doctor): one header line naming the columns, then one row per
 * instant with a value (or nothing, or `-`) per column. `layout` picks the time columns and reads
 * each row's time. A header line repeated mid-file (Torque appends a new header when logging
 * restarts) is skipped; a row whose time cannot be read is counted as skipped.
 */
export function parseWide(
  lines: readonly string[],
  layoutOf: (header: readonly string[]) => WideLayout,
): Omit<ParsedLog, 'format' | 'startedAt'> & { firstTime: number } {
  const headerIndex = lines.findIndex((l) => l.trim() !== '');
  const headerLine = lines[headerIndex] ?? '';
  const delimiter = detectDelimiter(headerLine);
  const header = splitFields(headerLine, delimiter);
  const layout = layoutOf(header);
  const resolved: (ResolvedColumn | null)[] = header.map((source, i) => {
    if (layout.timeColumns.has(i)) return null;
    const { name, unit } = splitHeader(source, isUnit);
    return resolveColumn(source, name, unit);
  });
  const collector = createCollector();
  let rows = 0;
  let skippedRows = 0;
  let firstTime = Number.NaN;
  for (let li = headerIndex + 1; li < lines.length; li++) {
    const line = lines[li]!;
    if (line.trim() === '' || line === headerLine) continue;
    const fields = splitFields(line, delimiter);
    // A line cut short (the app was killed mid-write) or a note: fewer than half the columns.
    const time = fields.length * 2 < header.length ? NaN : layout.clock(fields);
    if (!Number.isFinite(time)) {
      skippedRows++;
      continue;
    }
    let numbers = 0;
    let text = 0;
    const values: [ResolvedColumn, number][] = [];
    for (let c = 0; c < resolved.length; c++) {
      const col = resolved[c];
      const raw = fields[c];
      if (!col || raw === undefined) continue;
      const value = parseNumber(raw);
      if (value === null) {
        if (raw !== '' && raw !== '-' && !/^nan$|^n\/a$/i.test(raw)) text++;
        continue;
      }
      numbers++;
      if (col.signal) values.push([col, value]);
    }
    // A row of words where numbers belong (a footer, a note, a line cut in half by the app) is garbage.
    if (text > 0 && numbers === 0) {
      skippedRows++;
      continue;
    }
    rows++;
    if (Number.isNaN(firstTime)) firstTime = time;
    for (const [col, value] of values) collector.add(col.signal!, time, col.convert(value));
  }
  const warnings: string[] = [];
  for (const [key, n] of collector.implausible)
    warnings.push(`${n} value(s) of ${key} outside its SAE J1979 range were dropped`);
  return {
    readings: collector.readings(),
    columns: resolved.flatMap((r) => (r ? [r.column] : [])),
    warnings,
    rows,
    skippedRows,
    firstTime,
  };
}
