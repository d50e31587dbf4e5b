import { createCollector, resolveColumn, type ResolvedColumn } from './collect.js';
import { detectDelimiter, parseNumber, splitFields } from './csv.js';
import { normaliseName } from './columns.js';
import { dateFromFileName } from './times.js';
import type { ParsedLog } from './types.js';

/** Car Scanner's long layout: `"SECONDS";"PID";"VALUE";"UNITS"` (then optionally LATITUDE; LONGTITUDE). */
export function isCarScannerHeader(fields: readonly string[]): boolean {
  const names = fields.map(normaliseName);
  return names[0] === 'seconds' && names[1] === 'pid' && names[2] === 'value';
}

/**
 * Car Scanner ELM OBD2's CSV: one line per reading, `"SECONDS";"PID";"VALUE";"UNITS";`, the PID as
 * its display name, the unit the user chose. SECONDS counts from an origin of the app's own (the
 * day's midnight or the session's start), so only differences are used: the start comes from the file
 * name (`2024-05-12 21-36-00.csv`, read as UTC) when it has one, else times are ms from the first line.
 */
export function parseCarScanner(lines: readonly string[], fileName?: string): ParsedLog {
  const headerIndex = lines.findIndex((l) => l.trim() !== '');
  const delimiter = detectDelimiter(lines[headerIndex] ?? '');
  const header = splitFields(lines[headerIndex] ?? '', delimiter).map(normaliseName);
  const at = {
    seconds: header.indexOf('seconds'),
    pid: header.indexOf('pid'),
    value: header.indexOf('value'),
    units: header.indexOf('units'),
  };
  const byPid = new Map<string, ResolvedColumn>();
  const collector = createCollector();
  const fileDate = dateFromFileName(fileName);
  let first = Number.NaN;
  let rows = 0;
  let skippedRows = 0;
  const origin = fileDate?.hasTime ? fileDate.ms : 0;
  for (let li = headerIndex + 1; li < lines.length; li++) {
    const line = lines[li]!;
    if (line.trim() === '') continue;
    const fields = splitFields(line, delimiter);
    const seconds = parseNumber(fields[at.seconds] ?? '');
    const pid = fields[at.pid] ?? '';
    if (seconds === null || pid === '') {
      skippedRows++;
      continue;
    }
    rows++;
    const unit = at.units >= 0 ? (fields[at.units] ?? '') : '';
    const key = `${pid}\u0000${unit}`;
    let col = byPid.get(key);
    if (!col) byPid.set(key, (col = resolveColumn(unit ? `${pid} (${unit})` : pid, pid, unit || null)));
    const value = parseNumber(fields[at.value] ?? '');
    if (Number.isNaN(first)) first = seconds;
    if (col.signal && value !== null)
      collector.add(col.signal, origin + Math.round((seconds - first) * 1000), col.convert(value));
  }
  const warnings: string[] = [];
  if (origin === 0) warnings.push('the file name carries no start time: times are from the first line');
  else warnings.push('the start comes from the file name, which has no time zone: read as UTC');
  for (const [k, n] of collector.implausible)
    warnings.push(`${n} value(s) of ${k} outside its SAE J1979 range were dropped`);
  return {
    format: 'car-scanner',
    readings: collector.readings(),
    startedAt: origin === 0 || Number.isNaN(first) ? null : origin,
    columns: [...byPid.values()].map((c) => c.column),
    warnings,
    rows,
    skippedRows,
  };
}
