import { ClutchError } from '@clutch/contracts';

/** The ml error catalogue: stable codes callers compare on (the API maps them to its own, api/src/errors.ts). */
export const mlErrors = {
  ML_MODEL_NOT_FOUND: 'no model with this id in the registry',
  ML_IMPORT_FORMAT_UNKNOWN: 'not a log format Clutch can import (Torque Pro, Car Scanner, OBD Auto Doctor, carOBD)',
  ML_IMPORT_EMPTY: 'the log holds no readings Clutch can import',
  ML_NORMAL_INVALID: 'stored vehicle normal is not a valid VehicleNormal',
} as const;

export type MlErrorCode = keyof typeof mlErrors;

/** An ml error: the catalogue's text, then what happened (`detail`), e.g. the id asked for. */
export function mlError(code: MlErrorCode, detail?: string, details?: Record<string, unknown>): ClutchError {
  return new ClutchError(code, detail ? `${mlErrors[code]}: ${detail}` : mlErrors[code], details);
}
