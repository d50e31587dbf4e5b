import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import type { Server as TlsServer } from 'node:tls';
import { Aedes, type AedesOptions, type AuthenticateError, type Client } from 'aedes';
import type { Logger } from 'pino';
import { createWebSocketStream, WebSocketServer } from 'ws';
import {
  developmentPolicy,
  type AccessChange,
  type BrokerPolicy,
  type ClientCertificate,
  type Decision,
} from '../policy/policy.js';
import { describePrincipal } from '../policy/principal.js';
import { createConnectGate } from './connect-gate.js';
import { createLoginLimiter, type LoginLimiter } from '@clutch/identity';
import { createLoginGuard, type LoginAttempt } from './login-guard.js';
import { createLiveSessions, type LiveSessions } from './live-sessions.js';
import { guardSocket } from './packet-size-guard.js';
import { localEmitter } from './local-emitter.js';
import { createTlsListener, type TlsListenerOptions } from './tls-listener.js';
import { mqtt5AedesOptions, type Mqtt5Limits } from './mqtt5/aedes-options.js';
import { orderedHandoff } from './ordered-handoff.js';
import { disconnectWith, isMqtt5, payloadFormatInvalid, REASON, refusal } from './mqtt5/publish-checks.js';
import { attachClusterShares, type ClusterShares } from '../cluster-shared/cluster-shares.js';

export interface BrokerOptions {
  policy?: BrokerPolicy;
  logger?: Logger;
  /** Largest MQTT packet accepted; bigger ones end the connection before they are buffered. */
  maxPacketBytes?: number;
  /** A connection that sends no CONNECT within this time is closed (default 10 s). */
  connectTimeoutMs?: number;
  /** Longest client id accepted, in bytes (default 160); longer ones get CONNACK 0x02. */
  maxClientIdLength?: number;
  /** The verified TLS client certificate of a connection (startBroker wires this for its TLS listener). */
  clientCertificateOf?: (client: Client) => ClientCertificate | undefined;
  /**
   * The remote address of a connection, for per-source limits (startBroker wires this; the default
   * reads the WebSocket upgrade request or a plain socket). Behind a proxy this is the proxy.
   */
  remoteAddressOf?: (client: Client) => string | undefined;
  /**
   * Failed-login limits (per account and per address). Default: in memory, or in Redis when
   * `redisUrl` is set, so every broker of a scaled-out deployment shares the counts.
   */
  loginLimiter?: LoginLimiter;
  /**
   * Scale-out: sessions, retained messages and QoS 1 queues live in Redis and messages fan out
   * through Redis pub/sub, so N brokers behind a TCP load balancer act as one.
   */
  redisUrl?: string;
  /** What MQTT 5 clients are offered (topic aliases, receive maximum, server keep alive); see Mqtt5Limits. */
  mqtt5?: Partial<Mqtt5Limits>;
  /** Extra aedes options (persistence, mq, limits). */
  aedes?: Partial<AedesOptions>;
  /**
   * Publishes the broker makes durable before it acknowledges them: for an authorised publish whose
   * topic `takes` accepts (a device's PUBLISH of any QoS, or a Last Will), `handoff` is awaited before
   * aedes writes the PUBACK and fans the message out. A rejected hand-off closes the connection
   * without PUBACK, so the client sends it again. [MQTT-4.3.2-2] [MQTT-4.4.0-1] The client's next
   * packets are read once the store holds the message, and its messages are answered in the order
   * they came (ordered-handoff.ts).
   */
  durableHandoff?: DurableHandoff;
}

/** See BrokerOptions.durableHandoff (ingest's handoffSource implements it). */
export interface DurableHandoff {
  takes(topic: string): boolean;
  /** Resolves once durable; calls `onAccepted` (at most once, before that) once the store holds it. */
  handoff(packet: { topic: string; payload: Buffer | string }, onAccepted?: () => void): Promise<void>;
}

export interface ListenOptions {
  host?: string;
  /** MQTT over TCP; 0 picks a free port. */
  mqttPort: number;
  /** MQTT over WebSocket (browsers); omit to disable, 0 picks a free port. */
  wsPort?: number;
  /** MQTT over TLS, with optional client-certificate authentication; omit to disable. */
  tls?: TlsListenerOptions;
}

export const DEFAULT_MAX_PACKET_BYTES = 512 * 1024;
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** Our device client ids are `{tenant}/{device}` (up to 129 bytes): longer than 3.1.1's guaranteed 23. */
export const DEFAULT_MAX_CLIENT_ID_LENGTH = 160;

