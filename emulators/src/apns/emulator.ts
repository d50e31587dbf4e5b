import { generateKeyPairSync, randomBytes, randomUUID, verify, type KeyObject } from 'node:crypto';
import {
  createSecureServer,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { createTestTls } from '../tls.js';
import { logWaiter, takeInjected, type Injected } from '../wait.js';

/**
 * Apple Push Notification service, provider API with token authentication: HTTP/2 over TLS with a
 * throwaway CA, `POST /3/device/<token>` checked as Apple documents (ES256 provider JWT with kid and
 * iss, apns-topic, apns-push-type, apns-priority, apns-id, payload size) and answered with Apple's
 * status codes and `{"reason": ...}` bodies (410 Unregistered with a timestamp).
 */
export interface ApnsNotification {
  /** The apns-id the server answered with. */
  apnsId: string;
  token: string;
  topic: string;
  pushType: string;
  priority: number;
  collapseId: string | null;
  expiration: number | null;
  payload: { aps: Record<string, unknown> } & Record<string, unknown>;
  receivedAt: Date;
}

export type ApnsReason =
  | 'BadDeviceToken'
  | 'Unregistered'
  | 'DeviceTokenNotForTopic'
  | 'BadTopic'
  | 'PayloadTooLarge'
  | 'InvalidProviderToken'
  | 'ExpiredProviderToken'
  | 'TooManyRequests'
  | 'InternalServerError'
  | 'ServiceUnavailable'
  | 'Shutdown';

const REASON_STATUS: Record<ApnsReason, number> = {
  BadDeviceToken: 400,
  Unregistered: 410,
  DeviceTokenNotForTopic: 400,
  BadTopic: 400,
  PayloadTooLarge: 413,
  InvalidProviderToken: 403,
  ExpiredProviderToken: 403,
  TooManyRequests: 429,
  InternalServerError: 500,
  ServiceUnavailable: 503,
  Shutdown: 503,
};

export interface ApnsRequestRecord {
  token: string;
  status: number;
  reason: string | null;
}

export interface ApnsEmulatorOptions {
  bundleId?: string;
  teamId?: string;
  keyId?: string;
  /** Accept any well-formed device token, not only those from `registerDevice()` (load tests). */
  acceptUnknownTokens?: boolean;
  port?: number;
}

export interface ApnsEmulator {
  /** `https://127.0.0.1:<port>` */
  url: string;
  /** For node-apn's `address` and `port` options. */
  address: string;
  port: number;
  ca: string;
  bundleId: string;
  /** A signing key Apple would issue (.p8 PEM), its key id and the team id: node-apn's `token` option. */
  token: { key: string; keyId: string; teamId: string };
  /** A device token, as an app gets from `registerForRemoteNotifications`. */
  registerDevice(): string;
  /** The app was removed: later pushes to the token answer 410 Unregistered with this timestamp. */
  unregisterDevice(token: string, at?: Date): void;
  /** Notifications accepted (200), oldest first. */
  readonly received: ApnsNotification[];
  readonly requests: ApnsRequestRecord[];
  waitFor(match: (n: ApnsNotification) => boolean, timeoutMs?: number): Promise<ApnsNotification>;
  /** The next `times` pushes answer this reason (with its documented status). */
  failNext(reason: ApnsReason, options?: { times?: number; retryAfterSeconds?: number }): void;
  close(): Promise<void>;
}

const PUSH_TYPES = new Set([
  'alert',
  'background',
  'location',
  'voip',
  'complication',
  'fileprovider',
  'mdm',
  'liveactivity',
  'pushtotalk',
]);
const MAX_PAYLOAD_BYTES = 4096;
const TOKEN_LIFETIME_SECONDS = 60 * 60;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

class ApnsRefused extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    readonly timestamp?: number,
  ) {
    super(reason);
  }
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function checkProviderToken(
  authorization: string | undefined,
  expected: { keyId: string; teamId: string; publicKey: KeyObject },
  nowSeconds: number,
): void {
  if (!authorization) throw new ApnsRefused(403, 'MissingProviderToken');
  const m = /^bearer (\S+)$/i.exec(authorization);
  const [h, p, s] = (m?.[1] ?? '').split('.');
  if (!h || !p || !s) throw new ApnsRefused(403, 'InvalidProviderToken');
  let head: { alg?: string; kid?: string };
  let claims: { iss?: string; iat?: number };
  try {
    head = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as typeof head;
    claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as typeof claims;
  } catch {
    throw new ApnsRefused(403, 'InvalidProviderToken');
  }
  if (head.alg !== 'ES256' || head.kid !== expected.keyId || claims.iss !== expected.teamId)
    throw new ApnsRefused(403, 'InvalidProviderToken');
  const signature = Buffer.from(s, 'base64url');
  const valid =
    signature.length === 64 &&
    verify('sha256', Buffer.from(`${h}.${p}`), { key: expected.publicKey, dsaEncoding: 'ieee-p1363' }, signature);
  if (!valid) throw new ApnsRefused(403, 'InvalidProviderToken');
  if (typeof claims.iat !== 'number' || claims.iat > nowSeconds + 60)
    throw new ApnsRefused(403, 'InvalidProviderToken');
  if (nowSeconds - claims.iat > TOKEN_LIFETIME_SECONDS) throw new ApnsRefused(403, 'ExpiredProviderToken');
}

