import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { Agent } from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createSecureContext, rootCertificates } from 'node:tls';
import {
  apnsSender,
  describeStorage,
  emailSender,
  fcmSender,
  openStorage,
  parseChatKeys,
  parseStorageConfig,
  smsSender,
  webPushSender,
  type ChannelSender,
  type ChatKeyRing,
  type NotificationChannels,
  type ObjectStorage,
  type StorageConfig,
} from '@clutch/api';
import {
  startSmtpEmulator,
  startWebPushEmulator,
  type SmtpEmulator,
  type WebPushEmulator,
  type WebPushSubscription,
} from '@clutch/emulators';
import { createDevSmsSender, smtpMailer, type Mailer, type SmsSender } from '@clutch/identity';
import type { Logger } from 'pino';
import { openDevInboxLog } from './dev-inbox-log.js';

/**
 * Chat and notifications from the environment (README "Communication", docs/configuration.md):
 *
 * | variable | meaning |
 * |---|---|
 * | `CLUTCH_VAPID_PUBLIC_KEY`, `CLUTCH_VAPID_PRIVATE_KEY`, `CLUTCH_VAPID_SUBJECT` | Web Push's VAPID key pair (base64url, as `npx web-push generate-vapid-keys` prints) and contact (`mailto:` or `https:`); unset, a pair is made once in `data/communication/vapid.json` |
 * | `CLUTCH_WEB_PUSH_CA` | a CA (PEM, or its path) trusted for push services besides the system's: a self-hosted push service, or a local one run apart (the realtime bench's) |
 * | `CLUTCH_WEB_PUSH_CONNECTIONS` | kept-alive HTTPS connections per push service, and pushes a send batch has in flight (default 32) |
 * | `CLUTCH_SMTP_CONNECTIONS` | pooled SMTP connections to `CLUTCH_SMTP_URL` (default 20, under Postfix's 50 per client; each carries one message at a time, so they bound the mail rate) |
 * | `CLUTCH_FCM_SERVICE_ACCOUNT`, `CLUTCH_FCM_PROJECT_ID` | Firebase service account (path of the JSON key, or the JSON itself); unset, no FCM |
 * | `CLUTCH_APNS_KEY`, `CLUTCH_APNS_KEY_ID`, `CLUTCH_APNS_TEAM_ID`, `CLUTCH_APNS_BUNDLE_ID` | APNs token auth (.p8 path or PEM); unset, no APNs; `CLUTCH_APNS_SANDBOX=1` for Apple's sandbox, `CLUTCH_APNS_HOST` (host[:port]) for another server |
 * | `CLUTCH_SMTP_URL`, `CLUTCH_MAIL_FROM` | notification mail; unset, the dev mailbox (a capturing SMTP server in this process) |
 * | `TWILIO_*` | SMS, shared with sign-in codes (api/src/mfa/config.ts); unset, texts go to the log |
 * | `CLUTCH_PUBLIC_URL` | the origin links in mail and SMS point at; unset, the API's own URL |
 * | `CLUTCH_STORAGE` | uploads (api/src/storage/config.ts): unset = local disk in `data/attachments`, a path or `file:///dir`, or `s3://bucket[/prefix][?endpoint=&region=&pathStyle=]` |
 * | `CLUTCH_CHAT_KEYS` | `{"current":"k2","keys":{"k1":"<base64 32 bytes>",...}}`; unset, one key made once in `data/communication/chat-keys.json` |
 * | `CLUTCH_DEV_MAILBOX_PORT` | port of the dev mailbox's JSON listing (default: any free port, printed at start) |
 */
export interface CommunicationConfig {
  vapid?: { publicKey: string; privateKey: string; subject: string } | undefined;
  /** CLUTCH_WEB_PUSH_CA: PEM of a push service's private CA. */
  webPushCa?: string | undefined;
  /** CLUTCH_WEB_PUSH_CONNECTIONS: connections per push service, and pushes in flight per send batch. */
  webPushConnections: number;
  /** CLUTCH_SMTP_CONNECTIONS: the SMTP pool's size. */
  smtpConnections: number;
  fcm?: { serviceAccount: string | Record<string, unknown>; projectId?: string | undefined } | undefined;
  apns?:
    | { key: string; keyId: string; teamId: string; bundleId: string; sandbox: boolean; host?: string | undefined }
    | undefined;
  smtp?: { url: string; from: string } | undefined;
  mailFrom: string;
  publicUrl?: string | undefined;
  /** Parsed by api/src/storage/config.ts (`parseStorageConfig`). */
  storage: StorageConfig;
  chatKeys?: string | undefined;
  /** Where generated keys are kept: `data/communication` beside the PGlite folder. */
  dir: string;
  mailboxPort: number;
}

