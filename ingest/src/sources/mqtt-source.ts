import mqtt, { ReasonCodes, type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import mqttPacket from 'mqtt-packet';
import type { Logger } from 'pino';
import { backoffDelay, type QueuedMessage } from '../queue/work-queue.js';
import { INGEST_FILTERS, type MessageSource } from './message-source.js';

/** How long the broker keeps ingest's session (and queues its messages) while ingest is away: a day's outage. */
export const DEFAULT_SESSION_EXPIRY_SECONDS = 24 * 60 * 60;

/**
 * Unacknowledged messages the broker may have out to ingest: four batches of 500, enough to keep
 * every batch slot of the default in-process queue busy, and a tenth of its capacity, so what the
 * database cannot take yet waits in the broker, not in ingest's memory.
 */
export const DEFAULT_RECEIVE_MAXIMUM = 2_000;

/**
 * How long a failed push (or stop) waits for the other messages in flight, so those that become
 * durable are acknowledged on this connection rather than resent. A batch commits within its
 * linger and one round trip; a push still open after this waits on a stuck database, and a resend
 * is cheaper than waiting for it.
 */
const SETTLE_MS = 2_000;

export interface MqttSourceOptions {
  /** Default `clutch-ingest-<pid>`. The session (and its queued messages) belongs to this id: keep it stable across restarts. */
  clientId?: string;
  username?: string;
  password?: string;
  /**
   * 5 (default): Correlation Data reaches ingest (a command result names its command by it) and
   * the session has an expiry. 4 speaks MQTT 3.1.1 to a broker without MQTT 5; results then arrive
   * without correlation data and the session lasts as long as the broker keeps sessions.
   */
  protocolVersion?: 4 | 5;
  /** MQTT 5 Session Expiry Interval in seconds (default DEFAULT_SESSION_EXPIRY_SECONDS). */
  sessionExpirySeconds?: number;
  /**
   * MQTT 5 Receive Maximum: QoS 1 messages the broker sends before ingest acknowledged them
   * (default DEFAULT_RECEIVE_MAXIMUM, at most 65,535). Keep it below the queue's capacity. Ingest also
   * stops reading the connection beyond this many pushes in flight (the only bound under MQTT 3.1.1).
   */
  receiveMaximum?: number;
  /**
   * MQTT 5 shared subscription group: several ingest processes subscribing with the same group
   * (each with its own client id) split the messages between them, each message to one of them
   * [MQTT-4.8.2]. Without it, every ingest process gets every message.
   */
  shareGroup?: string;
  logger?: Logger;
}

/** One network connection; its packet ids mean nothing on another one. */
interface Connection {
  client: MqttClient;
  /** PUBACKs may be written (false once closing or closed). */
  open: boolean;
  /** Connected and subscribed: a close after this is resumed by reconnecting. */
  ready: boolean;
  /** A push failed: nothing more is pushed on this connection, which closes once the rest settled. */
  refused: boolean;
  inFlight: number;
  /** The client's packet parsing, held while inFlight is above the receive maximum. */
  heldParse: (() => void) | undefined;
  /** Resolved when inFlight drops to 0. */
  idle: (() => void)[];
  settleTimer: NodeJS.Timeout | undefined;
}

/**
 * mqtt.js writes a QoS 1 PUBACK once handleMessage calls back without an error; with an error it
 * goes on parsing without one (MQTT 3.1.1 and 5 alike; its customHandleAcks exists only for 5 and
 * holds parsing until it answers). So handleMessage answers with this at once, which lets many
 * pushes wait for their commit together, and ackOn writes the PUBACK when the message is durable.
 */
const DEFERRED = new Error('PUBACK deferred until the message is durable');

function toMessage(packet: IPublishPacket): QueuedMessage {
  const correlationData = packet.properties?.correlationData;
  return {
    topic: packet.topic,
    payload: Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload),
    receivedAt: Date.now(),
    ...(correlationData ? { correlationData } : {}),
  };
}

