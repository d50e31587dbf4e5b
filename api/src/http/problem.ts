import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import { apiErrors, isApiErrorCode, problemType, type ApiErrorCode } from '../errors.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** RFC 9457 problem details, plus our stable `code` and optional field-level `errors`. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ApiErrorCode;
  instance: string;
  errors?: unknown[];
  [extension: string]: unknown;
}

const RESERVED = new Set(['type', 'title', 'status', 'detail', 'code', 'instance', 'errors']);

interface ErrorLike {
  code?: unknown;
  message?: unknown;
  details?: unknown;
  status?: unknown;
  expose?: unknown;
}

/**
 * Turns anything thrown into a problem. Only catalogue codes are trusted (matched by `code`, never
 * `instanceof`, so errors from other packages or realms map the same way); everything else is a 500
 * whose message stays in the log, because internal messages can carry SQL or paths.
 */
export function toProblem(err: unknown, instance: string): { problem: Problem; internal: boolean } {
  const e: ErrorLike = typeof err === 'object' && err !== null ? (err as ErrorLike) : {};
  let code: ApiErrorCode = 'INTERNAL';
  let detail: string = apiErrors.INTERNAL.title;
  let internal = true;
  if (isApiErrorCode(e.code)) {
    code = e.code;
    detail = typeof e.message === 'string' && e.message ? e.message : apiErrors[code].title;
    internal = code === 'INTERNAL';
  } else if (e.expose === true && e.status === 413) {
    code = 'PAYLOAD_TOO_LARGE';
    detail = typeof e.message === 'string' ? e.message : apiErrors.PAYLOAD_TOO_LARGE.title;
    internal = false;
  } else if (e.expose === true && typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    // Framework client errors (malformed body, URI): safe to show, but not a catalogue code of their own.
    code = 'BAD_REQUEST';
    detail = typeof e.message === 'string' ? e.message : apiErrors.BAD_REQUEST.title;
    internal = false;
  }
  const spec = apiErrors[code];
  const problem: Problem = { type: problemType(code), title: spec.title, status: spec.status, detail, code, instance };
  if (!internal && typeof e.details === 'object' && e.details !== null) {
    for (const [key, value] of Object.entries(e.details)) {
      if (key === 'errors' && Array.isArray(value)) problem.errors = value;
      else if (!RESERVED.has(key)) problem[key] = value;
    }
  }
  return { problem, internal };
}

/** The one place where errors become HTTP responses. Mount it first. */
export function problemMiddleware(logger: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      const { problem, internal } = toProblem(err, ctx.originalUrl);
      if (internal) logger.error({ err, method: ctx.method, url: ctx.originalUrl }, 'request failed');
      ctx.status = problem.status;
      // RFC 9110 §11.6.1: a 401 names the scheme; RFC 6750 §3 adds the error for a token that failed.
      if (problem.status === 401) {
        const presented = ctx.get('Authorization') !== '';
        ctx.set('WWW-Authenticate', presented ? 'Bearer realm="clutch", error="invalid_token"' : 'Bearer realm="clutch"');
      }
      // RFC 9110 §10.2.3: a 429 (rate limits) says when to come back.
      if (problem.status === 429 && typeof problem.retryAfterSeconds === 'number') ctx.set('Retry-After', String(problem.retryAfterSeconds));
      ctx.type = PROBLEM_CONTENT_TYPE;
      ctx.body = problem;
    }
  };
}
