import {
  createDecipheriv,
  createECDH,
  createPublicKey,
  hkdfSync,
  randomBytes,
  randomUUID,
  verify,
  type ECDH,
  type KeyObject,
} from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Agent, createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createTestTls } from '../tls.js';
import { logWaiter, takeInjected, type Injected } from '../wait.js';
import { openSubscriptionFile } from './subscription-store.js';

/**
 * A local push service speaking RFC 8030 (HTTP push), RFC 8291 (aes128gcm message encryption) and
 * RFC 8292 (VAPID), over HTTPS with a throwaway CA. It hands out subscriptions the way a browser
 * does (`subscribe()` -> `{endpoint, keys: {p256dh, auth}}`, keeping the private key), so it can
 * decrypt what an application server sends and tests read the message as the service worker would.
 * Like a real push service it stores the ciphertext as received: a message is decrypted (the
 * browser's work) the first time its `payload`, `data` or `error` is read, not on receipt.
 */
export interface WebPushSubscription {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

export interface ReceivedPush {
  /** The message id (the last segment of the `Location` the service answered). */
  id: string;
  endpoint: string;
  ttl: number;
  urgency: 'very-low' | 'low' | 'normal' | 'high';
  topic: string | null;
  /** The decrypted payload as UTF-8 ('' for a push without payload, or one that does not decrypt). */
  readonly payload: string;
  /** `payload` parsed as JSON, or null when it is not JSON. */
  readonly data: unknown;
  /**
   * Why the subscriber could not decrypt it (wrong keys, a tampered body): a browser drops such a
   * message without waking the service worker. null when it decrypts.
   */
  readonly error: string | null;
  /** The VAPID `sub` claim (mailto: or https: contact of the application server). */
  subject: string;
  /** The application server's public key (`k=` of the Authorization header), base64url. */
  vapidPublicKey: string;
  receivedAt: Date;
}

export interface WebPushRequestRecord {
  endpoint: string;
  status: number;
  /** Why a request was refused (null on 201). */
  reason: string | null;
}

export interface WebPushEmulatorOptions {
  /** Largest encrypted body accepted (RFC 8030 requires at least 4096 bytes; that is the default). */
  maxPayloadBytes?: number;
  /** The emulator's clock, for VAPID `exp` checks. */
  now?: () => Date;
  /** Port to listen on; default: the port kept in `subscriptionsFile`, else any free port. */
  port?: number;
  /**
   * Where subscriptions are kept (JSON lines, mode 0600), so they survive a restart as a browser's
   * do: the subscriptions (with their private keys) and the port are read back at start, and the
   * service listens on the same port, so endpoints handed out before still work. When that port is
   * taken, it listens on another and the old endpoints are gone (as if the browser had dropped them).
   */
  subscriptionsFile?: string;
}

export interface WebPushEmulator {
  /** `https://127.0.0.1:<port>`: the origin of every endpoint (the VAPID `aud`). */
  url: string;
  /** PEM of the CA that signed the server certificate. */
  ca: string;
  /** An `https.Agent` trusting `ca`: pass it as web-push's `agent` option. */
  agent: Agent;
  /**
   * A new subscription, like `PushManager.subscribe()` returns. With `applicationServerKey` (the
   * VAPID public key, base64url) only pushes signed with that key are accepted (403 otherwise).
   */
  subscribe(options?: { applicationServerKey?: string }): WebPushSubscription;
  /** The user revoked permission / the browser dropped it: later pushes answer 410 Gone. */
  unsubscribe(endpoint: string): void;
  /** Pushes accepted (201), oldest first. */
  readonly received: ReceivedPush[];
  /** Every push request with its answer. */
  readonly requests: WebPushRequestRecord[];
  waitFor(match: (push: ReceivedPush) => boolean, timeoutMs?: number): Promise<ReceivedPush>;
  /** The next `times` pushes (to any endpoint) answer `status` (e.g. 429 with Retry-After, 500, 503). */
  failNext(status: number, options?: { times?: number; retryAfterSeconds?: number }): void;
  close(): Promise<void>;
}

interface Subscription {
  id: string;
  endpoint: string;
  ecdh: ECDH;
  publicKey: Buffer;
  auth: Buffer;
  applicationServerKey: string | null;
  active: boolean;
}

const URGENCIES = new Set(['very-low', 'low', 'normal', 'high']);
const MAX_VAPID_LIFETIME_SECONDS = 24 * 60 * 60;

class PushRefused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The request body, read with plain events: an async iterator per request (`for await`) was a good
 * part of the service's own CPU per push.
 */
function readRaw(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (buf: Buffer) => {
      size += buf.length;
      // Keep reading (and dropping) so the client sees the 413, not a reset connection.
      if (size <= limit) chunks.push(buf);
    });
    req.once('end', () => {
      if (size > limit) reject(new PushRefused(413, `payload of ${size} bytes exceeds ${limit}`));
      // A copy: a chunk may be a view of the socket's whole read buffer, kept with the push.
      else resolve(Buffer.concat(chunks));
    });
    req.once('error', reject);
    req.once('close', () => {
      if (!req.complete) reject(new PushRefused(400, 'request aborted'));
    });
  });
}