export interface RunningBroker {
  aedes: Aedes;
  policy: BrokerPolicy;
  /** Ends every live session of a device (after its credential was revoked). Returns how many. */
  disconnectDevice(tenantId: string, deviceId: string): number;
  /**
   * Ends every live session (TCP, TLS, WebSocket) that logged in with this partner API key, after
   * it was revoked. Returns how many. Expiry needs no call: each session closes itself at its key's expiry.
   */
  disconnectApiKey(tenantId: string, keyId: string): number;
  /**
   * Ends every live session that logged in with an access token of this user session, after it
   * was revoked (the outbox's `session-revoked`). Returns how many. Expiry needs no call: each such
   * MQTT session closes itself at its access token's expiry.
   */
  disconnectSession(sessionId: string): number;
  /**
   * What users may do changed (the outbox's `roles-changed`): the policy forgets what it kept, and
   * the sessions it may concern end, so their clients reconnect and subscribe under the new rules:
   * the user's (`userId`), the users of the tenant whose role changed (every user for a platform
   * role, since templates reach every tenant), or the tenant's users subscribed to the vehicle whose
   * share ended (`vehicleId`). Returns how many.
   */
  accessChanged(change: AccessChange): number;
  mqttUrl: string;
  mqttPort: number;
  wsUrl?: string;
  wsPort?: number;
  mqttsUrl?: string;
  tlsPort?: number;
  close(): Promise<void>;
}

function authError(reason: string, returnCode: number): AuthenticateError {
  return Object.assign(new Error(reason), { returnCode }) as AuthenticateError;
}

// Redis connections per aedes instance, so close() can end them (aedes leaves its persistence's open).
const redisConnections = new WeakMap<Aedes, { disconnect(): void }>();
// Cluster-wide shared subscriptions per clustered aedes instance, stopped before its Redis connection.
const clusterShares = new WeakMap<Aedes, ClusterShares>();
// Live sessions by principal per aedes instance, for startBroker's disconnect calls.
const liveSessions = new WeakMap<Aedes, LiveSessions>();

/** A plain socket's address, or the WebSocket upgrade request's (aedes keeps it as `client.req`). */
function defaultRemoteAddress(client: Client): string | undefined {
  return client.req?.socket.remoteAddress ?? (client.conn as { remoteAddress?: string }).remoteAddress;
}

async function redisBackends(
  url: string,
  onMqError: (err: Error) => void,
): Promise<Pick<AedesOptions, 'persistence' | 'mq'> & { conn: import('ioredis').Redis }> {
  const [{ default: redisPersistence }, { default: mqemitterRedis }, { Redis }] = await Promise.all([
    import('aedes-persistence-redis'),
    import('mqemitter-redis'),
    import('ioredis'),
  ]);
  const conn = new Redis(url);
  conn.on('error', () => {}); // reconnects by itself; a down Redis shows up as failing publishes
  const mq = mqemitterRedis({ connectionString: url });
  // Its connections reconnect (and resubscribe) by themselves; without a listener an error on them (Redis
  // restarting, or ioredis' ready check racing a resubscription) would end the whole broker process.
  (mq as unknown as { state: { on(event: 'error', listener: (err: Error) => void): void } }).state.on(
    'error',
    onMqError,
  );
  return { persistence: redisPersistence({ conn }), mq, conn };
}