const trimmed = (v: string | undefined): string | undefined => (v?.trim() ? v.trim() : undefined);

/** A connection count from the environment: a whole number from 1 to 1,000, else `fallback` when unset. */
function connections(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = trimmed(env[name]);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 1000)
    throw new Error(`${name} must be a whole number from 1 to 1000, got ${raw}`);
  return n;
}

/** Reads a value that may be a file's path or the content itself (keys, service accounts). */
function fileOrText(value: string): string {
  return !value.trimStart().startsWith('{') && !value.includes('-----BEGIN') && existsSync(value)
    ? readFileSync(value, 'utf8')
    : value;
}

export function communicationConfig(env: NodeJS.ProcessEnv, dataDir: string): CommunicationConfig {
  const dataRoot = path.dirname(dataDir);
  const vapidPublic = trimmed(env.CLUTCH_VAPID_PUBLIC_KEY);
  const vapidPrivate = trimmed(env.CLUTCH_VAPID_PRIVATE_KEY);
  if ((vapidPublic === undefined) !== (vapidPrivate === undefined))
    throw new Error('CLUTCH_VAPID_PUBLIC_KEY and CLUTCH_VAPID_PRIVATE_KEY go together');
  const subject = trimmed(env.CLUTCH_VAPID_SUBJECT) ?? 'mailto:notifications@clutch.invalid';
  const fcmAccount = trimmed(env.CLUTCH_FCM_SERVICE_ACCOUNT);
  const apnsKey = trimmed(env.CLUTCH_APNS_KEY);
  const apns = apnsKey
    ? {
        key: fileOrText(apnsKey),
        keyId: trimmed(env.CLUTCH_APNS_KEY_ID) ?? '',
        teamId: trimmed(env.CLUTCH_APNS_TEAM_ID) ?? '',
        bundleId: trimmed(env.CLUTCH_APNS_BUNDLE_ID) ?? '',
        sandbox: env.CLUTCH_APNS_SANDBOX === '1' || env.CLUTCH_APNS_SANDBOX === 'true',
        host: trimmed(env.CLUTCH_APNS_HOST),
      }
    : undefined;
  if (apns && (!apns.keyId || !apns.teamId || !apns.bundleId))
    throw new Error('CLUTCH_APNS_KEY needs CLUTCH_APNS_KEY_ID, CLUTCH_APNS_TEAM_ID and CLUTCH_APNS_BUNDLE_ID');
  const mailFrom = trimmed(env.CLUTCH_MAIL_FROM) ?? 'Clutch <no-reply@localhost>';
  const smtpUrl = trimmed(env.CLUTCH_SMTP_URL);
  const webPushCa = trimmed(env.CLUTCH_WEB_PUSH_CA);
  const mailboxPort = Number(trimmed(env.CLUTCH_DEV_MAILBOX_PORT) ?? '0');
  if (!Number.isInteger(mailboxPort) || mailboxPort < 0 || mailboxPort > 65535)
    throw new Error(`CLUTCH_DEV_MAILBOX_PORT must be a port number, got ${env.CLUTCH_DEV_MAILBOX_PORT}`);
  return {
    vapid: vapidPublic && vapidPrivate ? { publicKey: vapidPublic, privateKey: vapidPrivate, subject } : undefined,
    webPushCa: webPushCa ? fileOrText(webPushCa) : undefined,
    webPushConnections: connections(env, 'CLUTCH_WEB_PUSH_CONNECTIONS', 32),
    smtpConnections: connections(env, 'CLUTCH_SMTP_CONNECTIONS', 20),
    fcm: fcmAccount
      ? {
          serviceAccount: JSON.parse(fileOrText(fcmAccount)) as Record<string, unknown>,
          projectId: trimmed(env.CLUTCH_FCM_PROJECT_ID),
        }
      : undefined,
    apns,
    smtp: smtpUrl ? { url: smtpUrl, from: mailFrom } : undefined,
    mailFrom,
    publicUrl: trimmed(env.CLUTCH_PUBLIC_URL)?.replace(/\/+$/, ''),
    storage: parseStorageConfig(env.CLUTCH_STORAGE, path.join(dataRoot, 'attachments')),
    chatKeys: trimmed(env.CLUTCH_CHAT_KEYS),
    dir: path.join(dataRoot, 'communication'),
    mailboxPort,
  };
}

