import { ClutchError } from '@clutch/contracts';

/** The identity error catalogue: stable codes the API and CLIs map to statuses and exit codes. */
export const identityErrors = {
  VEHICLE_NOT_FOUND: 'vehicle does not exist in this tenant',
  DEVICE_NOT_FOUND: 'device does not exist in this tenant',
  DEVICE_EXISTS: 'a device with this id already exists in this tenant',
  INVALID_ID: 'ids are 1-64 characters of A-Z a-z 0-9 _ -',
  INVALID_SCOPE: 'unknown API key scope',
  API_KEY_NOT_FOUND: 'API key does not exist in this tenant',
  API_KEY_EXPIRY_INVALID: 'an API key expiry must be in the future',
} as const;

export type IdentityErrorCode = keyof typeof identityErrors;

export function identityError(code: IdentityErrorCode, details?: Record<string, unknown>): ClutchError {
  return new ClutchError(code, identityErrors[code], details);
}
