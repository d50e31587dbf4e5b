import { timingSafeEqual } from 'node:crypto';
import type { AuthenticateError, Client, PublishPacket, Subscription } from 'aedes';
import type { Database } from '@clutch/db';
import {
  deviceCredentialIsLive,
  parseDeviceUsername,
  verifyApiKey,
  verifyDeviceCredential,
  type PolicyStore,
  type SigningKeys,
} from '@clutch/identity';
import { clientIdAllowed, describePrincipal, type Principal } from './principal.js';
import { createPublishDecisions } from './publish-decisions.js';
import { createTokenBucket, type TokenBucket } from './rate-limit.js';
import { createSourceBuckets } from './source-buckets.js';
import { policyFilter } from './shared-filter.js';
import { canPublish, canSubscribe } from './topic-acl.js';
import { createTopicResources, type TopicResources } from './topic-resources.js';
import { userMayPublish, userMaySubscribe, type UserAccess, type UserDecision } from './user-acl.js';
import { identifyUser, USER_USERNAME } from './user-login.js';

/**
 * A policy decision. An allow for a signed-in user may end by itself (`until`, epoch ms: a grant or
 * share runs out) and may rest on a vehicle (`vehicleId`), so the broker can end the session then.
 */
export type Decision =
  { ok: true; until?: number | undefined; vehicleId?: string | undefined } | { ok: false; reason: string };

/** What someone may do changed (the outbox's `roles-changed`): a tenant's role, a user's grants, a vehicle's share. */
export interface AccessChange {
  tenantId: string;
  userId?: string | undefined;
  vehicleId?: string | undefined;
}
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
  /** Synchronous for devices, keys and admins (the hot path); a user's is decided on the topic's vehicle. */
  authorizePublish(client: Client | null, packet: PublishPacket): Decision | Promise<Decision>;
  /**
   * Milliseconds to hold this client's next PUBLISH (its PUBACK follows later, so a client with an
   * in-flight window slows down); Infinity when it is so far over its rate that it is disconnected.
   */
  publishDelay(client: Client): number;
  authorizeSubscribe(client: Client, subscription: Subscription): Decision | Promise<Decision>;
  /** The principal authenticated on this connection. */
  principalOf(client: Client): Principal | undefined;
  /**
   * Before a message goes out to this client: a user gets only messages of a filter the policy
   * allowed on this connection. Live subscriptions were all allowed; this stops what a persistent
   * session queued while offline under a subscription that, restored at reconnect, was refused.
   */
  mayForward(client: Client, topic: string): boolean;
  /** The vehicles this connection's granted subscriptions rest on (users only; empty for others). */
  vehiclesOf(client: Client): ReadonlySet<string>;
  /** Drops what the policy keeps about a change (roles, grants, a vehicle's shares) before sessions are ended. */
  accessChanged(change: AccessChange): void;
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
  /** Signed-in users' decisions; absent, no user can log in. */
  users?: UserAccess | undefined;
}

const NO_VEHICLES: ReadonlySet<string> = new Set();

/** MQTT filter matching ([MQTT-4.7.1]): `+` one level, `#` the rest. */
function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}

