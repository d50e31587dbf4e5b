import { timingSafeEqual } from 'node:crypto';
import type { AuthenticateError, Client, PublishPacket, Subscription } from 'aedes';
import type { Database } from '@clutch/db';
import { deviceCredentialIsLive, parseDeviceUsername, verifyApiKey, verifyDeviceCredential } from '@clutch/identity';
import { clientIdAllowed, describePrincipal, type Principal } from './principal.js';
import { createTokenBucket, type TokenBucket } from './rate-limit.js';
import { createSourceBuckets } from './source-buckets.js';
import { canPublish, canSubscribe } from './topic-acl.js';

export type Decision = { ok: true } | { ok: false; reason: string };
/** CONNACK return codes of MQTT 3.1.1 §3.2.2.3. */
export type AuthDecision =
  { ok: true; principal: Principal } | { ok: false; reason: string; returnCode: AuthenticateError['returnCode'] };

/**
 * A client certificate that the TLS listener verified against its CA (unverified ones never get
 * this far: the connection is closed during the handshake's aftermath).
 */
export interface ClientCertificate {
  subjectCommonName: string;
  /** SHA-256 fingerprint, `AA:BB:...`, for logs. */
  fingerprint256: string;
}

/**
 * Broker policy as plain functions (the shape aedes takes as options), so each rule is testable
 * without a socket. Every refusal carries a reason that the broker logs with the client id.
 */
export interface BrokerPolicy {
  /**
   * Before CONNECT is processed: connect-storm protection. `source` is the client's remote address;
   * its own bucket is drawn first, so one flooding source cannot empty the broker-wide bucket.
   */
  admitConnection(source?: string): Decision;
  /** `certificate` is set when the client presented a verified certificate on the TLS listener. */
  authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    certificate?: ClientCertificate,
  ): Promise<AuthDecision>;
  authorizePublish(client: Client | null, packet: PublishPacket): Decision;
  /**
   * Milliseconds to hold this client's next PUBLISH (its PUBACK follows later, so a client with an
   * in-flight window slows down); Infinity when it is so far over its rate that it is disconnected.
   */
  publishDelay(client: Client): number;
  authorizeSubscribe(client: Client, subscription: Subscription): Decision;
  /** The principal authenticated on this connection. */
  principalOf(client: Client): Principal | undefined;
}

export interface PolicyLimits {
  /** Sustained PUBLISH packets per second per client, and the burst above it. */
  publishRatePerSecond: number;
  publishBurst: number;
  /** A client whose held-back publishes would take longer than this to earn is disconnected. */
  maxPublishDelayMs: number;
  /** New connections per second for the whole broker, and the burst above it. */
  connectRatePerSecond: number;
  connectBurst: number;
  /**
   * New connections per second from one remote address, and the burst above it; drawn before the
   * broker-wide bucket. Devices behind one carrier-grade NAT share an address, hence the burst.
   */
  connectRatePerSourcePerSecond: number;
  connectBurstPerSource: number;
  /** Addresses whose connect buckets are remembered (least recently used ones are forgotten). */
  maxConnectSources: number;
}

export const DEFAULT_LIMITS: PolicyLimits = {
  publishRatePerSecond: 50,
  publishBurst: 500,
  maxPublishDelayMs: 30_000,
  connectRatePerSecond: 500,
  connectBurst: 2000,
  connectRatePerSourcePerSecond: 100,
  connectBurstPerSource: 1000,
  maxConnectSources: 10_000,
};

const BAD_CREDENTIALS = 4;
const NOT_AUTHORIZED = 5;
const SERVER_UNAVAILABLE = 3;

interface PolicyCore {
  identify(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    certificate: ClientCertificate | undefined,
  ): Promise<AuthDecision>;
  limits: PolicyLimits;
}

function buildPolicy(core: PolicyCore): BrokerPolicy {
  const principals = new WeakMap<Client, Principal>();
  const buckets = new WeakMap<Client, TokenBucket>();
  const connects = createTokenBucket(core.limits.connectRatePerSecond, core.limits.connectBurst);
  const sources = createSourceBuckets({
    ratePerSecond: core.limits.connectRatePerSourcePerSecond,
    burst: core.limits.connectBurstPerSource,
    maxSources: core.limits.maxConnectSources,
  });
  return {
    admitConnection(source) {
      // The source's own bucket first: a source over its rate takes nothing from everyone else's.
      if (source !== undefined && !sources.take(source))
        return { ok: false, reason: `too many connections per second from ${source}; retry with backoff` };
      return connects.take()
        ? { ok: true }
        : { ok: false, reason: 'too many connections per second; retry with backoff' };
    },
    async authenticate(client, username, password, certificate) {
      const decision = await core.identify(client, username, password, certificate);
      if (!decision.ok) return decision;
      if (!clientIdAllowed(decision.principal, client.id)) {
        return {
          ok: false,
          returnCode: 2,
          reason: `client id ${JSON.stringify(client.id)} is not allowed for ${describePrincipal(decision.principal)}`,
        };
      }
      principals.set(client, decision.principal);
      buckets.set(client, createTokenBucket(core.limits.publishRatePerSecond, core.limits.publishBurst));
      return decision;
    },
    authorizePublish(client, packet) {
      if (client === null) return { ok: true }; // published by the platform itself (aedes.publish)
      const principal = principals.get(client);
      if (!principal) return { ok: false, reason: 'not authenticated' };
      return canPublish(principal, packet.topic);
    },
    publishDelay(client) {
      return buckets.get(client)?.reserve(core.limits.maxPublishDelayMs) ?? 0;
    },
    authorizeSubscribe(client, subscription) {
      const principal = principals.get(client);
      if (!principal) return { ok: false, reason: 'not authenticated' };
      return canSubscribe(principal, subscription.topic);
    },
    principalOf: (client) => principals.get(client),
  };
}