function b64url(buf: Buffer): string {
  return buf.toString('base64url');
}

const serverKeys = new Map<string, KeyObject>();

/** The application server's key as a KeyObject, kept: a bench sends thousands of pushes with one key. */
function applicationServerKey(key: string, point: Buffer): KeyObject {
  let found = serverKeys.get(key);
  if (!found) {
    found = createPublicKey({
      key: { kty: 'EC', crv: 'P-256', x: b64url(point.subarray(1, 33)), y: b64url(point.subarray(33, 65)) },
      format: 'jwk',
    });
    if (serverKeys.size >= 100) serverKeys.clear();
    serverKeys.set(key, found);
  }
  return found;
}

/** A verified VAPID header's claims, kept until its `exp`: senders reuse one token for many messages. */
interface VerifiedVapid {
  subject: string;
  publicKey: string;
  audience: string;
  exp: number;
}

/**
 * `verifyVapid` with the headers it accepted kept until their `exp` (at most `max` of them): a sender
 * reuses one signed token per push service for hours (RFC 8292 §2), and checking its ES256 signature
 * again for every message was most of the service's CPU per push. A kept header is still checked
 * against the audience and the clock.
 */
export function vapidVerifier(max = 1000): (
  header: string | undefined,
  audience: string,
  nowSeconds: number,
) => {
  subject: string;
  publicKey: string;
} {
  const verified = new Map<string, VerifiedVapid>();
  return (header, audience, nowSeconds) => {
    const kept = header !== undefined ? verified.get(header) : undefined;
    if (kept && kept.audience === audience && kept.exp > nowSeconds)
      return { subject: kept.subject, publicKey: kept.publicKey };
    const claims = verifyVapidClaims(header, audience, nowSeconds);
    if (verified.size >= max) verified.clear();
    verified.set(header!, { ...claims, audience });
    return { subject: claims.subject, publicKey: claims.publicKey };
  };
}

/** RFC 8292 §2-3: `Authorization: vapid t=<JWT>, k=<public key>`; returns the claims' `sub` and the key. */
export function verifyVapid(
  header: string | undefined,
  audience: string,
  nowSeconds: number,
): { subject: string; publicKey: string } {
  const { subject, publicKey } = verifyVapidClaims(header, audience, nowSeconds);
  return { subject, publicKey };
}