export async function startApnsEmulator(options: ApnsEmulatorOptions = {}): Promise<ApnsEmulator> {
  const bundleId = options.bundleId ?? 'com.clutch.app';
  const teamId = options.teamId ?? 'CLUTCHTEAM';
  const keyId = options.keyId ?? randomBytes(5).toString('hex').toUpperCase();
  const tls = await createTestTls(['127.0.0.1', 'localhost']);
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const signingKey = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const devices = new Map<string, { active: boolean; unregisteredAt: number | null }>();
  const received: ApnsNotification[] = [];
  const requests: ApnsRequestRecord[] = [];
  const failures: Injected<{ reason: ApnsReason; retryAfterSeconds?: number | undefined }>[] = [];
  const waiter = logWaiter(received);

  function accept(headers: IncomingHttpHeaders, body: Buffer, size: number, token: string): ApnsNotification {
    checkProviderToken(header(headers, 'authorization'), { keyId, teamId, publicKey }, Math.floor(Date.now() / 1000));
    const topic = header(headers, 'apns-topic');
    if (!topic) throw new ApnsRefused(400, 'MissingTopic');
    if (topic !== bundleId) throw new ApnsRefused(400, 'BadTopic');
    const pushType = header(headers, 'apns-push-type');
    if (!pushType || !PUSH_TYPES.has(pushType)) throw new ApnsRefused(400, 'InvalidPushType');
    const priorityHeader = header(headers, 'apns-priority');
    const priority = priorityHeader === undefined ? 10 : Number(priorityHeader);
    if (![1, 5, 10].includes(priority)) throw new ApnsRefused(400, 'BadPriority');
    const id = header(headers, 'apns-id');
    if (id !== undefined && !UUID.test(id)) throw new ApnsRefused(400, 'BadMessageId');
    const expirationHeader = header(headers, 'apns-expiration');
    if (expirationHeader !== undefined && !/^\d+$/.test(expirationHeader))
      throw new ApnsRefused(400, 'BadExpirationDate');
    const collapseId = header(headers, 'apns-collapse-id') ?? null;
    if (collapseId !== null && Buffer.byteLength(collapseId) > 64) throw new ApnsRefused(400, 'BadCollapseId');
    if (!/^[0-9a-f]{64,200}$/i.test(token) || token.length % 2 !== 0) throw new ApnsRefused(400, 'BadDeviceToken');
    const failure = takeInjected(failures);
    if (failure) {
      const f = new ApnsRefused(
        REASON_STATUS[failure.reason],
        failure.reason,
        failure.reason === 'Unregistered' ? Date.now() : undefined,
      );
      throw Object.assign(f, { retryAfterSeconds: failure.retryAfterSeconds });
    }
    const device = devices.get(token.toLowerCase());
    if (device && !device.active) throw new ApnsRefused(410, 'Unregistered', device.unregisteredAt ?? Date.now());
    if (!device && !options.acceptUnknownTokens) throw new ApnsRefused(400, 'BadDeviceToken');
    if (size > MAX_PAYLOAD_BYTES) throw new ApnsRefused(413, 'PayloadTooLarge');
    if (size === 0) throw new ApnsRefused(400, 'PayloadEmpty');
    let payload: ApnsNotification['payload'];
    try {
      payload = JSON.parse(body.toString('utf8')) as ApnsNotification['payload'];
    } catch {
      throw new ApnsRefused(400, 'BadPayload');
    }
    if (typeof payload !== 'object' || payload === null || typeof payload.aps !== 'object')
      throw new ApnsRefused(400, 'BadPayload');
    return {
      apnsId: id ?? randomUUID().toUpperCase(),
      token: token.toLowerCase(),
      topic,
      pushType,
      priority,
      collapseId,
      expiration: expirationHeader !== undefined ? Number(expirationHeader) : null,
      payload,
      receivedAt: new Date(),
    };
  }

  function onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (c: Buffer) => {
      size += c.length;
      // Past the limit the payload is refused anyway: count it, do not keep it.
      if (size <= MAX_PAYLOAD_BYTES) chunks.push(c);
    });
    stream.on('end', () => {
      const path = header(headers, ':path') ?? '';
      const match = /^\/3\/device\/([^/?]+)$/.exec(path);
      const token = match?.[1] ?? '';
      const respond = (status: number, extra: Record<string, string | number>, body?: unknown) => {
        if (stream.destroyed) return;
        stream.respond({ ':status': status, ...extra, ...(body ? { 'content-type': 'application/json' } : {}) });
        stream.end(body ? JSON.stringify(body) : undefined);
      };
      try {
        if (header(headers, ':method') !== 'POST') throw new ApnsRefused(405, 'MethodNotAllowed');
        if (!match) throw new ApnsRefused(404, 'BadPath');
        const note = accept(headers, Buffer.concat(chunks), size, token);
        received.push(note);
        requests.push({ token, status: 200, reason: null });
        respond(200, { 'apns-id': note.apnsId, 'apns-unique-id': randomUUID() });
        waiter.notify();
      } catch (err) {
        if (!(err instanceof ApnsRefused)) {
          requests.push({ token, status: 500, reason: 'InternalServerError' });
          return respond(500, {}, { reason: 'InternalServerError' });
        }
        requests.push({ token, status: err.status, reason: err.reason });
        const retryAfter = (err as ApnsRefused & { retryAfterSeconds?: number }).retryAfterSeconds;
        respond(
          err.status,
          {
            'apns-id': header(headers, 'apns-id') ?? randomUUID().toUpperCase(),
            ...(retryAfter !== undefined ? { 'retry-after': retryAfter } : {}),
          },
          err.timestamp !== undefined ? { reason: err.reason, timestamp: err.timestamp } : { reason: err.reason },
        );
      }
    });
  }

  const sessions = new Set<ServerHttp2Session>();
  const server = createSecureServer({ key: tls.key, cert: tls.cert, allowHTTP1: false });
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  server.on('stream', onStream);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `https://127.0.0.1:${port}`,
    address: '127.0.0.1',
    port,
    ca: tls.ca,
    bundleId,
    token: { key: signingKey, keyId, teamId },
    registerDevice() {
      const token = randomBytes(32).toString('hex');
      devices.set(token, { active: true, unregisteredAt: null });
      return token;
    },
    unregisterDevice(token, at = new Date()) {
      devices.set(token.toLowerCase(), { active: false, unregisteredAt: at.getTime() });
    },
    received,
    requests,
    waitFor: waiter.waitFor,
    failNext(reason, opts = {}) {
      failures.push({ value: { reason, retryAfterSeconds: opts.retryAfterSeconds }, times: opts.times ?? 1 });
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sessions) s.close();
        server.close(() => resolve());
        for (const s of sessions) s.destroy();
      }),
  };
}