/** Writes a file only its owner reads, atomically (a crash never leaves half a key). */
function writeSecret(file: string, content: string): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, content, { mode: 0o600 });
  renameSync(tmp, file);
}

/** A VAPID key pair (P-256), base64url as web-push expects: the public key an uncompressed point. */
export function generateVapidKeys(): { publicKey: string; privateKey: string } {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const pub = publicKey.export({ format: 'jwk' });
  const priv = privateKey.export({ format: 'jwk' });
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(pub.x!, 'base64url'), Buffer.from(pub.y!, 'base64url')]);
  return { publicKey: point.toString('base64url'), privateKey: priv.d! };
}

/** The VAPID pair in `file`, made on first use: subscriptions are bound to it, so it must outlive restarts. */
export function loadOrCreateVapidKeys(file: string): { publicKey: string; privateKey: string } {
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as { publicKey: string; privateKey: string };
  const keys = generateVapidKeys();
  writeSecret(file, `${JSON.stringify(keys, null, 2)}\n`);
  return keys;
}

/** The chat key ring in `file`, made on first use (one random 32-byte key): sealed bodies must open after a restart. */
export function loadOrCreateChatKeys(file: string): ChatKeyRing {
  if (!existsSync(file))
    writeSecret(
      file,
      `${JSON.stringify({ current: 'k1', keys: { k1: randomBytes(32).toString('base64') } }, null, 2)}\n`,
    );
  return parseChatKeys(readFileSync(file, 'utf8'));
}

/**
 * A sender whose real one is built at the first send: mail and SMS links need the platform's public
 * origin, which (without CLUTCH_PUBLIC_URL) is the API's URL, known only once it listens.
 */
function lazySender(
  channel: ChannelSender['channel'],
  build: () => ChannelSender,
  concurrency?: number,
): ChannelSender {
  let built: ChannelSender | undefined;
  return {
    channel,
    ...(concurrency !== undefined ? { concurrency } : {}),
    send: (target, message) => (built ??= build()).send(target, message),
  };
}

export interface RunningCommunication {
  channels: NotificationChannels;
  storage: ObjectStorage;
  chatKeys: ChatKeyRing;
  /** The dev mailbox (no CLUTCH_SMTP_URL): every notification mail lands here. */
  mailbox?: SmtpEmulator | undefined;
  /**
   * The platform's other mail (account mail, receipts) into the same dev mailbox, when it runs: what
   * `npm start` sends is all in one place. Absent: those keep their own settings (CLUTCH_SMTP_URL, else the log).
   */
  devMailer?: Mailer | undefined;
  /** The local Web Push service (always in npm start): subscriptions it hands out work without a browser vendor's service. */
  pushService?: WebPushEmulator | undefined;
  /** The dev mailbox's JSON listing (mail and pushes received), when it runs. */
  mailboxUrl?: string | undefined;
  /** Mail and SMS links point here once the API listens (no-op with CLUTCH_PUBLIC_URL). */
  pointLinksAt(apiUrl: string): void;
  close(): Promise<void>;
}

/**
 * The notification channels, upload storage and chat keys of this process. `emulate` (the
 * one-process `npm start` in its open dev mode; not with --require-auth): without CLUTCH_SMTP_URL
 * the SMTP capture server runs here as the dev
 * mailbox, and a local Web Push service runs beside the real ones (the sender trusts both the
 * system's CAs and the local service's), so the demo shows a push end to end. Scaled-out roles pass
 * `emulate: false`: processes could not share an in-process mailbox, so without SMTP there is no
 * e-mail channel there.
 */
