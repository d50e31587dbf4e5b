import { readFileSync } from 'node:fs';
import {
  catalogueLocales,
  catalogueUrl,
  createTranslator,
  negotiateLocale,
  parseAcceptLanguage,
  pseudoLocales,
  sourceLocale,
  type Catalogue,
  type Translator,
} from '@clutch/i18n';
import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import {
  apiErrors,
  foreignErrorCode,
  isApiErrorCode,
  problemTitle,
  problemType,
  type ApiErrorCode,
} from '../errors.js';

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

// Pseudo-locales too: a tester sends `Accept-Language: en-XA` to see which texts come from the catalogue.
const LOCALES = [...catalogueLocales, ...pseudoLocales];
const translators = new Map<string, Translator>();

function readCatalogue(locale: string): Catalogue {
  if (locale === sourceLocale || !catalogueLocales.includes(locale)) return {};
  try {
    return JSON.parse(readFileSync(catalogueUrl(locale), 'utf8')) as Catalogue;
  } catch {
    return {}; // English titles are better than no answer
  }
}

/** The translator for a request's Accept-Language (English when nothing matches); one per locale, kept. */
export function problemTranslator(acceptLanguage: string | undefined): Translator {
  const locale = negotiateLocale(parseAcceptLanguage(acceptLanguage), LOCALES, sourceLocale);
  let i18n = translators.get(locale);
  if (!i18n) translators.set(locale, (i18n = createTranslator(locale, readCatalogue(locale))));
  return i18n;
}

const english = problemTranslator(undefined);

/**
 * Turns anything thrown into a problem. Only catalogue codes are trusted (matched by `code`, never
 * `instanceof`, so errors from other packages or realms map the same way); everything else is a 500
 * whose message stays in the log, because internal messages can carry SQL or paths. The title is in the
 * translator's language; the detail is what the code wrote (it quotes input), in whatever language that is.
 */
export function toProblem(
  err: unknown,
  instance: string,
  i18n: Translator = english,
): { problem: Problem; internal: boolean } {
  const e: ErrorLike = typeof err === 'object' && err !== null ? (err as ErrorLike) : {};
  let code: ApiErrorCode = 'INTERNAL';
  let detail: string | undefined;
  let internal = true;
  let ownDetails = false;
  const foreign = foreignErrorCode(e.code);
  if (isApiErrorCode(e.code)) {
    code = e.code;
    detail = typeof e.message === 'string' && e.message ? e.message : undefined;
    internal = code === 'INTERNAL';
    ownDetails = !internal;
  } else if (foreign) {
    // Another package's code: its message was written for developers, so only the API code's title shows.
    code = foreign;
    internal = code === 'INTERNAL';
  } else if (e.expose === true && e.status === 413) {
    code = 'PAYLOAD_TOO_LARGE';
    detail = typeof e.message === 'string' ? e.message : undefined;
    internal = false;
  } else if (e.expose === true && typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    // Framework client errors (malformed body, URI): safe to show, but not a catalogue code of their own.
    code = 'BAD_REQUEST';
    detail = typeof e.message === 'string' ? e.message : undefined;
    internal = false;
  }
  const title = problemTitle(code, i18n);
  // apiError(code) without a message carries the English title: that is no detail of the code's own, so
  // the caller gets the title in their language rather than English.
  if (detail === undefined || detail === apiErrors[code].title) detail = title;
  const problem: Problem = { type: problemType(code), title, status: apiErrors[code].status, detail, code, instance };
  if (ownDetails && typeof e.details === 'object' && e.details !== null) {
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
      const i18n = problemTranslator(ctx.get('Accept-Language'));
      const { problem, internal } = toProblem(err, ctx.originalUrl, i18n);
      if (internal) logger.error({ err, method: ctx.method, url: ctx.originalUrl }, 'request failed');
      ctx.status = problem.status;
      // The title is in the negotiated language: say which (RFC 9110 §8.5), and that caches must key on it.
      ctx.set('Content-Language', i18n.locale);
      ctx.vary('Accept-Language');
      // RFC 9110 §11.6.1: a 401 names the scheme; RFC 6750 §3 adds the error for a token that failed.
      if (problem.status === 401) {
        const presented = ctx.get('Authorization') !== '';
        ctx.set(
          'WWW-Authenticate',
          presented ? 'Bearer realm="clutch", error="invalid_token"' : 'Bearer realm="clutch"',
        );
      }
      // RFC 9110 §10.2.3: a 429 (rate limits) says when to come back.
      if (problem.status === 429 && typeof problem.retryAfterSeconds === 'number')
        ctx.set('Retry-After', String(problem.retryAfterSeconds));
      ctx.type = PROBLEM_CONTENT_TYPE;
      ctx.body = problem;
    }
  };
}
