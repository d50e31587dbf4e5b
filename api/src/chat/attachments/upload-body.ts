import type { Context } from 'koa';
import { apiError } from '../../errors.js';
import { readRawBody } from '../../http/body.js';

/**
 * The raw bytes of an upload (`POST /chat/rooms/:id/attachments`). The route declares no JSON body,
 * so the router's JSON reader (256 KiB) never touches it; this reads the stream itself, after the
 * caller was authenticated and found to be a participant, up to `maxBytes`: a declared
 * Content-Length beyond it is refused before a byte is read, a body that grows beyond it is cut
 * off, and the connection closed rather than drained.
 */
export interface UploadLimits {
  maxBytes: number;
  /** The whole body must arrive within this time (a slow sender ties up a socket and memory). */
  timeoutMs: number;
}

const mib = (bytes: number): string => `${Math.round((bytes / 1024 / 1024) * 10) / 10} MB`;

export function uploadTooLarge(ctx: Pick<Context, 'set'>, maxBytes: number, what = 'The upload'): Error {
  ctx.set('Connection', 'close');
  return apiError('PAYLOAD_TOO_LARGE', `${what} is larger than ${mib(maxBytes)}`, { maxBytes });
}

export function readUpload(ctx: Context, limits: UploadLimits): Promise<Buffer> {
  const declared = ctx.request.length;
  if (declared !== undefined && declared > limits.maxBytes) return Promise.reject(uploadTooLarge(ctx, limits.maxBytes));
  const encoding = ctx.get('Content-Encoding').toLowerCase();
  if (encoding !== '' && encoding !== 'identity')
    return Promise.reject(apiError('UNSUPPORTED_MEDIA_TYPE', 'Compressed uploads are not accepted'));
  return readRawBody(ctx, { ...limits, tooLarge: () => uploadTooLarge(ctx, limits.maxBytes), what: 'The upload' });
}
