import type { Queryable } from '@clutch/db';
import { apiError } from '../../errors.js';
import { claim, ofMessages } from './repository.js';
import { attachmentView, DEFAULT_PREFIX, type ChatAttachment } from './view.js';

/** Attachments one message may carry. */
export const MAX_ATTACHMENTS_PER_MESSAGE = 10;

/**
 * Message creation's half of attachments (api/src/chat, C1): inside the message's transaction,
 * after its chat_messages row is inserted (the claim refers to it). Every id must be an upload of
 * `uploaderId` in `roomId` that no message has claimed yet; otherwise CHAT_ATTACHMENT_INVALID (422)
 * naming the ids, and the caller's transaction (the message with it) rolls back. Returns the
 * attachments in the order of `ids`.
 */
export async function claimAttachments(
  q: Queryable,
  input: { roomId: string; uploaderId: string; messageId: string; ids: readonly string[] },
  options: { prefix?: string } = {},
): Promise<ChatAttachment[]> {
  if (input.ids.length === 0) return [];
  if (input.ids.length > MAX_ATTACHMENTS_PER_MESSAGE)
    throw apiError('CHAT_ATTACHMENT_INVALID', `A message carries at most ${MAX_ATTACHMENTS_PER_MESSAGE} attachments`, {
      max: MAX_ATTACHMENTS_PER_MESSAGE,
    });
  if (new Set(input.ids).size !== input.ids.length)
    throw apiError('CHAT_ATTACHMENT_INVALID', 'An attachment is named twice', { attachmentIds: input.ids });
  const claimed = await claim(q, input);
  if (claimed.length !== input.ids.length) {
    const got = new Set(claimed.map((a) => a.id));
    const invalid = input.ids.filter((id) => !got.has(id));
    throw apiError(
      'CHAT_ATTACHMENT_INVALID',
      `${invalid.join(', ')}: not an unclaimed upload of yours in this room (upload it again)`,
      { attachmentIds: invalid },
    );
  }
  const byId = new Map(claimed.map((a) => [a.id, a]));
  return input.ids.map((id) => attachmentView(byId.get(id)!, options.prefix ?? DEFAULT_PREFIX));
}

/**
 * What C1 renders as `ChatMessage.attachments`: per message id, its attachments in order; messages
 * without any (or deleted ones) are absent. Runs in the reader's scope: row-level security applies.
 */
export async function attachmentsOfMessages(
  q: Queryable,
  messageIds: readonly string[],
  options: { prefix?: string } = {},
): Promise<Map<string, ChatAttachment[]>> {
  const byMessage = new Map<string, ChatAttachment[]>();
  for (const row of await ofMessages(q, messageIds)) {
    const list = byMessage.get(row.messageId!) ?? [];
    list.push(attachmentView(row, options.prefix ?? DEFAULT_PREFIX));
    byMessage.set(row.messageId!, list);
  }
  return byMessage;
}