/** Creates the aedes instance with the policy wired in; does not listen. */
export async function createBroker(options: BrokerOptions = {}): Promise<Aedes> {
  const policy = options.policy ?? developmentPolicy();
  const log = options.logger;
  const maxClientIdLength = options.maxClientIdLength ?? DEFAULT_MAX_CLIENT_ID_LENGTH;
  const remoteAddressOf = options.remoteAddressOf ?? defaultRemoteAddress;
  const gate = createConnectGate({
    admitConnection: (client) => policy.admitConnection(remoteAddressOf(client)),
    maxClientIdLength,
  });
  const redis = options.redisUrl
    ? await redisBackends(options.redisUrl, (err) => log?.warn({ err: err.message }, 'redis fan-out connection error'))
    : undefined;
  const logins = createLoginGuard(
    options.loginLimiter ?? createLoginLimiter(redis ? { redis: redis.conn } : {}),
    (err) => log?.error({ err: err.message }, 'login limiter failed; login not limited'),
  );
  const sessions = createLiveSessions(
    (client) => policy.principalOf(client),
    (client, reason) => {
      const principal = policy.principalOf(client);
      log?.info(
        { clientId: client.id, principal: principal && describePrincipal(principal), reason },
        'mqtt session ended',
      );
    },
  );
  const handOff = options.durableHandoff ? orderedHandoff(options.durableHandoff) : undefined;
  const aedes = await Aedes.createBroker({
    ...(redis ? { persistence: redis.persistence, mq: redis.mq } : { mq: localEmitter(options.aedes?.concurrency) }),
    maxClientsIdLength: maxClientIdLength,
    connectTimeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    ...mqtt5AedesOptions({
      maxPacketBytes: options.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES,
      limits: options.mqtt5,
    }),
    // A QoS 1/2 PUBLISH waiting for its hand-off need not stop the reading of its connection.
    ...(options.durableHandoff ? { publishReadAhead: true } : {}),
    ...options.aedes,
    preConnect(client, _packet, done) {
      gate.admit(client);
      done(null, true);
    },
    authenticate(client, username, password, done) {
      const refusal = gate.refusal(client);
      if (refusal) {
        log?.warn({ clientId: client.id, reason: refusal.reason }, 'mqtt connect refused');
        // aedes answers CONNACK with this return code and closes. [MQTT-3.2.2-5]
        return done(authError(refusal.reason, refusal.returnCode), false);
      }
      sessions.authenticating(client);
      const certificate = options.clientCertificateOf?.(client);
      const attempt: LoginAttempt = {
        username,
        password,
        certificateName: certificate?.subjectCommonName,
        ip: remoteAddressOf(client),
      };
      // A blocked account or address is refused before its credential is looked up, and every
      // failed login counts; this is separate from the connect-rate buckets of the gate.
      const login = async (): Promise<void> => {
        const blocked = await logins.refusal(attempt);
        if (blocked) {
          log?.warn(
            { clientId: client.id, username, remote: attempt.ip, reason: blocked.reason },
            'mqtt connect refused',
          );
          return done(authError(blocked.reason, blocked.returnCode), false); // [MQTT-3.2.2-5]
        }
        const decision = await policy.authenticate(client, username, password, certificate);
        await logins.settle(attempt, decision);
        if (decision.ok) {
          log?.debug({ clientId: client.id, principal: describePrincipal(decision.principal) }, 'mqtt connect');
          return done(null, true);
        }
        log?.warn(
          { clientId: client.id, username, remote: attempt.ip, reason: decision.reason },
          'mqtt connect refused',
        );
        done(authError(decision.reason, decision.returnCode), false);
      };
      login().catch((err: Error) => done(authError(err.message, 3), false));
    },
    authorizePublish(client, packet, done) {
      if (isMqtt5(client) && payloadFormatInvalid(packet)) return refusePayloadFormat(client, packet, done);
      const decided = policy.authorizePublish(client, packet);
      // Devices, keys and admins are decided synchronously (the hot path stays free of promises).
      if (decided instanceof Promise) decided.then((decision) => publishDecided(decision, client, packet, done));
      else publishDecided(decided, client, packet, done);
    },
    authorizeForward(client, packet) {
      return policy.mayForward(client, packet.topic) ? packet : null;
    },
    authorizeSubscribe(client, subscription, done) {
      const decided = policy.authorizeSubscribe(client, subscription);
      const answer = (decision: Decision): void => {
        if (decision.ok) {
          // An allow that runs out (a time-bound grant or share) ends the session at that instant;
          // the client reconnects and its subscriptions are decided again (aedes sends the restored
          // subscriptions of a persistent session through this same check).
          if (decision.until !== undefined) sessions.endAt(client, decision.until, 'a grant or share ended');
          return done(null, subscription);
        }
        log?.warn(
          { clientId: client.id, topic: subscription.topic, reason: decision.reason },
          'mqtt subscribe refused',
        );
        // A null subscription makes aedes answer SUBACK 0x80 (failure) for this filter.
        done(null, null);
      };
      if (decided instanceof Promise) decided.then(answer);
      else answer(decided);
    },
  });
  /**
   * [MQTT-3.3.2-4] A v5 PUBLISH whose payload is not the UTF-8 it claims: PUBACK/PUBREC 0x99, or for
   * QoS 0 (no acknowledgement to carry it) DISCONNECT 0x99.
   */
  function refusePayloadFormat(
    client: Client,
    packet: Parameters<NonNullable<AedesOptions['authorizePublish']>>[1],
    done: Parameters<NonNullable<AedesOptions['authorizePublish']>>[2],
  ): void {
    const reason = 'payload format indicator says UTF-8; the payload is not';
    log?.warn({ clientId: client.id, topic: packet.topic, reason }, 'mqtt publish refused');
    if (packet.qos === 0) return disconnectWith(client, REASON.PAYLOAD_FORMAT_INVALID, () => done(null));
    done(refusal(reason, REASON.PAYLOAD_FORMAT_INVALID));
  }
  /** A PUBLISH once the policy decided it: refused, or throttled and handed off before its PUBACK. */
  function publishDecided(
    decision: Decision,
    client: Client | null,
    packet: Parameters<NonNullable<AedesOptions['authorizePublish']>>[1],
    done: Parameters<NonNullable<AedesOptions['authorizePublish']>>[2],
  ): void {
    if (!decision.ok) {
      log?.warn({ clientId: client?.id, topic: packet.topic, reason: decision.reason }, 'mqtt publish refused');
      // [MQTT-3.3.5-2] 3.1.1 has no negative PUBACK: aedes closes the connection (the other choice,
      // acknowledging and dropping, would tell a device its reading was delivered). MQTT 5 has one:
      // aedes answers a QoS 1/2 PUBLISH with PUBACK/PUBREC 0x87 and keeps the connection.
      return done(new Error(decision.reason));
    }
    // aedes writes the PUBACK (QoS 1) and publishes only after done(null): a durable hand-off
    // awaited here makes the PUBACK mean "stored". A refused one closes the connection without it.
    const delay = client ? policy.publishDelay(client) : 0;
    // Most publishes have nothing to hand off and nothing to hold back: answered without a closure.
    if (delay === 0 && !(handOff && options.durableHandoff!.takes(packet.topic))) return done(null);
    const accept = (): void => {
      if (!handOff || !options.durableHandoff!.takes(packet.topic)) return done(null);
      handOff(client, packet).then(
        () => done(null),
        (err: Error) => {
          log?.warn(
            { clientId: client?.id, topic: packet.topic, err: err.message },
            'mqtt publish not stored; not acknowledged',
          );
          // A v5 error PUBACK would tell the client to give the message up: end the connection
          // instead, so it is sent again ([MQTT-4.4.0-1]), saying why (0x89 Server busy).
          if (isMqtt5(client)) return disconnectWith(client, REASON.SERVER_BUSY, () => done(err));
          done(err);
        },
      );
    };
    if (delay === 0) return accept();
    if (delay === Number.POSITIVE_INFINITY) {
      log?.warn({ clientId: client?.id }, 'mqtt client over its publish rate for too long; disconnecting');
      if (isMqtt5(client))
        return disconnectWith(client, REASON.MESSAGE_RATE_TOO_HIGH, () => done(new Error('publish rate exceeded')));
      return done(new Error('publish rate exceeded'));
    }
    // Held back: its PUBACK follows later, so the client's in-flight window slows it down.
    // Not published if the client left meanwhile: without a PUBACK it resends it. [MQTT-4.4.0-1]
    setTimeout(() => (client?.closed ? done(new Error('client closed while throttled')) : accept()), delay);
  }
  if (redis) redisConnections.set(aedes, redis.conn);
  if (redis) {
    const onError = (err: Error): void => log?.error({ err: err.message }, 'shared subscription: Redis failed');
    clusterShares.set(aedes, attachClusterShares(aedes, redis.conn, { onError }));
  }
  sessions.attach(aedes);
  liveSessions.set(aedes, sessions);
  aedes.on('clientError', (client, err) => log?.debug({ clientId: client.id, err: err.message }, 'mqtt client error'));
  aedes.on('connectionError', (client, err) =>
    log?.debug({ clientId: client?.id, err: err.message }, 'mqtt connection error'),
  );
  return aedes;
}