/** A SUBACK reason code >= 0x80 refuses that filter; QoS 0 would mean acknowledgements we cannot hold back. */
/** The filters ingest subscribes to, in a shared subscription group when one is named. */
function sharedFilters(group: string | undefined, protocolVersion: 4 | 5): readonly string[] {
  if (group === undefined) return INGEST_FILTERS;
  if (protocolVersion !== 5) throw new Error('a shared subscription group needs MQTT 5');
  // [MQTT-4.8.2-2]: a ShareName is at least one character and has no '/', '+' or '#'.
  if (!/^[^/+#]+$/.test(group)) throw new Error(`share group "${group}" must be non-empty without '/', '+' or '#'`);
  return INGEST_FILTERS.map((filter) => `$share/${group}/${filter}`);
}

async function subscribe(client: MqttClient, filters: readonly string[], protocolVersion: 4 | 5): Promise<void> {
  let granted: number[];
  try {
    // Retain Handling 1: a filter the kept session already has does not send the retained messages again.
    const suback = await client.subscribeAsync([...filters], { qos: 1, ...(protocolVersion === 5 ? { rh: 1 } : {}) });
    granted = suback.map((g) => g.qos);
  } catch (err) {
    const packet = (err as { packet?: { granted?: (number | { qos: number })[] } }).packet;
    if (!packet?.granted) throw err;
    granted = packet.granted.map((g) => (typeof g === 'number' ? g : g.qos));
  }
  const refused = filters.map((filter, i) => ({ filter, code: granted[i] ?? 0x80 })).filter(({ code }) => code !== 1);
  if (refused.length > 0) {
    const list = refused
      .map(({ filter, code }) => {
        const name = code === 0 ? 'granted QoS 0' : (ReasonCodes as Record<number, string>)[code];
        return `${filter} (0x${code.toString(16).padStart(2, '0')}${name ? ` ${name}` : ''})`;
      })
      .join(', ');
    throw new Error(`the broker refused ingest's subscription at QoS 1: ${list}`);
  }
}

/**
 * Ingest as its own process: a persistent MQTT session (QoS 1) on a remote broker.
 *
 * A message is acknowledged (PUBACK) only once push resolved, i.e. it is durable. [MQTT-4.3.2-2]
 * When push rejects, no negative PUBACK is sent: in MQTT 5 a PUBACK >= 0x80 ends the message's
 * delivery and the broker drops it. The message is left unacknowledged instead, and since a broker
 * resends unacknowledged QoS 1 messages only when the session resumes [MQTT-4.4.0-1], the source
 * stops pushing on that connection, lets the other pushes in flight settle (up to SETTLE_MS; those
 * that resolve are acknowledged), closes it and connects again with the same client id and Clean
 * Start 0 (after a backoff while refusals repeat). The broker then resends, in their order, the
 * refused message and everything after it that was not acknowledged. Messages pushed before the
 * refusal was known may be stored before the refused one; a push that resolves after its connection
 * closed is not acknowledged (its packet id would name another message on the new connection), so
 * that message is resent and stored again (samples are deduplicated on insert).
 */
export function mqttSource(url: string, options: MqttSourceOptions = {}): MessageSource {
  const protocolVersion = options.protocolVersion ?? 5;
  const filters = sharedFilters(options.shareGroup, protocolVersion);
  const receiveMaximum = Math.min(65_535, Math.max(1, options.receiveMaximum ?? DEFAULT_RECEIVE_MAXIMUM));
  const log = options.logger;
  let push: ((message: QueuedMessage) => Promise<void>) | undefined;
  let current: Connection | undefined;
  let stopped = true;
  let reconnectTimer: NodeJS.Timeout | undefined;
  /** Reconnects since a push last resolved: the backoff's attempt. */
  let failures = 0;

  const clientOptions = (): IClientOptions => ({
    clientId: options.clientId ?? `clutch-ingest-${process.pid}`,
    protocolVersion,
    clean: false,
    ...(protocolVersion === 5
      ? {
          properties: {
            sessionExpiryInterval: options.sessionExpirySeconds ?? DEFAULT_SESSION_EXPIRY_SECONDS,
            receiveMaximum,
          },
        }
      : {}),
    username: options.username,
    password: options.password,
    // Reconnection is ours: a new client per connection, so a late PUBACK cannot reach the next one.
    reconnectPeriod: 0,
  });

  function ackOn(conn: Connection, messageId: number): void {
    if (!conn.open || conn.client.stream.destroyed) return;
    mqttPacket.writeToStream({ cmd: 'puback', messageId, reasonCode: 0 }, conn.client.stream, { protocolVersion });
  }

  /** `messageId` undefined: QoS 0, nothing to acknowledge. `next` lets the client parse the next packet. */
  function receive(conn: Connection, packet: IPublishPacket, messageId: number | undefined, next: () => void): void {
    if (!push || stopped || !conn.open || conn.refused) {
      // Not pushed and not acknowledged: the broker resends it when the session resumes.
      next();
      return;
    }
    conn.inFlight++;
    push(toMessage(packet)).then(
      () => settled(conn, messageId, true),
      (err: unknown) => settled(conn, messageId, false, err),
    );
    // A broker that honours the Receive Maximum never sends more; one that does not (or MQTT 3.1.1,
    // which has none) is slowed by not reading its connection. Holding back PINGRESP too, a long
    // hold ends in a keep-alive timeout, a reconnect and a resend: at-least-once still holds.
    if (conn.inFlight <= receiveMaximum) next();
    else conn.heldParse = next;
  }

  function settled(conn: Connection, messageId: number | undefined, ok: boolean, err?: unknown): void {
    conn.inFlight--;
    if (ok) {
      failures = 0;
      if (messageId !== undefined) ackOn(conn, messageId);
    } else if (messageId !== undefined && !conn.refused) {
      conn.refused = true;
      log?.warn(
        { err: (err as Error | undefined)?.message },
        'ingest could not store a message; reconnecting so the broker resends it',
      );
      conn.settleTimer = setTimeout(() => closeForResend(conn), SETTLE_MS);
    }
    const held = conn.heldParse;
    if (held && conn.inFlight <= receiveMaximum) {
      conn.heldParse = undefined;
      held();
    }
    if (conn.inFlight === 0) {
      for (const resolve of conn.idle.splice(0)) resolve();
      if (conn.refused) closeForResend(conn);
    }
  }

  function closeForResend(conn: Connection): void {
    if (!conn.open) return;
    conn.open = false;
    clearTimeout(conn.settleTimer);
    // Not forced: a forced end destroys the socket, dropping the PUBACKs still corked in it. The
    // 'close' handler connects again; the session (and the unacknowledged messages) stay.
    conn.client.end(false);
  }

  function scheduleReconnect(): void {
    if (stopped || reconnectTimer) return;
    const delay = backoffDelay(failures++);
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      connect(false).catch((err: Error) => {
        if (stopped) return; // stop() ended the connection it was making
        log?.warn({ err: err.message }, 'ingest could not resume its MQTT session; will retry');
        scheduleReconnect();
      });
    }, delay);
  }

  /** Connects (and subscribes when the broker has no session for us, or on `first`). */
  async function connect(first: boolean): Promise<void> {
    const client = mqtt.connect(url, clientOptions());
    const conn: Connection = {
      client,
      open: true,
      ready: false,
      refused: false,
      inFlight: 0,
      heldParse: undefined,
      idle: [],
      settleTimer: undefined,
    };
    current = conn;
    // Set before CONNACK: a resumed session's messages follow it at once.
    client.handleMessage = (packet, next) =>
      receive(conn, packet, packet.qos > 0 ? packet.messageId : undefined, () => next(DEFERRED));
    client.on('error', (err) => log?.warn({ err: err.message }, 'ingest mqtt connection error'));
    client.on('close', () => {
      conn.open = false;
      clearTimeout(conn.settleTimer);
      // Before it was ready, connect() reports the failure instead.
      if (current === conn && conn.ready) scheduleReconnect();
    });
    try {
      const connack = await new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
        client.once('connect', resolve);
        client.once('error', reject);
        client.once('close', () => reject(new Error(`ingest could not connect to ${url}`)));
      });
      if (!first && !connack.sessionPresent)
        log?.warn('the broker kept no session for ingest: what was published while it was away is not resent');
      if (first || !connack.sessionPresent) await subscribe(client, filters, protocolVersion);
      conn.ready = true;
    } catch (err) {
      conn.open = false;
      if (first && current === conn) current = undefined;
      await client.endAsync(true);
      throw err;
    }
  }

  return {
    async start(p) {
      push = p;
      stopped = false;
      failures = 0;
      await connect(true);
    },
    async stop() {
      stopped = true;
      clearTimeout(reconnectTimer);
      reconnectTimer = undefined;
      const conn = current;
      current = undefined;
      if (!conn) return;
      // Acknowledge what becomes durable now rather than have it resent next time.
      if (conn.inFlight > 0 && conn.open) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, SETTLE_MS);
          conn.idle.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      conn.open = false;
      clearTimeout(conn.settleTimer);
      await conn.client.endAsync();
    },
  };
}