export async function startCommunication(
  config: CommunicationConfig,
  logger: Logger,
  options: { emulate?: boolean; sms?: SmsSender | undefined } = {},
): Promise<RunningCommunication> {
  const log = logger.child({ component: 'communication' });
  const emulate = options.emulate !== false;
  const closers: (() => Promise<void> | void)[] = [];
  const close = async (): Promise<void> => {
    for (const c of closers.reverse()) await Promise.resolve(c()).catch(() => {});
  };
  try {
    let linkBase = config.publicUrl ?? 'http://localhost:3000';
    const channels: NotificationChannels = {};

    // Web Push: configured keys, else a pair kept in data/communication.
    const vapidKeys = config.vapid ?? loadOrCreateVapidKeys(path.join(config.dir, 'vapid.json'));
    let pushService: WebPushEmulator | undefined;
    if (emulate) {
      // Its subscriptions (and port) kept beside the dev mailbox: the devices the platform registered
      // still reach it after a restart, as a browser's subscriptions outlive one.
      pushService = await startWebPushEmulator({
        subscriptionsFile: path.join(config.dir, 'dev-push-subscriptions.jsonl'),
      });
      closers.push(() => pushService?.close());
    }
    // Private CAs (the local push service's, CLUTCH_WEB_PUSH_CA's) beside the system's, in a secure
    // context made once: as the agent's `ca` option they were joined into its connection key on every
    // request and loaded again for every connection: about 1 ms of CPU per push.
    const privateCas = [pushService?.ca, config.webPushCa].filter((ca): ca is string => ca !== undefined);
    // Kept-alive connections, at most `webPushConnections` per push service (a TLS handshake per
    // push costs both sides about a millisecond); a batch's pushes beyond them wait in the agent.
    const sockets = {
      keepAlive: true,
      maxSockets: config.webPushConnections,
      maxFreeSockets: config.webPushConnections,
    };
    const agent =
      privateCas.length > 0
        ? new Agent({
            ...sockets,
            secureContext: createSecureContext({ ca: [...rootCertificates, ...privateCas] }),
          })
        : new Agent(sockets);
    closers.push(() => agent.destroy());
    const webPush = webPushSender({
      vapid: { ...vapidKeys, subject: config.vapid?.subject ?? 'mailto:notifications@clutch.invalid' },
      agent,
      concurrency: config.webPushConnections,
    });
    closers.push(() => webPush.close());
    channels.web_push = webPush;

    if (config.fcm) {
      const fcm = fcmSender({
        serviceAccount: config.fcm.serviceAccount,
        ...(config.fcm.projectId ? { projectId: config.fcm.projectId } : {}),
      });
      closers.push(() => fcm.close());
      channels.fcm = fcm;
      log.info('FCM configured');
    }
    if (config.apns) {
      const [host, port] = (config.apns.host ?? '').split(':');
      const apns = apnsSender({
        token: { key: config.apns.key, keyId: config.apns.keyId, teamId: config.apns.teamId },
        bundleId: config.apns.bundleId,
        production: !config.apns.sandbox,
        ...(host ? { address: host } : {}),
        ...(port ? { port: Number(port) } : {}),
      });
      closers.push(() => apns.close());
      channels.apns = apns;
      log.info({ sandbox: config.apns.sandbox }, 'APNs configured');
    }

    // E-mail: SMTP when configured, else the dev mailbox in this process.
    let mailbox: SmtpEmulator | undefined;
    let smtpUrl = config.smtp?.url;
    if (!smtpUrl && emulate) {
      mailbox = await startSmtpEmulator({ host: '127.0.0.1' });
      closers.push(() => mailbox?.close());
      smtpUrl = mailbox.url;
    }
    let devMailer: (Mailer & { close(): void }) | undefined;
    if (mailbox) {
      devMailer = smtpMailer({ url: mailbox.url, from: config.mailFrom });
      closers.push(() => devMailer?.close());
    }
    if (smtpUrl) {
      const url = smtpUrl;
      let email: (ChannelSender & { close(): void }) | undefined;
      channels.email = lazySender(
        'email',
        () =>
          (email = emailSender({
            smtpUrl: url,
            from: config.mailFrom,
            baseUrl: linkBase,
            maxConnections: config.smtpConnections,
          })),
        config.smtpConnections,
      );
      closers.push(() => email?.close());
    } else log.warn('no CLUTCH_SMTP_URL: no e-mail notifications from this process');

    // SMS through identity's sender (Twilio from TWILIO_*), else the log, as sign-in codes do.
    const sms =
      options.sms ??
      createDevSmsSender((m) =>
        log.info({ to: m.to, body: m.body }, 'SMS (development sender: no provider configured)'),
      );
    channels.sms = lazySender('sms', () => smsSender(sms, { baseUrl: linkBase }));

    const storage = openStorage(config.storage);
    log.info({ storage: describeStorage(config.storage) }, 'uploads stored');
    const chatKeys = config.chatKeys
      ? parseChatKeys(config.chatKeys)
      : loadOrCreateChatKeys(path.join(config.dir, 'chat-keys.json'));

    let listing: { url: string; server: Server } | undefined;
    if (mailbox || pushService) {
      // Kept under the data directory: a restart still lists what the demo received (dev-inbox-log.ts).
      const mailLog = mailbox
        ? await openDevInboxLog(path.join(config.dir, 'dev-mailbox.jsonl'), mailbox.messages, mailView)
        : undefined;
      if (mailLog) closers.push(() => mailLog.close());
      const pushLog = pushService
        ? await openDevInboxLog(path.join(config.dir, 'dev-push.jsonl'), pushService.received, pushView)
        : undefined;
      if (pushLog) closers.push(() => pushLog.close());
      listing = await startMailboxListing(
        config.mailboxPort,
        { mail: () => mailLog?.list() ?? [], push: () => pushLog?.list() ?? [] },
        pushService,
        vapidKeys.publicKey,
      );
      const server = listing.server;
      closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
      log.info(
        { url: listing.url, dir: config.dir },
        'dev mailbox: notification mail and pushes are listed here and kept in the data directory',
      );
    }
    return {
      channels,
      storage,
      chatKeys,
      mailbox,
      devMailer,
      pushService,
      mailboxUrl: listing?.url,
      pointLinksAt(apiUrl) {
        if (!config.publicUrl) linkBase = apiUrl.replace('127.0.0.1', 'localhost').replace(/\/+$/, '');
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** A mail as the dev mailbox lists (and keeps) it. */
const mailView = (m: SmtpEmulator['messages'][number]) => ({
  id: m.id,
  receivedAt: m.receivedAt.toISOString(),
  from: m.from,
  to: m.to,
  subject: m.subject,
  text: m.text,
});

/** A push as the dev mailbox lists (and keeps) it: decrypted. */
const pushView = (p: WebPushEmulator['received'][number]) => ({
  id: p.id,
  receivedAt: p.receivedAt.toISOString(),
  endpoint: p.endpoint,
  urgency: p.urgency,
  data: p.data ?? p.payload,
});

/**
 * The dev mailbox's listing on loopback, as JSON: `GET /` (both), `/mail`, `/push`, and `POST
 * /push/subscribe`, which returns a subscription of the local push service for this platform's VAPID
 * key, as `PushManager.subscribe()` would: register it with `POST /api/notifications/devices` and
 * the pushes sent to it show up under `/push`, decrypted. What it lists is kept in the data
 * directory (`communication/dev-mailbox.jsonl`, `communication/dev-push.jsonl`; dev-inbox-log.ts):
 * after a restart it still shows what earlier runs received (at most the last 10,000 of each).
 */
async function startMailboxListing(
  port: number,
  { mail, push }: { mail: () => unknown[]; push: () => unknown[] },
  pushService: WebPushEmulator | undefined,
  vapidPublicKey: string,
): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
      res.end(`${JSON.stringify(body, null, 2)}\n`);
    };
    const route = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && route === '/') return send(200, { mail: mail(), push: push() });
    if (req.method === 'GET' && route === '/mail') return send(200, mail());
    if (req.method === 'GET' && route === '/push') return send(200, push());
    if (req.method === 'POST' && route === '/push/subscribe' && pushService) {
      const subscription: WebPushSubscription = pushService.subscribe({ applicationServerKey: vapidPublicKey });
      return send(201, subscription);
    }
    send(404, { error: 'GET /, /mail, /push; POST /push/subscribe' });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  return { url: `http://localhost:${address.port}/`, server };
}
