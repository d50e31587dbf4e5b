import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { Aedes, type AedesOptions, type AuthenticateError, type Client } from 'aedes';
import type { Logger } from 'pino';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { developmentPolicy, type BrokerPolicy } from '../policy/policy.js';
import { describePrincipal } from '../policy/principal.js';
import { guardSocket } from './packet-size-guard.js';

export interface BrokerOptions {
  policy?: BrokerPolicy;
  logger?: Logger;
  /** Largest MQTT packet accepted; bigger ones end the connection before they are buffered. */
  maxPacketBytes?: number;
  /**
   * Scale-out: sessions, retained messages and QoS 1 queues live in Redis and messages fan out
   * through Redis pub/sub, so N brokers behind a TCP load balancer act as one.
   */
  redisUrl?: string;
  /** Extra aedes options (persistence, mq, limits). */
  aedes?: Partial<AedesOptions>;
}

export interface ListenOptions {
  host?: string;
  /** MQTT over TCP; 0 picks a free port. */
  mqttPort: number;
  /** MQTT over WebSocket (browsers); omit to disable, 0 picks a free port. */
  wsPort?: number;
}

export const DEFAULT_MAX_PACKET_BYTES = 512 * 1024;

export interface RunningBroker {
  aedes: Aedes;
  policy: BrokerPolicy;
  /** Ends every live session of a device (after its credential was revoked). Returns how many. */
  disconnectDevice(tenantId: string, deviceId: string): number;
  mqttUrl: string;
  mqttPort: number;
  wsUrl?: string;
  wsPort?: number;
  close(): Promise<void>;
}

function authError(reason: string, returnCode: number): AuthenticateError {
  return Object.assign(new Error(reason), { returnCode }) as AuthenticateError;
}

async function redisBackends(url: string): Promise<Pick<AedesOptions, 'persistence' | 'mq'>> {
  const [{ default: redisPersistence }, { default: mqemitterRedis }, { Redis }] = await Promise.all([
    import('aedes-persistence-redis'),
    import('mqemitter-redis'),
    import('ioredis'),
  ]);
  return {
    persistence: redisPersistence({ conn: new Redis(url) }),
    mq: mqemitterRedis({ connectionString: url }),
  };
}

/** Creates the aedes instance with the policy wired in; does not listen. */
export async function createBroker(options: BrokerOptions = {}): Promise<Aedes> {
  const policy = options.policy ?? developmentPolicy();
  const log = options.logger;
  const aedes = await Aedes.createBroker({
    ...(options.redisUrl ? await redisBackends(options.redisUrl) : {}),
    // Our device client ids are `{tenant}/{device}`: longer than 3.1.1's guaranteed 23 bytes.
    maxClientsIdLength: 160,
    connectTimeout: 10_000,
    ...options.aedes,
    preConnect(client, _packet, done) {
      const decision = policy.admitConnection();
      if (decision.ok) return done(null, true);
      log?.warn({ clientId: client.id, reason: decision.reason }, 'mqtt connect refused');
      done(authError(decision.reason, 3), false);
    },
    authenticate(client, username, password, done) {
      policy.authenticate(client, username, password).then(
        (decision) => {
          if (decision.ok) {
            log?.debug({ clientId: client.id, principal: describePrincipal(decision.principal) }, 'mqtt connect');
            return done(null, true);
          }
          log?.warn({ clientId: client.id, username, reason: decision.reason }, 'mqtt connect refused');
          done(authError(decision.reason, decision.returnCode), false);
        },
        (err: Error) => done(authError(err.message, 3), false),
      );
    },
    authorizePublish(client, packet, done) {
      const decision = policy.authorizePublish(client, packet);
      if (!decision.ok) {
        log?.warn({ clientId: client?.id, topic: packet.topic, reason: decision.reason }, 'mqtt publish refused');
        // [MQTT-3.3.5-2] 3.1.1 has no negative PUBACK: aedes closes the connection.
        return done(new Error(decision.reason));
      }
      const delay = client ? policy.publishDelay(client) : 0;
      if (delay === 0) return done(null);
      if (delay === Number.POSITIVE_INFINITY) {
        log?.warn({ clientId: client?.id }, 'mqtt client over its publish rate for too long; disconnecting');
        return done(new Error('publish rate exceeded'));
      }
      setTimeout(() => done(null), delay);
    },
    authorizeSubscribe(client, subscription, done) {
      const decision = policy.authorizeSubscribe(client, subscription);
      if (decision.ok) return done(null, subscription);
      log?.warn({ clientId: client.id, topic: subscription.topic, reason: decision.reason }, 'mqtt subscribe refused');
      // A null subscription makes aedes answer SUBACK 0x80 (failure) for this filter.
      done(null, null);
    },
  });
  aedes.on('clientError', (client, err) => log?.debug({ clientId: client.id, err: err.message }, 'mqtt client error'));
  aedes.on('connectionError', (client, err) => log?.debug({ clientId: client?.id, err: err.message }, 'mqtt connection error'));
  return aedes;
}

function listenOn(server: NetServer | HttpServer, port: number, host: string): Promise<number> {
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
  const aedes = await createBroker({ ...options, policy });
  const maxPacketBytes = options.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES;
  const tcp = createNetServer((socket) => {
    const guarded = guardSocket(socket, maxPacketBytes, (reason) =>
      options.logger?.warn({ remote: socket.remoteAddress, reason }, 'mqtt connection closed'),
    );
    aedes.handle(guarded);
  });
  const mqttPort = await listenOn(tcp, options.mqttPort, host);

  let http: HttpServer | undefined;
  let wss: WebSocketServer | undefined;
  let wsPort: number | undefined;
  if (options.wsPort !== undefined) {
    http = createHttpServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket: connect with the mqtt subprotocol\n');
    });
    wss = new WebSocketServer({ server: http, maxPayload: maxPacketBytes + 5 });
    wss.on('connection', (socket, req) => aedes.handle(createWebSocketStream(socket), req));
    wsPort = await listenOn(http, options.wsPort, host);
  }

  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    aedes,
    policy,
    disconnectDevice(tenantId, deviceId) {
      let closed = 0;
      for (const client of Object.values((aedes as unknown as { clients: Record<string, Client> }).clients)) {
        const p = policy.principalOf(client);
        if (p?.kind === 'device' && p.tenantId === tenantId && p.deviceId === deviceId) {
          client.close();
          closed++;
        }
      }
      return closed;
    },
    mqttPort,
    mqttUrl: `mqtt://${urlHost}:${mqttPort}`,
    ...(wsPort !== undefined ? { wsPort, wsUrl: `ws://${urlHost}:${wsPort}` } : {}),
    async close() {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      wss?.clients.forEach((c) => c.terminate());
      await Promise.all([
        new Promise<void>((resolve) => tcp.close(() => resolve())),
        http ? new Promise<void>((resolve) => { http.closeAllConnections(); http.close(() => resolve()); }) : Promise.resolve(),
      ]);
    },
  };
}
