import { ClutchError } from '@clutch/contracts';

/**
 * The MFA error catalogue. The codes are the API's catalogue codes too (api/src/errors.ts), so the
 * HTTP edge answers them without translation; the messages here are the default details.
 */
export const mfaErrors = {
  MFA_VERIFICATION_FAILED: 'the second factor was not accepted',
  MFA_CHALLENGE_INVALID: 'the challenge is unknown, expired or already used',
  MFA_NOT_ENROLLED: 'no second factor is set up',
  MFA_ALREADY_ENROLLED: 'this second factor is already set up; disable it first',
  MFA_DELIVERY_FAILED: 'the code could not be sent',
  MFA_CHANNEL_UNAVAILABLE: 'this way of sending codes is not configured',
  VALIDATION_FAILED: 'the input is not valid',
} as const;

export type MfaErrorCode = keyof typeof mfaErrors;

export function mfaError(code: MfaErrorCode, message?: string, details?: Record<string, unknown>): ClutchError {
  return new ClutchError(code, message ?? mfaErrors[code], details);
}