function buildPolicy(core: PolicyCore): BrokerPolicy {
  const principals = new WeakMap<Client, Principal>();
  const vehicles = new WeakMap<Client, Set<string>>();
  const filters = new WeakMap<Client, Set<string>>();
  const users = core.users;
  // Remembers what a user's subscription was allowed on (its filter, its vehicle); a failed check
  // (the database is down) refuses, and the client may try again.
  const settle = (client: Client, filter: string, pending: Promise<UserDecision>): Promise<Decision> =>
    pending
      .catch((err: Error): UserDecision => ({ ok: false, reason: `policy check failed: ${err.message}` }))
      .then((d) => {
        const allowed = filters.get(client) ?? new Set<string>();
        filters.set(client, allowed);
        if (!d.ok) {
          allowed.delete(filter);
          return d;
        }
        allowed.add(filter);
        if (d.vehicleId !== undefined) {
          const held = vehicles.get(client) ?? new Set<string>();
          held.add(d.vehicleId);
          vehicles.set(client, held);
        }
        return d;
      });
  const buckets = new WeakMap<Client, TokenBucket>();
  const publishDecisions = createPublishDecisions<Client>();
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
      if (principal.kind === 'user')
        return users
          ? userMayPublish(users, principal, packet.topic).catch((err: Error): Decision => ({
              ok: false,
              reason: `policy check failed: ${err.message}`,
            }))
          : { ok: false, reason: 'users are not accepted here' };
      // Pure in (principal, topic), and the principal is the connection's for its whole life.
      return publishDecisions.decide(client, packet.topic, (topic) => canPublish(principal, topic));
    },
    publishDelay(client) {
      return buckets.get(client)?.reserve(core.limits.maxPublishDelayMs) ?? 0;
    },
    authorizeSubscribe(client, subscription) {
      const principal = principals.get(client);
      if (!principal) return { ok: false, reason: 'not authenticated' };
      // A shared subscription is judged by its filter ([MQTT-4.8.2]): sharing a stream reaches no more than subscribing to it.
      const filter = policyFilter(subscription.topic);
      if (filter === null) return { ok: false, reason: `malformed shared subscription ${subscription.topic}` };
      if (principal.kind === 'user')
        return users
          ? settle(client, filter, userMaySubscribe(users, principal, filter))
          : { ok: false, reason: 'users are not accepted here' };
      return canSubscribe(principal, filter);
    },
    principalOf: (client) => principals.get(client),
    mayForward(client, topic) {
      if (principals.get(client)?.kind !== 'user') return true;
      for (const filter of filters.get(client) ?? []) if (topicMatches(filter, topic)) return true;
      return false;
    },
    vehiclesOf: (client) => vehicles.get(client) ?? NO_VEHICLES,
    accessChanged(change) {
      if (!users) return;
      if (change.vehicleId !== undefined) users.resources.forgetVehicle(change.vehicleId);
      users.store.invalidate(change.userId !== undefined ? { userId: change.userId } : {});
    },
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
 * `apikey` with a `ck_...` token, signed-in people as `user` with their access token (when `users`
 * is given), operators as `admin` with the configured password. On the TLS
 * listener a device may instead present a client certificate whose subject CN is `{tenant}/{device}`
 * (username empty or equal to the CN, no password); its credential must still be live.
 */
export function tenantPolicy(options: {
  db: Database;
  adminPassword?: string | undefined;
  allowAnonymous?: boolean;
  limits?: PolicyLimits;
  /**
   * Signed-in users: username `user`, password their access token, checked with the deployment's
   * signing keys (`keys`: only the public halves are used) and the session's record; then every
   * SUBSCRIBE and PUBLISH is the policy function's (`store`) on the topic's vehicle. Absent, a
   * `user` login is refused.
   */
  users?: { keys: SigningKeys; store: PolicyStore; resources?: TopicResources | undefined } | undefined;
}): BrokerPolicy {
  const { db } = options;
  const users = options.users;
  return buildPolicy({
    limits: options.limits ?? DEFAULT_LIMITS,
    ...(users ? { users: { store: users.store, resources: users.resources ?? createTopicResources(db) } } : {}),
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
        if (username === USER_USERNAME) {
          if (!users) return { ok: false, returnCode: BAD_CREDENTIALS, reason: 'this broker does not accept users' };
          const login = await identifyUser(db, users.keys, secret);
          if (login.ok) return login;
          // An ended session is "not authorized" (sign in again); a bad or expired token is a bad password (refresh it).
          return { ok: false, returnCode: login.revoked ? NOT_AUTHORIZED : BAD_CREDENTIALS, reason: login.reason };
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
            reason: `username ${JSON.stringify(username)} is not tenant/device, apikey, user or admin`,
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