/** Local development and conformance suites: everyone connects as `anonymous` (never the default in production). */
export function developmentPolicy(limits: PolicyLimits = DEFAULT_LIMITS): BrokerPolicy {
  return buildPolicy({ limits, identify: async () => ({ ok: true, principal: { kind: 'anonymous' } }) });
}

function equalSecrets(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

async function identifyByCertificate(
  db: Database,
  certificate: ClientCertificate,
  username: string | undefined,
): Promise<AuthDecision | null> {
  const cn = certificate.subjectCommonName;
  const device = parseDeviceUsername(cn);
  if (!device) return null;
  // One identity per connection: a certificate for one device with the username of another is refused.
  if (username !== undefined && username !== '' && username !== cn) {
    return { ok: false, returnCode: NOT_AUTHORIZED, reason: `certificate is for ${cn}, username is ${username}` };
  }
  try {
    return (await deviceCredentialIsLive(db, device.tenantId, device.deviceId))
      ? { ok: true, principal: { kind: 'device', ...device } }
      : {
          ok: false,
          returnCode: NOT_AUTHORIZED,
          reason: `certificate of ${cn}: device unknown or its credential revoked`,
        };
  } catch (err) {
    return { ok: false, returnCode: SERVER_UNAVAILABLE, reason: `credential check failed: ${(err as Error).message}` };
  }
}

/**
 * Production policy: devices log in as `{tenant}/{device}` with their credential, partners as
 * `apikey` with a `ck_...` token, operators as `admin` with the configured password. On the TLS
 * listener a device may instead present a client certificate whose subject CN is `{tenant}/{device}`
 * (username empty or equal to the CN, no password); its credential must still be live.
 */
export function tenantPolicy(options: {
  db: Database;
  adminPassword?: string | undefined;
  allowAnonymous?: boolean;
  limits?: PolicyLimits;
}): BrokerPolicy {
  const { db } = options;
  return buildPolicy({
    limits: options.limits ?? DEFAULT_LIMITS,
    async identify(_client, username, password, certificate) {
      const secret = password?.toString('utf8') ?? '';
      // A verified certificate naming a device decides the login; any other certificate does not.
      const byCertificate = certificate ? await identifyByCertificate(db, certificate, username) : null;
      if (byCertificate) return byCertificate;
      if (username === undefined || username === '') {
        return options.allowAnonymous
          ? { ok: true, principal: { kind: 'anonymous' } }
          : { ok: false, returnCode: NOT_AUTHORIZED, reason: 'credentials required' };
      }
      try {
        if (username === 'admin') {
          return options.adminPassword && equalSecrets(secret, options.adminPassword)
            ? { ok: true, principal: { kind: 'admin' } }
            : { ok: false, returnCode: BAD_CREDENTIALS, reason: 'bad admin password' };
        }
        if (username === 'apikey') {
          const key = await verifyApiKey(db, secret);
          return key
            ? {
                ok: true,
                principal: {
                  kind: 'partner',
                  tenantId: key.tenantId,
                  keyId: key.keyId,
                  scopes: key.scopes,
                  expiresAt: key.expiresAt,
                },
              }
            : { ok: false, returnCode: BAD_CREDENTIALS, reason: 'unknown, revoked or expired API key' };
        }
        const device = parseDeviceUsername(username);
        if (!device)
          return {
            ok: false,
            returnCode: BAD_CREDENTIALS,
            reason: `username ${JSON.stringify(username)} is not tenant/device, apikey or admin`,
          };
        return (await verifyDeviceCredential(db, device.tenantId, device.deviceId, secret))
          ? { ok: true, principal: { kind: 'device', ...device } }
          : { ok: false, returnCode: BAD_CREDENTIALS, reason: `bad or revoked credential for ${username}` };
      } catch (err) {
        // The database is down: say "server unavailable" so clients retry instead of giving up.
        return {
          ok: false,
          returnCode: SERVER_UNAVAILABLE,
          reason: `credential check failed: ${(err as Error).message}`,
        };
      }
    },
  });
}
