import { ClutchError } from '@clutch/contracts';
import { createTranslator, type Translator } from '@clutch/i18n';

export interface ErrorSpec {
  readonly status: number;
  /**
   * Short, stable summary in English (the per-occurrence explanation goes in `detail`). It comes from
   * the message catalogue (`problem.<CODE>.title` in i18n/messages/en.json), where translations live too.
   */
  readonly title: string;
}

const statuses = {
  VALIDATION_FAILED: { status: 400 },
  IDEMPOTENCY_KEY_INVALID: { status: 400 },
  SIGNAL_UNKNOWN: { status: 400 },
  TIME_RANGE_INVALID: { status: 400 },
  BAD_REQUEST: { status: 400 },
  INVALID_ID: { status: 400 },
  INVALID_SCOPE: { status: 400 },
  INVALID_CONDITION: { status: 400 },
  ACCOUNT_TOKEN_INVALID: { status: 400 },
  UNAUTHENTICATED: { status: 401 },
  PROVIDER_DECLINED: { status: 402 },
  MFA_VERIFICATION_FAILED: { status: 401 },
  MFA_CHALLENGE_INVALID: { status: 401 },
  FORBIDDEN: { status: 403 },
  RISK_BLOCKED: { status: 403 },
  CUSTOMER_SUSPENDED: { status: 403 },
  PERMISSION_ESCALATION: { status: 403 },
  CSRF_TOKEN_MISSING: { status: 403 },
  MFA_STEP_UP_REQUIRED: { status: 403 },
  VEHICLE_NOT_FOUND: { status: 404 },
  IMPORT_NOT_FOUND: { status: 404 },
  TENANT_NOT_FOUND: { status: 404 },
  SESSION_NOT_FOUND: { status: 404 },
  USER_NOT_FOUND: { status: 404 },
  DEVICE_NOT_FOUND: { status: 404 },
  API_KEY_NOT_FOUND: { status: 404 },
  ROLE_NOT_FOUND: { status: 404 },
  GRANT_NOT_FOUND: { status: 404 },
  SHARE_NOT_FOUND: { status: 404 },
  BOOKING_NOT_FOUND: { status: 404 },
  NOTIFICATION_NOT_FOUND: { status: 404 },
  NOTIFICATION_DEVICE_NOT_FOUND: { status: 404 },
  WEB_PUSH_NOT_CONFIGURED: { status: 404 },
  CHAT_ROOM_NOT_FOUND: { status: 404 },
  CHAT_MESSAGE_NOT_FOUND: { status: 404 },
  CHAT_ATTACHMENT_NOT_FOUND: { status: 404 },
  FRAUD_ASSESSMENT_NOT_FOUND: { status: 404 },
  FRAUD_ALERT_NOT_FOUND: { status: 404 },
  FRAUD_BLOCK_NOT_FOUND: { status: 404 },
  PAYMENT_NOT_FOUND: { status: 404 },
  WALLET_NOT_FOUND: { status: 404 },
  PAYOUT_NOT_FOUND: { status: 404 },
  INSTALLMENT_PLAN_NOT_FOUND: { status: 404 },
  REPAIR_ORDER_NOT_FOUND: { status: 404 },
  SHOP_RESOURCE_NOT_FOUND: { status: 404 },
  PARTNER_NOT_FOUND: { status: 404 },
  PARTNER_SERVICE_NOT_FOUND: { status: 404 },
  PART_NOT_FOUND: { status: 404 },
  PHOTO_NOT_FOUND: { status: 404 },
  ALERT_NOT_FOUND: { status: 404 },
  ESTIMATE_NOT_FOUND: { status: 404 },
  PARTS_ORDER_NOT_FOUND: { status: 404 },
  REVIEW_NOT_FOUND: { status: 404 },
  CHECK_IN_NOT_FOUND: { status: 404 },
  COMMAND_NOT_FOUND: { status: 404 },
  BIOMETRIC_KEY_NOT_FOUND: { status: 404 },
  DEAD_LETTER_NOT_FOUND: { status: 404 },
  MODEL_NOT_FOUND: { status: 404 },
  JOB_NOT_FOUND: { status: 404 },
  ROUTE_NOT_FOUND: { status: 404 },
  METHOD_NOT_ALLOWED: { status: 405 },
  REQUEST_TIMEOUT: { status: 408 },
  DEVICE_EXISTS: { status: 409 },
  ROLE_EXISTS: { status: 409 },
  ROLE_BUILT_IN: { status: 409 },
  ROLE_IN_USE: { status: 409 },
  IDEMPOTENCY_KEY_IN_USE: { status: 409 },
  CHAT_LEAVE_NOT_ALLOWED: { status: 409 },
  NO_DEVICE: { status: 409 },
  DEAD_LETTER_REPLAYED: { status: 409 },
  DATASET_UNAVAILABLE: { status: 409 },
  RETRAIN_RUNNING: { status: 409 },
  EMAIL_TAKEN: { status: 409 },
  MFA_NOT_ENROLLED: { status: 409 },
  MFA_ALREADY_ENROLLED: { status: 409 },
  INVALID_TRANSITION: { status: 409 },
  TRANSITION_HAS_OWN_ROUTE: { status: 409 },
  SLOT_UNAVAILABLE: { status: 409 },
  HOLD_EXPIRED: { status: 409 },
  BOOKING_STATE_CONFLICT: { status: 409 },
  RESCHEDULE_TOO_LATE: { status: 409 },
  FRAUD_ALERT_REVIEWED: { status: 409 },
  SHOP_RESOURCE_IN_USE: { status: 409 },
  STOCK_INSUFFICIENT: { status: 409 },
  HOLD_ALREADY_RESOLVED: { status: 409 },
  PART_SKU_TAKEN: { status: 409 },
  PHOTO_LIMIT_REACHED: { status: 409 },
  CHECK_IN_EXISTS: { status: 409 },
  ESTIMATE_STATE_CONFLICT: { status: 409 },
  NOTIFICATION_STATE_CONFLICT: { status: 409 },
  PAYMENT_STATE_CONFLICT: { status: 409 },
  INSTALLMENT_PLAN_EXISTS: { status: 409 },
  INSTALLMENT_PLAN_CLOSED: { status: 409 },
  INSTALLMENT_PLAN_NOT_DEFAULTED: { status: 409 },
  PARTS_ORDER_STATE_CONFLICT: { status: 409 },
  REVIEW_NOT_ALLOWED: { status: 409 },
  REVIEW_EXISTS: { status: 409 },
  REVIEW_ANSWERED: { status: 409 },
  PAYLOAD_TOO_LARGE: { status: 413 },
  UNSUPPORTED_MEDIA_TYPE: { status: 415 },
  HOST_NOT_ALLOWED: { status: 421 },
  API_KEY_EXPIRY_INVALID: { status: 422 },
  ROLE_CYCLE: { status: 422 },
  ROLE_NOT_GRANTABLE: { status: 422 },
  SHARE_INVALID: { status: 422 },
  IMPORT_FORMAT_UNKNOWN: { status: 422 },
  IMPORT_EMPTY: { status: 422 },
  INSUFFICIENT_FUNDS: { status: 422 },
  TRANSFER_LIMIT_EXCEEDED: { status: 422 },
  BOOKING_SOURCE_INVALID: { status: 422 },
  NOTIFICATION_SCHEDULE_INVALID: { status: 422 },
  NOTIFICATION_SETTINGS_INVALID: { status: 422 },
  CHAT_PARTICIPANTS_INVALID: { status: 422 },
  CHAT_MENTION_INVALID: { status: 422 },
  CHAT_ATTACHMENT_INVALID: { status: 422 },
  ODOMETER_INVALID: { status: 422 },
  PHOTO_INVALID: { status: 422 },
  ESTIMATE_INVALID: { status: 422 },
  REFUND_EXCEEDS_CAPTURED: { status: 422 },
  COMMISSION_TIERS_INVALID: { status: 422 },
  INSTALLMENTS_NOT_AVAILABLE: { status: 422 },
  DECISION_INVALID: { status: 422 },
  PARTS_ORDER_INVALID: { status: 422 },
  PASSWORD_REJECTED: { status: 422 },
  IDEMPOTENCY_KEY_REUSED: { status: 422 },
  SUBSCRIPTION_LIMIT: { status: 429 },
  RATE_LIMITED: { status: 429 },
  INTERNAL: { status: 500 },
  NOT_IMPLEMENTED: { status: 501 },
  COMMAND_DELIVERY_FAILED: { status: 502 },
  PAYOUT_ACCOUNT_REFUSED: { status: 502 },
  MFA_DELIVERY_FAILED: { status: 502 },
  JOBS_UNAVAILABLE: { status: 503 },
  COMMANDS_UNAVAILABLE: { status: 503 },
  REPLAY_UNAVAILABLE: { status: 503 },
  MFA_CHANNEL_UNAVAILABLE: { status: 503 },
  PROVIDER_UNAVAILABLE: { status: 503 },
} as const satisfies Record<string, { status: number }>;

