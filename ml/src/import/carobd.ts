import { signalByKey } from '@clutch/contracts';
import { CAROBD_COLUMNS, parseCarObdCsv } from '../dataset/carobd.js';
import { FRAME_MS } from '../features/frames.js';
import { createCollector } from './collect.js';
import { splitFields } from './csv.js';
import type { ParsedLog } from './types.js';

/** The carOBD header: `ENGINE_RUN_TINE (),ENGINE_RPM (),VEHICLE_SPEED (),...` (SOURCE.md of the data set). */
export function isCarObdHeader(fields: readonly string[]): boolean {
  return fields.includes('ENGINE_RPM ()') && fields.includes('VEHICLE_SPEED ()');
}

/**
 * The carOBD layout (also what the KIT drives were converted to): 27 Mode 01 columns in SAE units,
 * no clock; row i is at i × 500 ms (SOURCE.md), read by the shared carOBD parser.
 */
export function parseCarObd(text: string): ParsedLog {
  const { rows, dropped } = parseCarObdCsv(text);
  const header = splitFields(text.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '', ',');
  const signals = CAROBD_COLUMNS.map((key) => signalByKey(key)!);
  const collector = createCollector();
  rows.forEach((row, i) => {
    signals.forEach((signal, c) => {
      const v = row[c];
      if (v !== undefined && Number.isFinite(v)) collector.add(signal, i * FRAME_MS, v);
    });
  });
  const warnings = ['carOBD files carry no clock: row i is at i × 500 ms from the start'];
  for (const [k, n] of collector.implausible)
    warnings.push(`${n} value(s) of ${k} outside its SAE J1979 range were dropped`);
  return {
    format: 'carobd',
    readings: collector.readings(),
    startedAt: null,
    columns: CAROBD_COLUMNS.map((key, c) => ({ source: header[c] ?? key, signal: key, unit: signalByKey(key)!.unit })),
    warnings,
    rows: rows.length,
    skippedRows: dropped,
  };
}
