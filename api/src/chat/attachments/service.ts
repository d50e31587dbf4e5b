import { createHash, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { PLATFORM_TENANT } from '@clutch/identity';
import type { Principal } from '../../auth/principal.js';
import type { RequestPolicy } from '../../auth/policy.js';
import type { Scope, SystemUse } from '../../auth/scope.js';
import { apiError } from '../../errors.js';
import type { ObjectStorage } from '../../storage/object-storage.js';
import { allowedOnRoom } from '../access.js';
import { attachmentName, declaredType, detectType, isImageType, type AttachmentType } from './detect.js';
import { processImage, UnreadableImageError } from './images.js';
import {
  deleteUnclaimed,
  insertAttachment,
  readableAttachment,
  sentAttachment,
  type AttachmentRow,
} from './repository.js';
import { attachmentView, DEFAULT_PREFIX, type ChatAttachment } from './view.js';

/** Files (PDF, text) as uploaded; images before compression may be larger. */
export const MAX_FILE_BYTES = 10 * 1024 * 1024;
export const MAX_IMAGE_BYTES = 20 * 1024 * 1024;
/**
 * The whole upload must arrive within this time. Below the idempotency lock timeout (60 s), so a
 * client's retry with the same Idempotency-Key never takes over a claim whose upload still runs.
 */
export const UPLOAD_TIMEOUT_MS = 50_000;

export interface AttachmentCaller {
  scope: Scope;
  principal: Principal;
  policy: RequestPolicy;
  /** An audited system scope for this caller (moderators reading rooms they are not in). */
  administer?: ((use: Omit<SystemUse, 'actor' | 'ip'>) => Scope) | undefined;
}

export interface UploadInput {
  /** The client's Content-Type header: compared with what the bytes are, never believed. */
  contentType: string | undefined;
  /** `?name=`: the file name the client had. */
  name: string | undefined;
  /** Reads the body, refusing more than `maxBytes` (413). Called only once the caller may upload. */
  read(maxBytes: number): Promise<Buffer>;
  /**
   * Runs the rest of the upload once the bytes are read (Idempotency-Key: at most once per key, the
   * bytes' digest in the request's fingerprint); undefined when a stored response was replayed.
   */
  once?(raw: Buffer, work: () => Promise<ChatAttachment>): Promise<ChatAttachment | undefined>;
}

export interface Download {
  bytes: Buffer;
  /** As served: the detected type (text with its charset). */
  contentType: string;
  name: string;
  sha256: string;
  /** Images are shown inline; documents are downloaded. */
  disposition: 'inline' | 'attachment';
}

const roomNotFound = (roomId: string) => apiError('CHAT_ROOM_NOT_FOUND', undefined, { roomId });
const attachmentNotFound = (id: string) => apiError('CHAT_ATTACHMENT_NOT_FOUND', undefined, { attachmentId: id });

function unsupported(detail: string, extra: Record<string, unknown> = {}): Error {
  return apiError('UNSUPPORTED_MEDIA_TYPE', detail, {
    accepted: ['image/jpeg', 'image/png', 'image/webp', 'image/gif', 'application/pdf', 'text/plain'],
    ...extra,
  });
}

/**
 * Uploads and downloads of chat attachments. Bytes go to the object storage, facts to
 * chat_attachments; message creation claims uploads (claims.ts).
 */
export class ChatAttachmentsService {
  constructor(
    private readonly deps: {
      storage: ObjectStorage;
      /** The chat service's check of a write into a room (ChatService.enterToWrite): the room, or 404. */
      enterToWrite(caller: AttachmentCaller, roomId: string): Promise<{ tenantId: string }>;
      logger?: Pick<Logger, 'warn' | 'error'> | undefined;
      prefix?: string | undefined;
    },
  ) {}

  private get prefix(): string {
    return this.deps.prefix ?? DEFAULT_PREFIX;
  }

  /**
   * One upload into a room the caller takes part in (and may write to). The room is checked before
   * a byte is read; the type is found from the bytes (415 when it is none of the accepted ones, or
   * not what the header said); images are re-encoded without metadata (images.ts). The row is
   * written before the object: a crash in between leaves an unclaimed row the cleanup removes with
   * its (missing) object, never an object nothing refers to. No transaction is held while the body
   * arrives and sharp works.
   */
  async upload(caller: AttachmentCaller, roomId: string, input: UploadInput): Promise<ChatAttachment | undefined> {
    const user = this.requireUser(caller.principal);
    // Checked and joined as a post is (chat:write; authorised staff join on their first write).
    const room = await this.deps.enterToWrite(caller, roomId);

    const declared = declaredType(input.contentType);
    if (declared === 'unaccepted')
      throw unsupported(
        `${input.contentType} is not accepted: send a JPEG, PNG, WebP or GIF image, a PDF or plain text`,
      );
    const raw = await input.read(MAX_IMAGE_BYTES);
    return input.once
      ? input.once(raw, () => this.store(caller, roomId, room.tenantId, user, input, raw, declared))
      : this.store(caller, roomId, room.tenantId, user, input, raw, declared);
  }

  /** Checks what the bytes are, re-encodes images, and stores the row and then the object. */
  private async store(
    caller: AttachmentCaller,
    roomId: string,
    roomTenantId: string,
    user: { userId: string },
    input: UploadInput,
    raw: Buffer,
    declared: ReturnType<typeof declaredType>,
  ): Promise<ChatAttachment> {
    const detected = detectType(raw);
    if (!detected) throw unsupported('The bytes are not a JPEG, PNG, WebP or GIF image, a PDF or plain UTF-8 text');
    if (declared !== 'unknown' && declared !== detected)
      throw unsupported(`The bytes are ${detected}, not ${declared} as the Content-Type header says`, {
        detected,
        declared,
      });

    let stored: { bytes: Buffer; contentType: AttachmentType; width: number | null; height: number | null };
    if (isImageType(detected)) {
      try {
        stored = await processImage(raw, detected);
      } catch (err) {
        if (err instanceof UnreadableImageError)
          throw unsupported(`The ${detected} image cannot be read (damaged, or larger than 50 megapixels)`);
        throw err;
      }
    } else {
      if (raw.length > MAX_FILE_BYTES)
        throw apiError(
          'PAYLOAD_TOO_LARGE',
          `Files other than images may be at most ${MAX_FILE_BYTES / 1024 / 1024} MB`,
          {
            maxBytes: MAX_FILE_BYTES,
          },
        );
      stored = { bytes: raw, contentType: detected, width: null, height: null };
    }

    const id = randomUUID();
    const row = {
      id,
      roomId,
      uploaderUserId: user.userId,
      storageKey: `chat/${roomId}/${id}`,
      name: attachmentName(input.name, stored.contentType),
      contentType: stored.contentType,
      size: stored.bytes.length,
      width: stored.width,
      height: stored.height,
      sha256: createHash('sha256').update(stored.bytes).digest(),
    };
    const inserted = await caller.scope.run((q) => insertAttachment(q, row));
    if (!inserted) throw roomNotFound(roomId);
    try {
      await this.deps.storage.put(row.storageKey, stored.bytes, { contentType: stored.contentType });
    } catch (err) {
      await caller.scope
        .run((q) => deleteUnclaimed(q, id))
        .catch((cleanupErr: unknown) => {
          this.deps.logger?.warn({ err: cleanupErr, attachmentId: id }, 'upload row left for the cleanup job');
        });
      throw err;
    }
    return attachmentView({ ...row, tenantId: roomTenantId, messageId: null, createdAt: new Date() }, this.prefix);
  }

  /**
   * The bytes of an attachment for a participant of its room: one a message carries (not deleted),
   * or the caller's own upload not yet sent. chat:moderate staff (platform support, the admin
   * token) read what a message carries in any room, like the chat service's moderation reads: in
   * an audited system scope (`chat.attachment.read`). Everyone else gets 404, whether or not it exists.
   */
  async download(caller: AttachmentCaller, id: string): Promise<Download> {
    const found = await this.participantsAttachment(caller, id);
    const row = found ?? (await this.moderatedAttachment(caller, id));
    if (!row) throw attachmentNotFound(id);
    const object = await this.deps.storage.get(row.storageKey);
    if (!object) {
      this.deps.logger?.error({ attachmentId: id, key: row.storageKey }, 'chat attachment has no stored object');
      throw attachmentNotFound(id);
    }
    return {
      bytes: object.bytes,
      contentType: row.contentType === 'text/plain' ? 'text/plain; charset=utf-8' : row.contentType,
      name: row.name,
      sha256: row.sha256.toString('hex'),
      disposition: isImageType(row.contentType) ? 'inline' : 'attachment',
    };
  }

  /** A participant's view: in their own scope, the room's policy deciding chat:read. */
  private async participantsAttachment(caller: AttachmentCaller, id: string): Promise<AttachmentRow | undefined> {
    if (caller.principal.kind !== 'user') return undefined;
    const { userId, tenantId } = caller.principal;
    const found = await caller.scope.run((q) => readableAttachment(q, id, userId, tenantId));
    if (!found || found.messageDeleted) return undefined;
    if (!(await allowedOnRoom(caller.policy, caller.principal, 'chat:read', found.room))) return undefined;
    return found;
  }

  /**
   * Moderation's view (C1's rule, api/src/chat/service.ts): the admin token in its own unconfined
   * scope; platform staff holding chat:moderate in an audited system scope. Partner API keys are
   * refused (403), as on every chat route.
   */
  private async moderatedAttachment(caller: AttachmentCaller, id: string): Promise<AttachmentRow | undefined> {
    const { principal } = caller;
    if (principal.kind === 'partner') throw apiError('FORBIDDEN', 'Chat attachments are for signed-in users');
    if (principal.kind === 'admin') return caller.scope.run((q) => sentAttachment(q, id));
    if (principal.tenantId !== PLATFORM_TENANT || !caller.administer) return undefined;
    if (!(await caller.policy.decide('chat:moderate')).allow) return undefined;
    return caller
      .administer({ action: 'chat.attachment.read', target: `chat-attachment:${id}` })
      .run((q) => sentAttachment(q, id));
  }

  /** Chat is between people: API keys and devices have no place in a room. */
  private requireUser(principal: Principal): { userId: string; tenantId: string } {
    if (principal.kind !== 'user') throw apiError('FORBIDDEN', 'Chat attachments are for signed-in users');
    return { userId: principal.userId, tenantId: principal.tenantId };
  }
}