export type ApiErrorCode = keyof typeof statuses;

/** The catalogue key of a code's title; `t()` accepts only keys of en.json, so a code without one does not compile. */
export const problemTitleKey = (code: ApiErrorCode) => `problem.${code}.title` as const;

const english: Translator = createTranslator('en');

/** Every error the API can answer with: its status, and its English title from the catalogue. */
export const apiErrors: { readonly [C in ApiErrorCode]: ErrorSpec } = Object.fromEntries(
  (Object.keys(statuses) as ApiErrorCode[]).map((code) => [
    code,
    { status: statuses[code].status, title: english.t(problemTitleKey(code)) },
  ]),
) as { [C in ApiErrorCode]: ErrorSpec };

/** The title of a problem in the caller's language (English when the locale lacks it). */
export function problemTitle(code: ApiErrorCode, i18n: Translator = english): string {
  return i18n.t(problemTitleKey(code));
}

/**
 * Codes other packages raise that the API answers under one of its own codes. Their message and
 * details were written for developers (ids, paths, queue names), so the answer carries the API code's
 * title instead; services that want a better detail translate the error themselves (api/src/ai/service.ts).
 */
export const foreignErrorCodes: Readonly<Record<string, ApiErrorCode>> = {
  ML_MODEL_NOT_FOUND: 'MODEL_NOT_FOUND',
  // A log that cannot be imported (the upload's job records these on the import; the API checks the header itself).
  ML_IMPORT_FORMAT_UNKNOWN: 'IMPORT_FORMAT_UNKNOWN',
  ML_IMPORT_EMPTY: 'IMPORT_EMPTY',
  // A stored vehicle normal that does not parse: the car calibrates again (ingest), never a caller's fault.
  ML_NORMAL_INVALID: 'INTERNAL',
  // The job queue stopped (shutting down) or not yet started: worth retrying.
  JOBS_NOT_STARTED: 'JOBS_UNAVAILABLE',
  // Programming or configuration faults: nothing a caller can act on.
  QUEUE_NOT_DECLARED: 'INTERNAL',
  JOBS_DRIVER_UNSUPPORTED: 'INTERNAL',
  OUTBOX_TOPIC_INVALID: 'INTERNAL',
};

/** Where the human-readable description of each problem type lives (RFC 9457 `type`). */
export const PROBLEM_TYPE_BASE = 'https://clutch.dev/problems/';

export function isApiErrorCode(code: unknown): code is ApiErrorCode {
  return typeof code === 'string' && Object.hasOwn(statuses, code);
}

/** The API code a foreign code answers as, if it has one. */
export function foreignErrorCode(code: unknown): ApiErrorCode | undefined {
  return typeof code === 'string' && Object.hasOwn(foreignErrorCodes, code) ? foreignErrorCodes[code] : undefined;
}

export function problemType(code: ApiErrorCode): string {
  return PROBLEM_TYPE_BASE + code.toLowerCase().replaceAll('_', '-');
}

/** A domain error from the catalogue; services throw these, the HTTP edge maps them by `code`. */
export function apiError(code: ApiErrorCode, message?: string, details?: Record<string, unknown>): ClutchError {
  return new ClutchError(code, message ?? apiErrors[code].title, details);
}
