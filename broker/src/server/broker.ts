import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { Aedes, type AedesOptions, type AuthenticateError } from 'aedes';
import type { Logger } from 'pino';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { developmentPolicy, type BrokerPolicy } from '../policy/policy.js';

export interface BrokerOptions {
  policy?: BrokerPolicy;
  logger?: Logger;
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

export interface RunningBroker {
  aedes: Aedes;
  mqttUrl: string;
  mqttPort: number;
  wsUrl?: string;
  wsPort?: number;
  close(): Promise<void>;
}

function authError(reason: string, returnCode: number): AuthenticateError {
  return Object.assign(new Error(reason), { returnCode }) as AuthenticateError;
}

/** Creates the aedes instance with the policy wired in; does not listen. */
export async function createBroker(options: BrokerOptions = {}): Promise<Aedes> {
  const policy = options.policy ?? developmentPolicy();
  const log = options.logger;
  const aedes = await Aedes.createBroker({
    ...options.aedes,
    authenticate(client, username, password, done) {
      policy.authenticate(client, username, password).then(
        (decision) => {
          if (decision.ok) return done(null, true);
          log?.warn({ clientId: client.id, reason: decision.reason }, 'mqtt connect refused');
          // 5 = not authorised ([MQTT-3.2.2-...] CONNACK return codes)
          done(authError(decision.reason, 'returnCode' in decision ? decision.returnCode : 5), false);
        },
        (err: Error) => done(authError(err.message, 3), false),
      );
    },
    authorizePublish(client, packet, done) {
      policy.authorizePublish(client, packet).then(
        (decision) => {
          if (decision.ok) return done(null);
          log?.warn({ clientId: client?.id, topic: packet.topic, reason: decision.reason }, 'mqtt publish refused');
          done(new Error(decision.reason));
        },
        (err: Error) => done(err),
      );
    },
    authorizeSubscribe(client, subscription, done) {
      policy.authorizeSubscribe(client, subscription).then(
        (decision) => {
          if (decision.ok) return done(null, subscription);
          log?.warn({ clientId: client.id, topic: subscription.topic, reason: decision.reason }, 'mqtt subscribe refused');
          // A null subscription makes aedes answer SUBACK 0x80 (failure) for this filter.
          done(null, null);
        },
        (err: Error) => done(err),
      );
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
  const aedes = await createBroker(options);
  const tcp = createNetServer(aedes.handle);
  const mqttPort = await listenOn(tcp, options.mqttPort, host);

  let http: HttpServer | undefined;
  let wss: WebSocketServer | undefined;
  let wsPort: number | undefined;
  if (options.wsPort !== undefined) {
    http = createHttpServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket: connect with the mqtt subprotocol\n');
    });
    wss = new WebSocketServer({ server: http });
    wss.on('connection', (socket, req) => aedes.handle(createWebSocketStream(socket), req));
    wsPort = await listenOn(http, options.wsPort, host);
  }

  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    aedes,
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
