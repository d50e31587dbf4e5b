import apn from '@parse/node-apn';
import type { ChannelSender, RenderedNotification, SendResult } from './channel.js';
import { ChannelUnavailableError, fitPayload, invalidTarget, rejected, wrongTarget } from './payload.js';

export interface ApnsOptions {
  /** Token-based authentication: the .p8 signing key (PEM text or file path), its key id, the team id. */
  token: { key: string | Buffer; keyId: string; teamId: string };
  /** The app's bundle id: the apns-topic of every alert. */
  bundleId: string;
  /** api.push.apple.com when true, api.sandbox.push.apple.com otherwise (ignored when `address` is set). */
  production?: boolean;
  /** Another APNs host (the local emulator) and port. */
  address?: string;
  port?: number;
  /** Extra CA certificates (PEM) to trust: the emulator's test CA. */
  ca?: string | Buffer;
  requestTimeoutMs?: number;
}

const MAX_PAYLOAD_BYTES = 4096;
const URGENT_CATEGORIES = new Set(['health_alert', 'trouble_code']);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Apple's answers meaning the device token will never work for this app again. */
const DEAD_TOKEN_REASONS = new Set(['BadDeviceToken', 'Unregistered', 'DeviceTokenNotForTopic', 'ExpiredToken']);
/** Our provider token or Apple's side: an operator or time fixes these, the message is fine. */
const TRANSIENT_REASONS = new Set([
  'InvalidProviderToken',
  'ExpiredProviderToken',
  'MissingProviderToken',
  'TooManyProviderTokenUpdates',
  'TooManyRequests',
  'InternalServerError',
  'ServiceUnavailable',
  'Shutdown',
]);

function notificationFor(message: RenderedNotification, bundleId: string): apn.Notification | null {
  return fitPayload(
    message,
    MAX_PAYLOAD_BYTES,
    (p) => {
      const note = new apn.Notification();
      note.topic = bundleId;
      note.pushType = 'alert';
      note.priority = 10;
      note.alert = { title: p.title, body: p.body };
      if (p.badge !== undefined) note.badge = p.badge;
      note.threadId = p.category;
      if (URGENT_CATEGORIES.has(p.category)) note.aps['interruption-level'] = 'time-sensitive';
      note.payload = { notificationId: p.notificationId, category: p.category, url: p.url };
      // A retried send replaces the notification on the device instead of showing it twice.
      note.collapseId = p.notificationId.slice(0, 64);
      if (UUID.test(p.notificationId)) note.id = p.notificationId;
      return note;
    },
    (note) => Buffer.byteLength(JSON.stringify(note)),
  );
}

/** APNs provider API (HTTP/2, token authentication) through @parse/node-apn. */
export function apnsSender(options: ApnsOptions): ChannelSender & { close(): Promise<void> } {
  const provider = new apn.Provider({
    token: options.token,
    production: options.production ?? false,
    ...(options.address !== undefined ? { address: options.address } : {}),
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.ca !== undefined ? { ca: [options.ca] } : {}),
    // The notification-send job retries with backoff; node-apn's own retries would go at once.
    connectionRetryLimit: 0,
    requestTimeout: options.requestTimeoutMs ?? 10_000,
  });

  return {
    channel: 'apns',
    async send(target, message): Promise<SendResult> {
      if (target.kind !== 'apns') return wrongTarget('apns', target);
      if (!/^[0-9a-fA-F]{64,200}$/.test(target.token)) return invalidTarget('not an APNs device token');
      const note = notificationFor(message, options.bundleId);
      if (note === null) return rejected('the notification does not fit in an APNs payload');
      const result = await provider.send(note, target.token);
      const sent = result.sent[0] as (apn.ResponseSent & { 'apns-id'?: string }) | undefined;
      if (sent) return { ok: true, providerMessageId: sent['apns-id'] ?? null };
      const failed = result.failed[0];
      const reason = failed?.response?.reason;
      const status = failed?.status;
      const detail = `APNs ${status ?? 'error'} ${reason ?? failed?.error?.message ?? 'no answer'}`.trim();
      if (status === 410 || (reason !== undefined && DEAD_TOKEN_REASONS.has(reason))) return invalidTarget(detail);
      if (
        status === undefined ||
        reason === undefined ||
        TRANSIENT_REASONS.has(reason) ||
        status >= 500 ||
        status === 429
      )
        throw new ChannelUnavailableError('apns', detail);
      return rejected(detail);
    },
    close: () => provider.shutdown(),
  };
}
