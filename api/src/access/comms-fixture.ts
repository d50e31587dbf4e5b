// The access matrix's communication (issue 17): one booking chat room per principal with messages and
// an attachment, a notification, a push device and a scheduled message, so every chat and
// notification route has an "own" and a "foreign" resource (only imported by tests). The rooms and the
// notifications are written as the platform (the fixture's owner connection), like the marketplace's
// (a notification dispatched by the dispatch job's own function);
// messages, attachments, devices and scheduled messages go through the API as the principal who owns
// them, so they are exactly what the routes themselves make.
import { randomUUID } from 'node:crypto';
import type { Database } from '@clutch/db';
import { pino } from 'pino';
import type { JobEnqueuer } from '../ai/retrain-jobs.js';
import { ensureBookingRoom } from '../chat/index.js';
import { dispatchNotification } from '../notifications/jobs.js';
import { requestNotifications } from '../notifications/request.js';
import { call } from '../test-fixtures.js';

/** The chat and notification resources a principal calls its own. */
export interface CommsBundle {
  /** The chat room of the principal's booking (marketplace-fixture.ts). */
  roomId: string;
  /** Sent by the principal (read, reported), carrying `attachmentId`. */
  messageId: string;
  /** Sent by the principal, for its sender to delete (DELETE wipes it: no other row needs it). */
  dropMessageId: string;
  /** Sent by the principal, for a moderator to delete from the foreign side. */
  moderatedMessageId: string;
  attachmentId: string;
  /** An in-app notification to the principal. */
  notificationId: string;
  /** A push device of the principal (removed by DELETE /notifications/devices/:id). */
  deviceId: string;
  /** A scheduled message to the principal (shop X's admin's to itself; the platform admin's to the others). */
  scheduledId: string;
}

export type CommsName = 'ownerA' | 'ownerB' | 'staffX' | 'techY' | 'fleet' | 'platform';

export interface CommsParty {
  tenantId: string;
  userId: string;
  token: string;
  /** The booking whose room is this principal's. */
  bookingId: string;
  /** The shop user who joins the room as staff. */
  staff: { userId: string; tenantId: string };
  /**
   * Who posts this principal's messages: itself, unless it may not post in its room (the platform
   * admin moderates the fleet's booking room; the fleet, its customer, posts there).
   */
  senderToken?: string;
  /** Who schedules this principal's message: a holder of notifications:send over its tenant. */
  schedulerToken: string;
}

const FCM_TOKEN = (): string => `matrix-fcm-${randomUUID()}`;

async function ok(res: Awaited<ReturnType<typeof call>>, what: string, status: number): Promise<string> {
  if (res.status !== status) throw new Error(`${what}: ${res.status} ${JSON.stringify(res.body)}`);
  return String(res.body.id ?? (res.body.ids as string[] | undefined)?.[0]);
}

export async function seedComms(
  db: Database,
  apiUrl: string,
  jobs: JobEnqueuer,
  parties: Record<CommsName, CommsParty>,
): Promise<Record<CommsName, CommsBundle>> {
  const bundles = {} as Record<CommsName, CommsBundle>;
  for (const [name, p] of Object.entries(parties) as [CommsName, CommsParty][]) {
    const roomId = await db.transaction((q) => ensureBookingRoom(q, { bookingId: p.bookingId, staff: p.staff }));
    const sender = p.senderToken ?? p.token;
    const headers = { 'x-requested-with': 'access-matrix' };
    const upload = await fetch(`${apiUrl}/api/chat/rooms/${roomId}/attachments?name=note.txt`, {
      method: 'POST',
      headers: { authorization: `Bearer ${sender}`, 'content-type': 'text/plain' },
      body: `A note of ${name}`,
    });
    const uploaded = (await upload.json()) as { id?: string };
    if (upload.status !== 201 || !uploaded.id)
      throw new Error(`${name}'s attachment: ${upload.status} ${JSON.stringify(uploaded)}`);
    const post = (body: string, attachmentIds: string[] = []): Promise<string> =>
      call(apiUrl, 'POST', `/api/chat/rooms/${roomId}/messages`, {
        token: sender,
        headers,
        body: { clientMessageId: randomUUID(), body, ...(attachmentIds.length ? { attachmentIds } : {}) },
      }).then((res) => ok(res, `${name}'s message`, 201));
    const messageId = await post(`Hello from ${name}`, [uploaded.id]);
    const dropMessageId = await post(`${name}, to delete`);
    const moderatedMessageId = await post(`${name}, to moderate`);
    const [notificationId] = await db.transaction((q) =>
      requestNotifications(q, jobs, [
        {
          tenantId: p.tenantId,
          userId: p.userId,
          category: 'announcement',
          template: 'notify.announcement',
          params: { title: 'Matrix', body: `For ${name}` },
          dedupeKey: `access-matrix:${name}`,
        },
      ]),
    );
    // Dispatched as the job would (no channel senders: in-app only), so it is in the inbox.
    await dispatchNotification({ db, channels: {}, logger: pino({ level: 'silent' }), jobs }, notificationId!);
    const deviceId = await ok(
      await call(apiUrl, 'POST', '/api/notifications/devices', {
        token: p.token,
        headers,
        body: { kind: 'fcm', token: FCM_TOKEN() },
      }),
      `${name}'s device`,
      201,
    );
    const scheduledId = await ok(
      await call(apiUrl, 'POST', '/api/notifications/schedule', {
        token: p.schedulerToken,
        headers,
        body: {
          userIds: [p.userId],
          category: 'announcement',
          title: 'Matrix',
          body: `Later, for ${name}`,
          sendAt: new Date(Date.now() + 7 * 86_400_000).toISOString(),
        },
      }),
      `${name}'s scheduled message`,
      202,
    );
    bundles[name] = {
      roomId,
      messageId,
      dropMessageId,
      moderatedMessageId,
      attachmentId: uploaded.id,
      notificationId: notificationId!,
      deviceId,
      scheduledId,
    };
  }
  return bundles;
}
