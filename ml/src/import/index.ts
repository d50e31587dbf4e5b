import { mlError } from '../errors.js';
import { parseCarScanner, isCarScannerHeader } from './car-scanner.js';
import { parseCarObd, isCarObdHeader } from './carobd.js';
import { detectDelimiter, splitFields, textLines } from './csv.js';
import { isObdAutoDoctorHeader, parseObdAutoDoctor } from './obd-auto-doctor.js';
import { isTorqueHeader, parseTorque } from './torque.js';
import { LOG_FORMATS, type LogFormat, type ParsedLog } from './types.js';

export { LOG_FORMATS, type ImportedColumn, type LogFormat, type ParsedLog } from './types.js';

/**
 * Importing the logs owners and shops already have (issue 19 §4): Torque Pro, Car Scanner ELM OBD2,
 * OBD Auto Doctor CSV exports and the carOBD layout, into readings with catalogue keys and units.
 * docs/imports.md lists the columns and units each format maps.
 */

function headerFields(text: string): string[] {
  const header = textLines(text).find((l) => l.trim() !== '') ?? '';
  return splitFields(header, detectDelimiter(header));
}

/** Which app wrote this file, from its header line (the file name is not needed); null when none. */
export function detectLogFormat(text: string, _fileName?: string): LogFormat | null {
  const fields = headerFields(text);
  if (isCarScannerHeader(fields)) return 'car-scanner';
  if (isCarObdHeader(fields)) return 'carobd';
  if (isTorqueHeader(fields)) return 'torque';
  if (isObdAutoDoctorHeader(fields)) return 'obd-auto-doctor';
  return null;
}

export function isLogFormat(value: unknown): value is LogFormat {
  return typeof value === 'string' && (LOG_FORMATS as readonly string[]).includes(value);
}

/**
 * Parses a log into readings. Throws ML_IMPORT_FORMAT_UNKNOWN when the format is neither given nor
 * recognised, ML_IMPORT_EMPTY when the file has no data rows or no column is a catalogue signal.
 */
export function parseVehicleLog(text: string, options: { format?: LogFormat; fileName?: string } = {}): ParsedLog {
  const format = options.format ?? detectLogFormat(text, options.fileName);
  if (format === null) {
    const header = headerFields(text).slice(0, 6).join(', ');
    throw mlError(
      'ML_IMPORT_FORMAT_UNKNOWN',
      `the header (${header || 'empty'}) is none of ${LOG_FORMATS.join(', ')}`,
      { formats: [...LOG_FORMATS] },
    );
  }
  const lines = textLines(text);
  const parsed =
    format === 'torque'
      ? parseTorque(lines)
      : format === 'car-scanner'
        ? parseCarScanner(lines, options.fileName)
        : format === 'obd-auto-doctor'
          ? parseObdAutoDoctor(lines, options.fileName)
          : parseCarObd(text);
  if (parsed.rows === 0) throw mlError('ML_IMPORT_EMPTY', `the ${format} file has no data rows`, { format });
  if (parsed.readings.length === 0) {
    const skipped = parsed.columns.filter((c) => c.signal === null).map((c) => c.source);
    throw mlError(
      'ML_IMPORT_EMPTY',
      `no value of the ${format} file is a catalogue signal (columns: ${skipped.slice(0, 8).join(', ')})`,
      { format, columns: skipped },
    );
  }
  if (parsed.skippedRows > 0) parsed.warnings.push(`${parsed.skippedRows} unreadable row(s) skipped`);
  return parsed;
}