function listenOn(server: NetServer | HttpServer | TlsServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Starts the broker on TCP (and WebSocket when asked). */
export async function startBroker(options: BrokerOptions & ListenOptions): Promise<RunningBroker> {
  const host = options.host ?? '127.0.0.1';
  const policy = options.policy ?? developmentPolicy();
  const log = options.logger;
  // The TLS socket is wrapped by the packet-size guard before aedes sees it, so its verified
  // certificate is looked up by the stream aedes holds as `client.conn`.
  const certificates = new WeakMap<object, ClientCertificate>();
  // Likewise its remote address (the guard's stream has none of its own).
  const remotes = new WeakMap<object, string>();
  const aedes = await createBroker({
    ...options,
    policy,
    clientCertificateOf: (client) => certificates.get(client.conn),
    remoteAddressOf: options.remoteAddressOf ?? ((client) => remotes.get(client.conn) ?? defaultRemoteAddress(client)),
  });
  const maxPacketBytes = options.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES;
  const serve = (socket: Socket, certificate?: ClientCertificate): void => {
    const guarded = guardSocket(socket, maxPacketBytes, (reason) =>
      log?.warn({ remote: socket.remoteAddress, reason }, 'mqtt connection closed'),
    );
    if (certificate) certificates.set(guarded, certificate);
    if (socket.remoteAddress) remotes.set(guarded, socket.remoteAddress);
    aedes.handle(guarded);
  };
  const tcp = createNetServer((socket) => serve(socket));
  const mqttPort = await listenOn(tcp, options.mqttPort, host);

  let tls: TlsServer | undefined;
  let tlsPort: number | undefined;
  if (options.tls) {
    tls = createTlsListener(
      { ...options.tls, handshakeTimeoutMs: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS },
      serve,
      (remote, reason) => log?.warn({ remote, reason }, 'mqtt tls connection refused'),
    );
    tlsPort = await listenOn(tls, options.tls.port, host);
  }

  let http: HttpServer | undefined;
  let wss: WebSocketServer | undefined;
  let wsPort: number | undefined;
  if (options.wsPort !== undefined) {
    http = createHttpServer((_req, res) => {
      res
        .writeHead(426, { 'content-type': 'text/plain' })
        .end('MQTT over WebSocket: connect with the mqtt subprotocol\n');
    });
    wss = new WebSocketServer({ server: http, maxPayload: maxPacketBytes + 5 });
    // The same byte-level checks as TCP (packet size, protocol level) on the MQTT stream inside the frames.
    wss.on('connection', (socket, req) =>
      aedes.handle(
        guardSocket(createWebSocketStream(socket), maxPacketBytes, (reason) =>
          options.logger?.warn({ remote: req.socket.remoteAddress, reason }, 'mqtt-over-websocket connection closed'),
        ),
        req,
      ),
    );
    wsPort = await listenOn(http, options.wsPort, host);
  }

  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    aedes,
    policy,
    disconnectDevice(tenantId, deviceId) {
      return liveSessions
        .get(aedes)!
        .end((p) => p.kind === 'device' && p.tenantId === tenantId && p.deviceId === deviceId);
    },
    disconnectApiKey(tenantId, keyId) {
      return liveSessions.get(aedes)!.end((p) => p.kind === 'partner' && p.tenantId === tenantId && p.keyId === keyId);
    },
    disconnectSession(sessionId) {
      return liveSessions.get(aedes)!.end((p) => p.kind === 'user' && p.sessionId === sessionId);
    },
    accessChanged(change) {
      policy.accessChanged(change);
      const { tenantId, userId, vehicleId } = change;
      return liveSessions.get(aedes)!.end((p, client) => {
        if (p.kind !== 'user') return false;
        if (userId !== undefined) return p.userId === userId;
        if (vehicleId !== undefined) return p.tenantId === tenantId && policy.vehiclesOf(client).has(vehicleId);
        return tenantId === 'platform' || p.tenantId === tenantId;
      });
    },
    mqttPort,
    mqttUrl: `mqtt://${urlHost}:${mqttPort}`,
    ...(wsPort !== undefined ? { wsPort, wsUrl: `ws://${urlHost}:${wsPort}` } : {}),
    ...(tlsPort !== undefined ? { tlsPort, mqttsUrl: `mqtts://${urlHost}:${tlsPort}` } : {}),
    async close() {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await clusterShares.get(aedes)?.close();
      redisConnections.get(aedes)?.disconnect();
      wss?.clients.forEach((c) => c.terminate());
      await Promise.all([
        new Promise<void>((resolve) => tcp.close(() => resolve())),
        tls ? new Promise<void>((resolve) => tls.close(() => resolve())) : Promise.resolve(),
        http
          ? new Promise<void>((resolve) => {
              http.closeAllConnections();
              http.close(() => resolve());
            })
          : Promise.resolve(),
      ]);
    },
  };
}
