import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cert, deleteApp, initializeApp, type App, type Credential, type ServiceAccount } from 'firebase-admin/app';
import { getMessaging, type Message } from 'firebase-admin/messaging';
import type { ChannelSender, RenderedNotification, SendResult } from './channel.js';
import { ChannelUnavailableError, fitPayload, invalidTarget, rejected, wrongTarget } from './payload.js';

export interface FcmOptions {
  /**
   * The service account key: the path of the JSON file downloaded from the Firebase console, or its
   * parsed content. Or a ready credential.
   */
  serviceAccount?: string | ServiceAccount | object;
  credential?: Credential;
  /** Defaults to the service account's project. */
  projectId?: string;
  /** Used for the OAuth2 token exchange and the FCM calls (the emulator's redirecting agent in tests). */
  httpAgent?: Agent;
}

/** FCM's limit for the notification and data payload of one message. */
const MAX_PAYLOAD_BYTES = 4096;
const URGENT_CATEGORIES = new Set(['health_alert', 'trouble_code']);

/** firebase-admin error codes that say the token will never work again: remove it. */
const DEAD_TOKEN = new Set([
  'messaging/registration-token-not-registered', // UNREGISTERED (404)
  'messaging/invalid-registration-token',
  // INVALID_ARGUMENT: the payload is checked here first (size, string data), so what is left is the token.
  'messaging/invalid-argument',
]);
// Not in DEAD_TOKEN: 'messaging/mismatched-credential' is SENDER_ID_MISMATCH (this token belongs to another
// project) but also a bare PERMISSION_DENIED (FCM API disabled for the project); removing every device
// token on a project misconfiguration would be worse than failing those sends. It is a permanent failure.
/** Worth retrying later: quota, availability, and our own credentials (an operator can fix them). */
const TRANSIENT = new Set([
  'messaging/message-rate-exceeded',
  'messaging/device-message-rate-exceeded',
  'messaging/server-unavailable',
  'messaging/internal-error',
  'messaging/unknown-error',
  'messaging/authentication-error',
  'messaging/third-party-auth-error',
  'app/invalid-credential',
  'app/network-error',
  'app/network-timeout',
]);

function messageFor(token: string, message: RenderedNotification): Message | null {
  const urgent = URGENT_CATEGORIES.has(message.category);
  return fitPayload(
    message,
    MAX_PAYLOAD_BYTES,
    (p) => ({
      token,
      notification: { title: p.title, body: p.body },
      data: {
        notificationId: p.notificationId,
        category: p.category,
        ...(p.url !== null ? { url: p.url } : {}),
      },
      android: {
        priority: urgent ? 'high' : 'normal',
        // A retried send replaces the shown notification instead of adding a second one.
        notification: { tag: p.notificationId },
      },
      apns: { payload: { aps: { ...(p.badge !== undefined ? { badge: p.badge } : {}), threadId: p.category } } },
    }),
    (m) => Buffer.byteLength(JSON.stringify({ notification: m.notification, data: m.data })),
  );
}

/** FCM HTTP v1 through firebase-admin's messaging (one named app per sender). */
export function fcmSender(options: FcmOptions): ChannelSender & { close(): Promise<void> } {
  if ((options.serviceAccount === undefined) === (options.credential === undefined))
    throw new Error('fcm: set exactly one of serviceAccount and credential');
  const account = options.serviceAccount;
  let keyDir: string | null = null;
  let keyFile: string | ServiceAccount | undefined = account as string | ServiceAccount | undefined;
  if (account !== undefined && typeof account !== 'string' && options.httpAgent) {
    // firebase-admin 13 drops cert()'s httpAgent for the token exchange when given an object
    // (firebase-admin-node#2960) and honours it for a key file: hand it a private file.
    keyDir = mkdtempSync(join(tmpdir(), 'clutch-fcm-'));
    keyFile = join(keyDir, 'service-account.json');
    writeFileSync(keyFile, JSON.stringify(account), { mode: 0o600 });
  }
  const credential = options.credential ?? cert(keyFile as string | ServiceAccount, options.httpAgent);
  const projectId =
    options.projectId ??
    (typeof account === 'object'
      ? ((account as { project_id?: string }).project_id ?? (account as { projectId?: string }).projectId)
      : undefined);
  const app: App = initializeApp(
    {
      credential,
      ...(projectId !== undefined ? { projectId } : {}),
      ...(options.httpAgent ? { httpAgent: options.httpAgent } : {}),
    },
    `clutch-fcm-${randomUUID()}`,
  );
  const messaging = getMessaging(app);

  return {
    channel: 'fcm',
    async send(target, message): Promise<SendResult> {
      if (target.kind !== 'fcm') return wrongTarget('fcm', target);
      if (target.token.length === 0 || target.token.length > 4096 || /\s/.test(target.token))
        return invalidTarget('not an FCM registration token');
      try {
        const fcmMessage = messageFor(target.token, message);
        if (fcmMessage === null) return rejected('the notification does not fit in an FCM message');
        const name = await messaging.send(fcmMessage);
        return { ok: true, providerMessageId: name };
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        const detail = `${typeof code === 'string' ? code : 'error'}: ${(err as Error).message}`;
        if (typeof code === 'string' && DEAD_TOKEN.has(code)) return invalidTarget(detail);
        if (typeof code !== 'string' || TRANSIENT.has(code) || !code.startsWith('messaging/'))
          throw new ChannelUnavailableError('fcm', detail);
        return rejected(detail);
      }
    },
    async close() {
      await deleteApp(app);
      if (keyDir) rmSync(keyDir, { recursive: true, force: true });
    },
  };
}
