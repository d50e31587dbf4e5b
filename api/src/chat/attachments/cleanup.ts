import type { Database } from '@clutch/db';
import type { ObjectStorage } from '../../storage/object-storage.js';
import { deleteRows, takeExpired } from './repository.js';

/** The cron that runs cleanupChatAttachments (C6 wires it in platform/src/builders/jobs.ts). */
export const CHAT_ATTACHMENT_CRONS = {
  cleanup: { queue: 'chat.attachments-cleanup', cron: '41 * * * *' },
} as const;

/** How long an upload may wait for a message to claim it. */
export const UNCLAIMED_TTL_MS = 24 * 3600_000;

/**
 * Removes uploads no message claimed within a day, and the attachments of messages moderation
 * deleted: objects first, then rows, in batches, each its own transaction as the platform. The rows
 * stay locked while their objects go (a late claim waits, then finds them gone and answers
 * CHAT_ATTACHMENT_INVALID), and a failed object delete rolls the batch back for the next run:
 * never a row without its object's deletion attempted, never an object nothing refers to.
 * Returns how many attachments went.
 */
export async function cleanupChatAttachments(
  db: Pick<Database, 'transaction'>,
  storage: ObjectStorage,
  options: { olderThanMs?: number; batch?: number; now?: Date } = {},
): Promise<number> {
  const cutoff = new Date((options.now ?? new Date()).getTime() - (options.olderThanMs ?? UNCLAIMED_TTL_MS));
  const batch = options.batch ?? 100;
  let removed = 0;
  for (;;) {
    const n = await db.transaction(async (q) => {
      const expired = await takeExpired(q, cutoff, batch);
      for (const a of expired) await storage.delete(a.storageKey);
      if (expired.length > 0)
        await deleteRows(
          q,
          expired.map((a) => a.id),
        );
      return expired.length;
    });
    removed += n;
    if (n < batch) return removed;
  }
}
