import { request, type Agent } from 'node:https';
import webpush from 'web-push';
import type { ChannelSender, RenderedNotification, SendResult } from './channel.js';
import { ChannelUnavailableError, fitPayload, invalidTarget, rejected, wrongTarget } from './payload.js';
import { pushEncryptor, type PushRequestDetails } from './web-push-encrypt.js';

export interface WebPushOptions {
  /** The application server's VAPID key pair (base64url, as `web-push generate-vapid-keys` prints) and contact. */
  vapid: { publicKey: string; privateKey: string; subject: string };
  /** For a push service with a private CA (the local emulator): an `https.Agent` trusting it. */
  agent?: Agent;
  /** How long the push service keeps an undelivered message (seconds, default one day). */
  ttlSeconds?: number;
  timeoutMs?: number;
  /** Pushes a send batch has in flight (default 8); bound the connections with the agent's `maxSockets`. */
  concurrency?: number;
}

/**
 * RFC 8030 asks push services to accept at least 4096 bytes of encrypted body; aes128gcm adds a
 * 86-byte header, a 16-byte tag and a 1-byte delimiter.
 */
const MAX_PLAINTEXT_BYTES = 4096 - 86 - 16 - 1;
const URGENT_CATEGORIES = new Set(['health_alert', 'trouble_code']);
/** A VAPID JWT lives 12 hours (web-push's default) and is signed again when less than one is left. */
const VAPID_LIFETIME_S = 12 * 3600;
const VAPID_RENEW_S = 3600;

function isBase64UrlOfLength(value: string, bytes: number): boolean {
  return /^[A-Za-z0-9_-]+={0,2}$/.test(value) && Buffer.from(value, 'base64url').length === bytes;
}

/** A push service's answer. */
interface PushAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * POSTs what the SDK made to the endpoint, as its `sendNotification` does (the same method, headers
 * and body, over `agent`); resolves with any answer, rejects on a network failure or the timeout.
 */
function post(endpoint: URL, details: PushRequestDetails, agent?: Agent, timeoutMs?: number): Promise<PushAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        // As url.parse gave the SDK: an IPv6 literal without its brackets, no port for the default.
        hostname: endpoint.hostname.replace(/^\[(.*)\]$/, '$1'),
        ...(endpoint.port !== '' ? { port: endpoint.port } : {}),
        path: endpoint.pathname + endpoint.search,
        method: 'POST',
        headers: details.headers,
        ...(agent ? { agent } : {}),
        ...(timeoutMs !== undefined ? { timeout: timeoutMs } : {}),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    if (timeoutMs !== undefined) req.on('timeout', () => req.destroy(new Error('Socket timeout')));
    req.on('error', reject);
    req.end(details.body ?? undefined);
  });
}

/**
 * Web Push with VAPID through the `web-push` SDK (aes128gcm): the SDK encrypts and makes the request
 * (on a worker thread, ./web-push-encrypt.ts), which is sent here over the kept-alive `agent`.
 */
export function webPushSender(options: WebPushOptions): ChannelSender & { publicKey: string; close(): Promise<void> } {
  const { publicKey, privateKey, subject } = options.vapid;
  if (!isBase64UrlOfLength(publicKey, 65)) throw new Error('web push: vapid.publicKey must be a base64url P-256 point');
  if (!isBase64UrlOfLength(privateKey, 32)) throw new Error('web push: vapid.privateKey must be 32 bytes base64url');
  if (!/^(mailto:|https:)/.test(subject)) throw new Error('web push: vapid.subject must be a mailto: or https: URL');
  if (options.concurrency !== undefined && (!Number.isInteger(options.concurrency) || options.concurrency < 1))
    throw new Error('web push: concurrency must be a positive integer');
  const ttl = options.ttlSeconds ?? 24 * 60 * 60;
  const encryptor = pushEncryptor();
  // One signed VAPID header per push service origin, reused until it nears its expiry: signing an
  // ES256 JWT for every message was a good part of a send's CPU (RFC 8292 lets a JWT be reused).
  const vapidByAudience = new Map<string, { authorization: string; expires: number }>();
  const vapidFor = (audience: string): string => {
    const now = Math.floor(Date.now() / 1000);
    const cached = vapidByAudience.get(audience);
    if (cached && cached.expires - now > VAPID_RENEW_S) return cached.authorization;
    const expires = now + VAPID_LIFETIME_S;
    const { Authorization } = webpush.getVapidHeaders(audience, subject, publicKey, privateKey, 'aes128gcm', expires);
    vapidByAudience.set(audience, { authorization: Authorization, expires });
    return Authorization;
  };

  return {
    channel: 'web_push',
    publicKey,
    ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
    async send(target, message: RenderedNotification): Promise<SendResult> {
      if (target.kind !== 'web_push') return wrongTarget('web_push', target);
      let endpoint: URL;
      try {
        endpoint = new URL(target.endpoint);
      } catch {
        return invalidTarget('endpoint is not a URL');
      }
      if (endpoint.protocol !== 'https:') return invalidTarget('endpoint is not https');
      if (!isBase64UrlOfLength(target.p256dh, 65) || !isBase64UrlOfLength(target.auth, 16))
        return invalidTarget('subscription keys are malformed');
      const topic = message.notificationId.replace(/[^A-Za-z0-9_]/g, '').slice(0, 32);
      const body = fitPayload(message, MAX_PLAINTEXT_BYTES, JSON.stringify, (s) => Buffer.byteLength(s));
      if (body === null) return rejected('the notification does not fit in a push message');
      const audience = endpoint.origin;
      let answer: PushAnswer;
      try {
        const details = await encryptor.details(
          { endpoint: target.endpoint, keys: { p256dh: target.p256dh, auth: target.auth } },
          body,
          {
            headers: { Authorization: vapidFor(audience) },
            TTL: ttl,
            contentEncoding: 'aes128gcm',
            urgency: URGENT_CATEGORIES.has(message.category) ? 'high' : 'normal',
            // A retried send replaces the undelivered copy at the push service instead of adding one.
            ...(topic !== '' ? { topic } : {}),
          },
        );
        answer = await post(endpoint, details, options.agent, options.timeoutMs);
      } catch (err) {
        throw new ChannelUnavailableError('web_push', (err as Error).message ?? String(err));
      }
      const status = answer.status;
      if (status >= 200 && status <= 299) {
        const location = answer.headers.location;
        return { ok: true, providerMessageId: typeof location === 'string' ? location : null };
      }
      const detail = `push service answered ${status}${answer.body ? `: ${answer.body.slice(0, 200)}` : ''}`;
      // 404/410: the subscription is gone (RFC 8030 §7.3); 403: it belongs to another VAPID key.
      if (status === 404 || status === 410 || status === 403) return invalidTarget(detail);
      // Our VAPID JWT refused: sign a fresh one for the next attempt.
      if (status === 401) vapidByAudience.delete(audience);
      if (status === 429 || status >= 500 || status === 401) {
        const retryAfter = Number(answer.headers['retry-after']);
        throw new ChannelUnavailableError('web_push', detail, Number.isFinite(retryAfter) ? retryAfter : null);
      }
      return rejected(detail);
    },
    close: () => encryptor.close(),
  };
}
