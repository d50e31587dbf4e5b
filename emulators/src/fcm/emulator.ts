import { generateKeyPairSync, randomBytes, randomUUID, verify } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Agent, createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createTestTls } from '../tls.js';
import { logWaiter, takeInjected, type Injected } from '../wait.js';

/**
 * Firebase Cloud Messaging HTTP v1 and the Google OAuth2 token endpoint it needs, over HTTPS with a
 * throwaway CA. firebase-admin has the hosts hard-coded (`fcm.googleapis.com`,
 * `oauth2.googleapis.com`), so `httpAgent` is an `https.Agent` that sends every connection to this
 * server while keeping the Host header and TLS server name (the certificate names those hosts).
 */
export interface FcmServiceAccount {
  type: 'service_account';
  project_id: string;
  private_key_id: string;
  private_key: string;
  client_email: string;
  client_id: string;
  token_uri: string;
}

export interface FcmMessage {
  /** `projects/<project>/messages/<id>`, as the API answers. */
  name: string;
  token: string;
  notification: { title?: string; body?: string; image?: string } | null;
  data: Record<string, string>;
  android: Record<string, unknown> | null;
  apns: Record<string, unknown> | null;
  webpush: Record<string, unknown> | null;
  receivedAt: Date;
}

export type FcmErrorCode =
  | 'UNREGISTERED'
  | 'INVALID_ARGUMENT'
  | 'SENDER_ID_MISMATCH'
  | 'QUOTA_EXCEEDED'
  | 'UNAVAILABLE'
  | 'INTERNAL'
  | 'THIRD_PARTY_AUTH_ERROR';

export interface FcmEmulatorOptions {
  projectId?: string;
  /** Accept any well-formed token, not only those from `registerToken()` (load tests). */
  acceptUnknownTokens?: boolean;
  port?: number;
}

export interface FcmEmulator {
  /** `https://127.0.0.1:<port>` */
  url: string;
  ca: string;
  projectId: string;
  /** A service account key made for this emulator: `cert(serviceAccount)` authenticates against it. */
  serviceAccount: FcmServiceAccount;
  /** Pass as firebase-admin's `httpAgent` (app option and `cert(..., httpAgent)`). */
  httpAgent: Agent;
  /** A registration token, as the FCM SDK on a device would obtain. */
  registerToken(): string;
  /** The app was uninstalled / the token expired: later sends answer 404 UNREGISTERED. */
  unregisterToken(token: string): void;
  /** Messages accepted (not `validate_only`), oldest first. */
  readonly received: FcmMessage[];
  /** Access tokens issued by the OAuth2 endpoint. */
  readonly accessTokensIssued: number;
  waitFor(match: (m: FcmMessage) => boolean, timeoutMs?: number): Promise<FcmMessage>;
  /** The next `times` sends answer this documented error (status follows from the code). */
  failNext(code: FcmErrorCode, options?: { times?: number; retryAfterSeconds?: number }): void;
  close(): Promise<void>;
}