function verifyVapidClaims(
  header: string | undefined,
  audience: string,
  nowSeconds: number,
): { subject: string; publicKey: string; exp: number } {
  if (!header) throw new PushRefused(401, 'missing Authorization');
  const m = /^vapid\s+(.*)$/i.exec(header.trim());
  if (!m) throw new PushRefused(401, 'Authorization scheme is not vapid');
  const params = new Map<string, string>();
  for (const part of (m[1] ?? '').split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) params.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const token = params.get('t');
  const key = params.get('k');
  if (!token || !key) throw new PushRefused(401, 'vapid needs t= and k=');
  const point = Buffer.from(key, 'base64url');
  if (point.length !== 65 || point[0] !== 4) throw new PushRefused(401, 'k is not an uncompressed P-256 point');
  const [h, p, s] = token.split('.');
  if (!h || !p || !s) throw new PushRefused(401, 't is not a JWT');
  let header0: { alg?: unknown };
  let claims: { aud?: unknown; exp?: unknown; sub?: unknown };
  try {
    header0 = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as { alg?: unknown };
    claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as typeof claims;
  } catch {
    throw new PushRefused(401, 'JWT parts are not JSON');
  }
  if (header0.alg !== 'ES256') throw new PushRefused(401, 'JWT alg must be ES256');
  let publicKey: KeyObject;
  try {
    publicKey = applicationServerKey(key, point);
  } catch {
    throw new PushRefused(401, 'k is not a point on P-256');
  }
  const signature = Buffer.from(s, 'base64url');
  const valid =
    signature.length === 64 &&
    verify('sha256', Buffer.from(`${h}.${p}`), { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature);
  if (!valid) throw new PushRefused(401, 'JWT signature does not verify with k');
  if (claims.aud !== audience) throw new PushRefused(401, `JWT aud must be ${audience}`);
  if (typeof claims.exp !== 'number' || claims.exp <= nowSeconds) throw new PushRefused(401, 'JWT expired');
  if (claims.exp > nowSeconds + MAX_VAPID_LIFETIME_SECONDS)
    throw new PushRefused(401, 'JWT exp more than 24 hours ahead');
  if (typeof claims.sub !== 'string' || !/^(mailto:|https:)/.test(claims.sub))
    throw new PushRefused(401, 'JWT sub must be a mailto: or https: contact');
  return { subject: claims.sub, publicKey: key, exp: claims.exp };
}

/**
 * What a push service can check of an aes128gcm body without the subscriber's keys (RFC 8188 §2.1,
 * RFC 8291 §4): the header (salt, record size, the 65-byte sender key as keyid) and at least one
 * record of tag size. Throws a 400 refusal otherwise.
 */
export function checkAes128gcmHeader(body: Buffer): void {
  if (body.length < 21) throw new PushRefused(400, 'aes128gcm header truncated');
  const rs = body.readUInt32BE(16);
  const idlen = body[20] ?? 0;
  if (rs < 18) throw new PushRefused(400, 'aes128gcm record size too small');
  if (idlen !== 65) throw new PushRefused(400, 'aes128gcm keyid must be the 65-byte sender public key');
  if (body.length < 21 + idlen + 17) throw new PushRefused(400, 'aes128gcm record truncated');
}

/** RFC 8291 §3.4 + RFC 8188: decrypts an aes128gcm body with the user agent's keys. */
export function decryptAes128gcm(body: Buffer, receiver: ECDH, receiverPublic: Buffer, auth: Buffer): Buffer {
  checkAes128gcmHeader(body);
  const salt = body.subarray(0, 16);
  const rs = body.readUInt32BE(16);
  const idlen = body[20] ?? 0;
  const senderPublic = body.subarray(21, 21 + idlen);
  const ciphertext = body.subarray(21 + idlen);
  let secret: Buffer;
  try {
    secret = receiver.computeSecret(senderPublic);
  } catch {
    throw new PushRefused(400, 'sender key is not on P-256');
  }
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), receiverPublic, senderPublic]);
  const ikm = Buffer.from(hkdfSync('sha256', secret, auth, keyInfo, 32));
  const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
  const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));
  const out: Buffer[] = [];
  for (let seq = 0, at = 0; at < ciphertext.length; seq++, at += rs) {
    const record = ciphertext.subarray(at, at + rs);
    if (record.length < 17) throw new PushRefused(400, 'aes128gcm record truncated');
    const iv = Buffer.from(nonce);
    iv.writeUInt32BE((iv.readUInt32BE(8) ^ seq) >>> 0, 8);
    const decipher = createDecipheriv('aes-128-gcm', cek, iv);
    decipher.setAuthTag(record.subarray(record.length - 16));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()]);
    } catch {
      throw new PushRefused(400, 'aes128gcm decryption failed (wrong keys or corrupted body)');
    }
    let end = plain.length - 1;
    while (end >= 0 && plain[end] === 0) end--;
    const last = at + rs >= ciphertext.length;
    if (end < 0 || plain[end] !== (last ? 2 : 1)) throw new PushRefused(400, 'aes128gcm padding delimiter missing');
    out.push(plain.subarray(0, end));
  }
  return Buffer.concat(out);
}

