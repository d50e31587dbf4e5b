import { detectLogFormat, isLogFormat, parseVehicleLog } from '../import/index.js';
import type { LogImporter } from './cars.js';

/** The app-log importer (Torque Pro, Car Scanner, OBD Auto Doctor) as the evaluation reads it. */
export const appLogImporter: LogImporter = {
  detect: (text, fileName) => detectLogFormat(text, fileName),
  parse(text, format, fileName) {
    if (!isLogFormat(format)) throw new Error(`${fileName}: unknown log format ${format}`);
    const parsed = parseVehicleLog(text, { format, fileName });
    return { readings: parsed.readings, startedAt: parsed.startedAt };
  },
};
