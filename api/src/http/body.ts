import type { Context } from 'koa';
import { apiError } from '../errors.js';

export interface BodyLimits {
  /** Largest accepted body. */
  maxBytes: number;
  /** The whole body must arrive within this time of the read starting (a slow sender ties up a socket). */
  timeoutMs: number;
}

export const DEFAULT_BODY_LIMITS: BodyLimits = { maxBytes: 256 * 1024, timeoutMs: 10_000 };

/**
 * Reads and parses a JSON request body. The route wrapper calls it only after authentication and
 * authorisation, so an anonymous caller costs no parsing and learns nothing from parse errors.
 * An empty body reads as `{}` (field-level validation errors then name what is missing). Only objects
 * and arrays at the top level, like co-body's strict mode, and no `__proto__` keys.
 */
export async function readJsonBody(ctx: Context, limits: BodyLimits = DEFAULT_BODY_LIMITS): Promise<unknown> {
  const declared = ctx.request.length;
  if (declared !== undefined && declared > limits.maxBytes) throw tooLarge(ctx, limits);
  const encoding = ctx.get('Content-Encoding').toLowerCase();
  if (encoding !== '' && encoding !== 'identity')
    throw apiError('UNSUPPORTED_MEDIA_TYPE', 'Compressed request bodies are not accepted');
  const raw = await readRawBody(ctx, { ...limits, tooLarge: () => tooLarge(ctx, limits), what: 'The request body' });
  const text = raw.toString('utf8');
  if (text.trim() === '') return {};
  const first = text.trimStart()[0];
  if (first !== '{' && first !== '[') throw apiError('BAD_REQUEST', 'The request body must be a JSON object or array');
  try {
    return JSON.parse(text, (key, value: unknown) => {
      if (key === '__proto__') throw new SyntaxError('__proto__ is not allowed');
      return value;
    }) as unknown;
  } catch {
    throw apiError('BAD_REQUEST', 'The request body is not valid JSON');
  }
}

function tooLarge(ctx: Context, limits: BodyLimits): Error {
  // The rest of the body is not read: close the connection rather than drain it.
  ctx.set('Connection', 'close');
  return apiError('PAYLOAD_TOO_LARGE', `The request body is larger than ${Math.round(limits.maxBytes / 1024)} KiB`);
}

/** How a raw body read names what it reads and refuses one that outgrows its limit. */
export interface RawBodyOptions extends BodyLimits {
  /** The error for a body beyond `maxBytes` (the caller closes the connection in it). */
  tooLarge: () => Error;
  /** What the messages call the body: "The request body", "The upload". */
  what: string;
}

/**
 * Reads a request's bytes up to `maxBytes` within `timeoutMs`: a body that grows beyond the limit is
 * cut off (not drained), a stalled or aborted sender ends the read with a problem.
 */
export function readRawBody(ctx: Context, options: RawBodyOptions): Promise<Buffer> {
  const req = ctx.req;
  if (req.readableEnded) return Promise.resolve(Buffer.alloc(0));
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (err?: Error): void => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
      if (err) {
        req.pause();
        reject(err);
      } else resolve(Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > options.maxBytes) finish(options.tooLarge());
      else chunks.push(chunk);
    };
    const onEnd = (): void => finish();
    const onError = (err: Error): void =>
      finish(apiError('BAD_REQUEST', `${options.what} could not be read: ${err.message}`));
    const onAborted = (): void => finish(apiError('BAD_REQUEST', `The client aborted ${options.what.toLowerCase()}`));
    const timer = setTimeout(() => {
      ctx.set('Connection', 'close');
      finish(apiError('REQUEST_TIMEOUT', `${options.what} did not arrive within ${options.timeoutMs / 1000} s`));
    }, options.timeoutMs);
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}