/**
 * A received push as the service stores it: the ciphertext, decrypted with the subscription's keys
 * on the first read of `payload`, `data` or `error` (enumerable getters: tests and listings see plain
 * fields).
 */
function storedPush(
  fields: Omit<ReceivedPush, 'payload' | 'data' | 'error'>,
  body: Buffer,
  sub: Pick<Subscription, 'ecdh' | 'publicKey' | 'auth'>,
): ReceivedPush {
  let opened: { payload: string; data: unknown; error: string | null } | undefined;
  const open = (): NonNullable<typeof opened> => {
    if (opened) return opened;
    let payload = '';
    let error: string | null = null;
    try {
      payload = body.length > 0 ? decryptAes128gcm(body, sub.ecdh, sub.publicKey, sub.auth).toString('utf8') : '';
    } catch (err) {
      error = (err as Error).message;
    }
    let data: unknown = null;
    try {
      data = payload === '' ? null : JSON.parse(payload);
    } catch {
      data = null;
    }
    return (opened = { payload, data, error });
  };
  const push = { ...fields } as ReceivedPush;
  for (const key of ['payload', 'data', 'error'] as const)
    Object.defineProperty(push, key, { enumerable: true, get: () => open()[key] });
  return push;
}

export async function startWebPushEmulator(options: WebPushEmulatorOptions = {}): Promise<WebPushEmulator> {
  const maxPayload = options.maxPayloadBytes ?? 4096;
  const now = options.now ?? (() => new Date());
  const tls = await createTestTls(['127.0.0.1', 'localhost']);
  const subscriptions = new Map<string, Subscription>();
  const received: ReceivedPush[] = [];
  const requests: WebPushRequestRecord[] = [];
  const failures: Injected<{ status: number; retryAfterSeconds?: number | undefined }>[] = [];
  const waiter = logWaiter(received);
  const verifyVapidCached = vapidVerifier();
  let origin = '';

  async function accept(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const endpoint = origin + path;
    const answer = (status: number, reason: string | null, headers: Record<string, string> = {}): void => {
      requests.push({ endpoint, status, reason });
      res.writeHead(status, { 'content-type': 'text/plain', ...headers });
      res.end(reason ?? '');
    };
    try {
      const match = /^\/push\/([A-Za-z0-9_-]+)$/.exec(path);
      if (req.method !== 'POST' || !match) throw new PushRefused(404, 'no such push resource');
      const sub = subscriptions.get(match[1] ?? '');
      if (!sub) throw new PushRefused(404, 'unknown subscription');
      if (!sub.active) throw new PushRefused(410, 'subscription expired or unsubscribed');
      const failure = takeInjected(failures);
      if (failure) {
        await readRaw(req, Number.MAX_SAFE_INTEGER);
        return answer(
          failure.status,
          'injected failure',
          failure.retryAfterSeconds !== undefined ? { 'retry-after': String(failure.retryAfterSeconds) } : {},
        );
      }
      const { subject, publicKey } = verifyVapidCached(
        req.headers.authorization,
        origin,
        Math.floor(now().getTime() / 1000),
      );
      if (sub.applicationServerKey !== null && sub.applicationServerKey !== publicKey)
        throw new PushRefused(403, 'VAPID key differs from the applicationServerKey of the subscription');
      const ttlHeader = req.headers.ttl;
      if (typeof ttlHeader !== 'string' || !/^\d+$/.test(ttlHeader)) throw new PushRefused(400, 'TTL header required');
      const urgency = (req.headers.urgency ?? 'normal') as ReceivedPush['urgency'];
      if (!URGENCIES.has(urgency)) throw new PushRefused(400, `unknown Urgency ${String(urgency)}`);
      const topicHeader = req.headers.topic;
      const topic = typeof topicHeader === 'string' ? topicHeader : null;
      if (topic !== null && !/^[A-Za-z0-9_-]{1,32}$/.test(topic))
        throw new PushRefused(400, 'Topic must be at most 32 base64url characters');
      const body = await readRaw(req, maxPayload);
      if (body.length > 0) {
        if (req.headers['content-encoding'] !== 'aes128gcm')
          throw new PushRefused(415, 'Content-Encoding must be aes128gcm');
        checkAes128gcmHeader(body);
      }
      const id = randomUUID();
      received.push(
        storedPush(
          {
            id,
            endpoint: sub.endpoint,
            ttl: Number(ttlHeader),
            urgency,
            topic,
            subject,
            vapidPublicKey: publicKey,
            receivedAt: now(),
          },
          body,
          sub,
        ),
      );
      answer(201, null, { location: `${origin}/message/${id}`, ttl: ttlHeader });
      waiter.notify();
    } catch (err) {
      if (err instanceof PushRefused) {
        if (!req.readableEnded) req.resume();
        return answer(err.status, err.message);
      }
      throw err;
    }
  }

  const server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    accept(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(err));
    });
  });
  const listen = (port: number): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      server.once('error', onError);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', onError);
        resolve();
      });
    });
  const store = options.subscriptionsFile !== undefined ? openSubscriptionFile(options.subscriptionsFile) : undefined;
  const keptPort = options.port === undefined ? store?.port : undefined;
  if (keptPort !== undefined) {
    // The port the kept endpoints name; taken by now, the service starts afresh elsewhere.
    await listen(keptPort).catch(() => listen(0));
  } else await listen(options.port ?? 0);
  const { port } = server.address() as AddressInfo;
  origin = `https://127.0.0.1:${port}`;
  store?.savePort(port);
  for (const kept of store?.subscriptions ?? [])
    subscriptions.set(kept.id, { ...kept, endpoint: `${origin}/push/${kept.id}` });
  const agent = new Agent({ ca: tls.ca });

  return {
    url: origin,
    ca: tls.ca,
    agent,
    subscribe(opts = {}) {
      const ecdh = createECDH('prime256v1');
      const publicKey = ecdh.generateKeys();
      const auth = randomBytes(16);
      const id = randomBytes(18).toString('base64url');
      const endpoint = `${origin}/push/${id}`;
      const sub: Subscription = {
        id,
        endpoint,
        ecdh,
        publicKey,
        auth,
        applicationServerKey: opts.applicationServerKey ?? null,
        active: true,
      };
      subscriptions.set(id, sub);
      store?.save(sub);
      return { endpoint, keys: { p256dh: b64url(publicKey), auth: b64url(auth) } };
    },
    unsubscribe(endpoint) {
      for (const sub of subscriptions.values())
        if (sub.endpoint === endpoint && sub.active) {
          sub.active = false;
          store?.save(sub);
        }
    },
    received,
    requests,
    waitFor: waiter.waitFor,
    failNext(status, opts = {}) {
      failures.push({ value: { status, retryAfterSeconds: opts.retryAfterSeconds }, times: opts.times ?? 1 });
    },
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
