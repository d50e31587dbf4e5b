import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { ApiRouter } from '../../http/route.js';
import { readUpload } from './upload-body.js';
import { MAX_FILE_BYTES, MAX_IMAGE_BYTES, UPLOAD_TIMEOUT_MS, type ChatAttachmentsService } from './service.js';
import { chatAttachmentSchema } from './view.js';

/** The upload route's path below the API prefix; the CSRF guard lets its raw body through (app.ts). */
export const ATTACHMENT_UPLOAD_PATH = /^\/chat\/rooms\/[^/]+\/attachments$/;

/** RFC 6266: an ASCII fallback name plus the exact name in RFC 8187 encoding. */
export function contentDisposition(kind: 'inline' | 'attachment', name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  const exact = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${exact}`;
}

export function attachmentRoutes(router: ApiRouter, attachments: ChatAttachmentsService): void {
  router.route({
    method: 'post',
    path: '/chat/rooms/:id/attachments',
    tag: 'chat',
    summary: 'Upload a file or image into a room (raw body); a message then carries it by id',
    description:
      `The request body is the file itself (not JSON, not multipart), with its \`Content-Type\` and ` +
      `\`?name=\`. Accepted, by their bytes: JPEG, PNG, WebP, GIF (at most ${MAX_IMAGE_BYTES / 1024 / 1024} MB; ` +
      `stored upright, without metadata, at most 2048 px, as JPEG or WebP), PDF and plain UTF-8 text ` +
      `(at most ${MAX_FILE_BYTES / 1024 / 1024} MB). A header that names another type than the bytes are is 415. ` +
      `Send \`X-Requested-With\` (or a bearer token). Uploads no message claims within a day are deleted.`,
    access: { permission: 'chat:write', perResource: 'service' },
    params: z.object({ id: z.uuid() }),
    query: z.object({ name: z.string().min(1).max(255).optional() }),
    response: {
      status: 201,
      description: 'The stored attachment',
      schema: chatAttachmentSchema,
      headers: ['Location'],
    },
    errors: ['CHAT_ROOM_NOT_FOUND', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'REQUEST_TIMEOUT'],
    // The key's fingerprint holds the bytes' digest: the same key with other bytes is 422, and the
    // bytes are read only after the room check, so the router cannot fingerprint them before.
    idempotent: 'in-handler',
    handle: async ({ scope, principal, policy, params, query, ctx, idempotently }) => {
      const contentType = ctx.get('Content-Type') || undefined;
      return attachments.upload({ scope, principal, policy }, params.id, {
        contentType,
        name: query.name,
        read: (maxBytes) => readUpload(ctx, { maxBytes, timeoutMs: UPLOAD_TIMEOUT_MS }),
        once: (raw, work) =>
          idempotently({ sha256: createHash('sha256').update(raw).digest('hex'), contentType }, async () => {
            const attachment = await work();
            ctx.set('Location', attachment.url);
            return attachment;
          }),
      });
    },
  });

  router.route({
    method: 'get',
    path: '/chat/attachments/:id',
    tag: 'chat',
    summary: "An attachment's bytes (participants of its room only)",
    description:
      'Served with the type found at upload, `X-Content-Type-Options: nosniff`, and `Content-Disposition` ' +
      '(`inline` for images, `attachment` for documents). An upload no message carries yet is visible to its uploader only. ' +
      'chat:moderate staff read attachments of messages in any room (audited, `chat.attachment.read`).',
    access: { permission: 'chat:read', perResource: 'service' },
    params: z.object({ id: z.uuid() }),
    response: { status: 200, description: 'The bytes', headers: ['Content-Disposition', 'ETag'] },
    errors: ['CHAT_ATTACHMENT_NOT_FOUND'],
    handle: async ({ scope, principal, policy, administer, params, ctx }) => {
      const file = await attachments.download({ scope, principal, policy, administer }, params.id);
      ctx.type = file.contentType;
      ctx.set('X-Content-Type-Options', 'nosniff');
      ctx.set('Content-Disposition', contentDisposition(file.disposition, file.name));
      ctx.set('ETag', `"${file.sha256}"`);
      // The bytes never run as a page of ours, whatever a browser makes of them.
      ctx.set('Content-Security-Policy', "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox");
      return file.bytes;
    },
  });
}
