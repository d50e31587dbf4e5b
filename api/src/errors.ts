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
  SIGNAL_UNKNOWN: { status: 400, title: 'Unknown signal' },
  TIME_RANGE_INVALID: { status: 400, title: 'Invalid time range' },
  BAD_REQUEST: { status: 400, title: 'Bad request' },
  VEHICLE_NOT_FOUND: { status: 404, title: 'Vehicle not found' },
  ROUTE_NOT_FOUND: { status: 404, title: 'No such endpoint' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  SUBSCRIPTION_LIMIT: { status: 429, title: 'Too many subscriptions' },
  INTERNAL: { status: 500, title: 'Internal server error' },
  NOT_IMPLEMENTED: { status: 501, title: 'Not implemented' },
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