const STATUS: Record<FcmErrorCode, [number, string]> = {
  UNREGISTERED: [404, 'NOT_FOUND'],
  INVALID_ARGUMENT: [400, 'INVALID_ARGUMENT'],
  SENDER_ID_MISMATCH: [403, 'PERMISSION_DENIED'],
  QUOTA_EXCEEDED: [429, 'RESOURCE_EXHAUSTED'],
  UNAVAILABLE: [503, 'UNAVAILABLE'],
  INTERNAL: [500, 'INTERNAL'],
  THIRD_PARTY_AUTH_ERROR: [401, 'UNAUTHENTICATED'],
};
const MESSAGES: Record<FcmErrorCode, string> = {
  UNREGISTERED: 'Requested entity was not found.',
  INVALID_ARGUMENT: 'The registration token is not a valid FCM registration token',
  SENDER_ID_MISMATCH: 'SenderId mismatch',
  QUOTA_EXCEEDED: 'Quota exceeded for quota metric',
  UNAVAILABLE: 'The service is currently unavailable.',
  INTERNAL: 'Internal error encountered.',
  THIRD_PARTY_AUTH_ERROR: 'Auth error from APNS or Web Push Service',
};
const TOKEN_AUDIENCE = 'https://oauth2.googleapis.com/token';
const FCM_SCOPES = [
  'https://www.googleapis.com/auth/firebase.messaging',
  'https://www.googleapis.com/auth/cloud-platform',
];
/** FCM refuses notification + data payloads above 4096 bytes. */
const MAX_PAYLOAD_BYTES = 4096;
/** Shape of real tokens: an instance id, a colon, then a long base64url string. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{11,}:[A-Za-z0-9_-]{100,}$/;

class FcmRefused extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(JSON.stringify(body));
  }
}

function fcmError(code: FcmErrorCode, message = MESSAGES[code]): FcmRefused {
  const [status, canonical] = STATUS[code];
  return new FcmRefused(status, {
    error: {
      code: status,
      message,
      status: canonical,
      details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: code }],
    },
  });
}

function googleError(status: number, canonical: string, message: string): FcmRefused {
  return new FcmRefused(status, { error: { code: status, message, status: canonical } });
}

async function readText(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 1_000_000) throw googleError(413, 'INVALID_ARGUMENT', 'Request too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function startFcmEmulator(options: FcmEmulatorOptions = {}): Promise<FcmEmulator> {
  const projectId = options.projectId ?? 'clutch-emulated';
  const tls = await createTestTls(['fcm.googleapis.com', 'oauth2.googleapis.com', 'localhost', '127.0.0.1']);
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const serviceAccount: FcmServiceAccount = {
    type: 'service_account',
    project_id: projectId,
    private_key_id: randomBytes(20).toString('hex'),
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    client_email: `firebase-adminsdk@${projectId}.iam.gserviceaccount.com`,
    client_id: String(100_000_000_000 + Math.floor(Math.random() * 1e11)),
    token_uri: TOKEN_AUDIENCE,
  };
  const signer = publicKey;
  const tokens = new Map<string, boolean>();
  const accessTokens = new Set<string>();
  const received: FcmMessage[] = [];
  const failures: Injected<{ code: FcmErrorCode; retryAfterSeconds?: number | undefined }>[] = [];
  const waiter = logWaiter(received);

  function issueAccessToken(form: URLSearchParams): unknown {
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer')
      throw new FcmRefused(400, { error: 'unsupported_grant_type', error_description: 'Invalid grant_type' });
    const invalid = (description: string) =>
      new FcmRefused(400, { error: 'invalid_grant', error_description: description });
    const [h, p, s] = (form.get('assertion') ?? '').split('.');
    if (!h || !p || !s) throw invalid('Invalid JWT.');
    let header: { alg?: string; kid?: string };
    let claims: { iss?: string; aud?: string; scope?: string; iat?: number; exp?: number };
    try {
      header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as typeof header;
      claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as typeof claims;
    } catch {
      throw invalid('Invalid JWT.');
    }
    if (header.alg !== 'RS256') throw invalid('Invalid JWT: alg must be RS256.');
    if (!verify('sha256', Buffer.from(`${h}.${p}`), signer, Buffer.from(s, 'base64url')))
      throw invalid('Invalid JWT Signature.');
    if (header.kid !== undefined && header.kid !== serviceAccount.private_key_id) throw invalid('Invalid key id.');
    if (claims.iss !== serviceAccount.client_email) throw invalid('Invalid issuer.');
    if (claims.aud !== TOKEN_AUDIENCE) throw invalid('Invalid JWT: Token must be a short-lived token.');
    const now = Math.floor(Date.now() / 1000);
    if (typeof claims.exp !== 'number' || typeof claims.iat !== 'number' || claims.exp - claims.iat > 3600)
      throw invalid('Invalid JWT: Token must be a short-lived token (60 minutes).');
    if (claims.exp < now - 60)
      throw invalid('Invalid JWT: Token must be a short-lived token and in a reasonable timeframe.');
    const scopes = (claims.scope ?? '').split(' ');
    if (!FCM_SCOPES.some((scope) => scopes.includes(scope))) throw invalid('Invalid scope.');
    const token = `ya29.${randomBytes(32).toString('base64url')}`;
    accessTokens.add(token);
    return { access_token: token, expires_in: 3599, token_type: 'Bearer' };
  }

  function sendMessage(req: IncomingMessage, project: string, body: unknown): unknown {
    const auth = req.headers.authorization ?? '';
    const bearer = /^Bearer (\S+)$/.exec(auth)?.[1];
    if (!bearer || !accessTokens.has(bearer))
      throw googleError(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.');
    if (project !== projectId) throw googleError(403, 'PERMISSION_DENIED', `Permission denied on project ${project}`);
    const request = body as { message?: Record<string, unknown>; validate_only?: boolean };
    const message = request?.message;
    if (typeof message !== 'object' || message === null)
      throw googleError(400, 'INVALID_ARGUMENT', 'Invalid JSON payload: message is required');
    const targets = ['token', 'topic', 'condition'].filter((k) => message[k] !== undefined);
    if (targets.length !== 1) throw googleError(400, 'INVALID_ARGUMENT', 'Exactly one of token, topic or condition');
    if (typeof message.token !== 'string')
      throw googleError(400, 'INVALID_ARGUMENT', 'Only token targets are emulated');
    const data = (message.data ?? {}) as Record<string, unknown>;
    if (typeof data !== 'object' || Object.values(data).some((v) => typeof v !== 'string'))
      throw googleError(400, 'INVALID_ARGUMENT', 'Invalid value at message.data: values must be strings');
    const failure = takeInjected(failures);
    if (failure) {
      const refused = fcmError(failure.code);
      if (failure.retryAfterSeconds !== undefined)
        Object.assign(refused, { retryAfter: String(failure.retryAfterSeconds) });
      throw refused;
    }
    const token = message.token;
    if (!TOKEN_SHAPE.test(token)) throw fcmError('INVALID_ARGUMENT');
    const registered = tokens.get(token);
    if (registered === false || (registered === undefined && !options.acceptUnknownTokens))
      throw fcmError('UNREGISTERED');
    const payloadSize = Buffer.byteLength(JSON.stringify({ notification: message.notification ?? null, data }));
    if (payloadSize > MAX_PAYLOAD_BYTES)
      throw fcmError('INVALID_ARGUMENT', `Message is too big: ${payloadSize} bytes, the limit is ${MAX_PAYLOAD_BYTES}`);
    if (request.validate_only) return { name: `projects/${projectId}/messages/fake_message_id` };
    const name = `projects/${projectId}/messages/0:${Date.now()}%${randomUUID().replaceAll('-', '').slice(0, 16)}`;
    received.push({
      name,
      token,
      notification: (message.notification as FcmMessage['notification']) ?? null,
      data: data as Record<string, string>,
      android: (message.android as Record<string, unknown>) ?? null,
      apns: (message.apns as Record<string, unknown>) ?? null,
      webpush: (message.webpush as Record<string, unknown>) ?? null,
      receivedAt: new Date(),
    });
    waiter.notify();
    return { name };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const host = (req.headers.host ?? '').split(':')[0];
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', ...headers });
      res.end(JSON.stringify(body));
    };
    try {
      const text = await readText(req);
      if (req.method === 'POST' && path === '/token' && host !== 'fcm.googleapis.com') {
        return answer(200, issueAccessToken(new URLSearchParams(text)));
      }
      const send = /^\/v1\/projects\/([^/]+)\/messages:send$/.exec(path);
      if (req.method === 'POST' && send && host !== 'oauth2.googleapis.com') {
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          throw googleError(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.');
        }
        return answer(200, sendMessage(req, decodeURIComponent(send[1] ?? ''), body));
      }
      throw googleError(404, 'NOT_FOUND', `${req.method} ${path} is not emulated`);
    } catch (err) {
      if (err instanceof FcmRefused) {
        const retryAfter = (err as FcmRefused & { retryAfter?: string }).retryAfter;
        return answer(err.status, err.body, retryAfter !== undefined ? { 'retry-after': retryAfter } : {});
      }
      throw err;
    }
  }

  const server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  // Agent options override the request's host and port when the socket is made; the Host header
  // (and from it the TLS server name checked against the certificate) stays the Google host.
  const httpAgent = new Agent({ ca: tls.ca, host: '127.0.0.1', port, keepAlive: true });

  return {
    url: `https://127.0.0.1:${port}`,
    ca: tls.ca,
    projectId,
    serviceAccount,
    httpAgent,
    registerToken() {
      const token = `${randomBytes(16).toString('base64url')}:APA91b${randomBytes(100).toString('base64url')}`;
      tokens.set(token, true);
      return token;
    },
    unregisterToken(token) {
      tokens.set(token, false);
    },
    received,
    get accessTokensIssued() {
      return accessTokens.size;
    },
    waitFor: waiter.waitFor,
    failNext(code, opts = {}) {
      failures.push({ value: { code, retryAfterSeconds: opts.retryAfterSeconds }, times: opts.times ?? 1 });
    },
    close: () =>
      new Promise<void>((resolve) => {
        httpAgent.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
