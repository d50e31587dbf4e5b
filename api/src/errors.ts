import { ClutchError } from '@clutch/contracts';

export interface ErrorSpec {
  readonly status: number;
  /** Short, stable summary; the per-occurrence explanation goes in `detail`. */
  readonly title: string;
}

/**
 * Every error the API can answer with. Codes are part of the public contract: clients branch on
 * `code`, so never rename one; add a new code instead.
 */
export const apiErrors = {
  VALIDATION_FAILED: { status: 400, title: 'The request is not valid' },
  IDEMPOTENCY_KEY_INVALID: { status: 400, title: 'Invalid Idempotency-Key header' },
  SIGNAL_UNKNOWN: { status: 400, title: 'Unknown signal' },
  TIME_RANGE_INVALID: { status: 400, title: 'Invalid time range' },
  BAD_REQUEST: { status: 400, title: 'Bad request' },
  INVALID_ID: { status: 400, title: 'Invalid identifier' },
  INVALID_SCOPE: { status: 400, title: 'Unknown API key scope' },
  UNAUTHENTICATED: { status: 401, title: 'Authentication required' },
  FORBIDDEN: { status: 403, title: 'Not allowed' },
  VEHICLE_NOT_FOUND: { status: 404, title: 'Vehicle not found' },
  TENANT_NOT_FOUND: { status: 404, title: 'Tenant not found' },
  DEVICE_NOT_FOUND: { status: 404, title: 'Device not found' },
  API_KEY_NOT_FOUND: { status: 404, title: 'API key not found' },
  COMMAND_NOT_FOUND: { status: 404, title: 'Command not found' },
  DEAD_LETTER_NOT_FOUND: { status: 404, title: 'Dead letter not found' },
  MODEL_NOT_FOUND: { status: 404, title: 'Model not found' },
  JOB_NOT_FOUND: { status: 404, title: 'Job not found' },
  ROUTE_NOT_FOUND: { status: 404, title: 'No such endpoint' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  REQUEST_TIMEOUT: { status: 408, title: 'Request body not received in time' },
  DEVICE_EXISTS: { status: 409, title: 'Device already exists' },
  IDEMPOTENCY_KEY_IN_USE: { status: 409, title: 'A request with this idempotency key is still being processed' },
  NO_DEVICE: { status: 409, title: 'Vehicle has no device' },
  DEAD_LETTER_REPLAYED: { status: 409, title: 'Dead letter already replayed' },
  DATASET_UNAVAILABLE: { status: 409, title: 'Training data set not available' },
  RETRAIN_RUNNING: { status: 409, title: 'A retrain is already running' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Request body too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  HOST_NOT_ALLOWED: { status: 421, title: 'Host not served here' },
  API_KEY_EXPIRY_INVALID: { status: 422, title: 'API key expiry is not in the future' },
  IDEMPOTENCY_KEY_REUSED: { status: 422, title: 'Idempotency key reused for a different request' },
  SUBSCRIPTION_LIMIT: { status: 429, title: 'Too many subscriptions' },
  RATE_LIMITED: { status: 429, title: 'Too many requests' },
  INTERNAL: { status: 500, title: 'Internal server error' },
  NOT_IMPLEMENTED: { status: 501, title: 'Not implemented' },
  COMMAND_DELIVERY_FAILED: { status: 502, title: 'Command could not be delivered' },
  COMMANDS_UNAVAILABLE: { status: 503, title: 'Commands are not available' },
  REPLAY_UNAVAILABLE: { status: 503, title: 'Dead-letter replay is not available' },
} as const satisfies Record<string, ErrorSpec>;

export type ApiErrorCode = keyof typeof apiErrors;

/** Where the human-readable description of each problem type lives (RFC 9457 `type`). */
export const PROBLEM_TYPE_BASE = 'https://clutch.dev/problems/';

export function isApiErrorCode(code: unknown): code is ApiErrorCode {
  return typeof code === 'string' && Object.hasOwn(apiErrors, code);
}

export function problemType(code: ApiErrorCode): string {
  return PROBLEM_TYPE_BASE + code.toLowerCase().replaceAll('_', '-');
}

/** A domain error from the catalogue; services throw these, the HTTP edge maps them by `code`. */
export function apiError(code: ApiErrorCode, message?: string, details?: Record<string, unknown>): ClutchError {
  return new ClutchError(code, message ?? apiErrors[code].title, details);
}
