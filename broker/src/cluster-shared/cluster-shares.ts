import { randomUUID } from 'node:crypto';
import type { Aedes, Client } from 'aedes';
import type { Redis } from 'ioredis';
import { CLAIM_LUA, groupKeys, JOIN_LUA, memberOf, parseMember, type GroupKeys } from './claim-scripts.js';

/**
 * MQTT 5 shared subscriptions (`$share/{group}/{filter}`) across brokers clustered on Redis.
 *
 * aedes keeps a group per broker process, so with Redis fan-out each broker holding members would
 * deliver its own copy. Here aedes' per-process group dispatcher is kept off the emitter and each
 * group with local members gets one listener instead, which asks Redis (claim-scripts.ts) which live
 * member of the whole cluster gets the message; only the broker holding that member delivers it,
 * through the member's own subscription (its QoS, Subscription Identifier, retain-as-published).
 * The message id the claim is keyed by is the publishing broker's (aedes stamps every packet with
 * its broker id and counter), so every broker asks about the same message.
 */
export interface ClusterSharesOptions {
  /** How often this broker refreshes its members in Redis (default 2 s). */
  heartbeatMs?: number;
  /** A member not refreshed for this long is no longer chosen (default 3 heartbeats): a killed broker's members leave. */
  memberTtlMs?: number;
  /** How long a message's choice is kept: longer than any broker takes to see the message (default 10 s). */
  claimTtlMs?: number;
  onError?: (err: Error) => void;
}

export interface ClusterShares {
  /** Stops the heartbeat and removes this broker's members from Redis (after aedes closed). */
  close(): Promise<void>;
}

type Deliver = (packet: SharedPacket, cb: () => void) => void;
interface SharedPacket {
  topic: string;
  brokerId?: string;
  brokerCounter?: number;
}
/** What aedes keeps per client that this module reads (not in aedes' types). */
interface SubscribedClient {
  id: string;
  closed?: boolean;
  subscriptions: Record<string, { func: Deliver } | undefined>;
}
type Emitter = (topic: string, func: Deliver, done?: () => void) => void;

interface LocalGroup {
  filter: string;
  keys: GroupKeys;
  /** Local members by client id (a takeover on this broker replaces the entry). */
  clients: Map<string, SubscribedClient>;
  listener: Deliver;
  /** Local round robin when the chosen member left this broker before its message arrived. */
  next: number;
}

interface ShareCommands {
  clutchShareJoin(members: string, member: string, ttlMs: number): Promise<number>;
  clutchShareClaim(members: string, counter: string, claim: string, ttlMs: number): Promise<string | null>;
}

const SHARE_PREFIX = '$share/';
/** aedes' per-process group dispatcher (lib/shared-subscriptions.js, `deliverShared`). */
const AEDES_SHARED_DISPATCH = 'deliverShared';

function filterOf(shareTopic: string): string {
  return shareTopic.slice(shareTopic.indexOf('/', SHARE_PREFIX.length) + 1);
}

/** [MQTT-4.7.2-1] A filter starting with a wildcard does not match `$` topics. */
function skipsDollarTopics(filter: string, topic: string): boolean {
  return topic.charCodeAt(0) === 36 && (filter.charCodeAt(0) === 43 || filter.charCodeAt(0) === 35);
}

/** Wires cluster-wide shared subscriptions into a clustered aedes; call right after creating it. */
export function attachClusterShares(aedes: Aedes, redis: Redis, options: ClusterSharesOptions = {}): ClusterShares {
  const heartbeatMs = options.heartbeatMs ?? 2000;
  const memberTtlMs = options.memberTtlMs ?? 3 * heartbeatMs;
  const claimTtlMs = options.claimTtlMs ?? 10_000;
  const onError = options.onError ?? (() => {});
  const brokerId = aedes.id;
  // Claims on their own connection, auto-pipelined: the claims of a burst of messages share a write
  // and a read (ioredis sends the commands queued in one turn of the event loop together).
  const claims = redis.duplicate({ enableAutoPipelining: true });
  claims.on('error', () => {}); // reconnects by itself; a failing claim is reported through onError
  for (const conn of [redis, claims]) {
    conn.defineCommand('clutchShareJoin', { numberOfKeys: 1, lua: JOIN_LUA });
    conn.defineCommand('clutchShareClaim', { numberOfKeys: 3, lua: CLAIM_LUA });
  }
  const commands = redis as unknown as ShareCommands;
  const claimCommands = claims as unknown as ShareCommands;
  const groups = new Map<string, LocalGroup>();
  const pending = new Set<Promise<unknown>>();
  const track = (work: Promise<unknown>): void => {
    const p = work.catch((err: Error) => onError(err)).finally(() => pending.delete(p));
    pending.add(p);
  };

  // aedes' own dispatcher would deliver every message to a local member: keep it off the emitter.
  const emitter = aedes as unknown as { subscribe: Emitter; unsubscribe: Emitter };
  const subscribe = emitter.subscribe.bind(aedes);
  const unsubscribe = emitter.unsubscribe.bind(aedes);
  emitter.subscribe = (topic, func, done) => {
    if (func.name === AEDES_SHARED_DISPATCH) return void (done && process.nextTick(done));
    subscribe(topic, func, done);
  };
  emitter.unsubscribe = (topic, func, done) => {
    if (func.name === AEDES_SHARED_DISPATCH) return void (done && process.nextTick(done));
    unsubscribe(topic, func, done);
  };

  const deliverTo = (client: SubscribedClient, shareTopic: string, packet: SharedPacket, cb: () => void): boolean => {
    const subscription = client.closed ? undefined : client.subscriptions[shareTopic];
    if (!subscription) return false;
    subscription.func(packet, cb);
    return true;
  };

  const createGroup = (shareTopic: string): LocalGroup => {
    const filter = filterOf(shareTopic);
    const keys = groupKeys(shareTopic);
    const group: LocalGroup = {
      filter,
      keys,
      clients: new Map(),
      next: 0,
      listener: (packet, cb) => {
        if (group.clients.size === 0 || skipsDollarTopics(filter, packet.topic)) return cb();
        // aedes stamps every packet it publishes; an unstamped one (none known) must not share one claim
        // key with every other: it gets its own, at the price of one copy per broker holding members.
        const messageId =
          packet.brokerId && packet.brokerCounter ? `${packet.brokerId}:${packet.brokerCounter}` : randomUUID();
        claimCommands.clutchShareClaim(keys.members, keys.counter, keys.claimPrefix + messageId, claimTtlMs).then(
          (chosen) => {
            if (chosen === null) return cb();
            const member = parseMember(chosen);
            if (member.brokerId !== brokerId) return cb();
            const client = group.clients.get(member.clientId);
            if (client && deliverTo(client, shareTopic, packet, cb)) return;
            // The chosen member left this broker after Redis chose it: another local member takes it.
            const others = [...group.clients.values()];
            for (let tries = 0; tries < others.length; tries++) {
              const other = others[group.next++ % others.length]!;
              if (deliverTo(other, shareTopic, packet, cb)) return;
            }
            cb();
          },
          (err: Error) => {
            onError(err);
            cb();
          },
        );
      },
    };
    groups.set(shareTopic, group);
    subscribe(filter, group.listener);
    return group;
  };

  const join = (client: SubscribedClient, shareTopic: string): void => {
    const group = groups.get(shareTopic) ?? createGroup(shareTopic);
    group.clients.set(client.id, client);
    track(commands.clutchShareJoin(group.keys.members, memberOf(brokerId, client.id), memberTtlMs));
  };

  const leave = (client: SubscribedClient, shareTopic: string): void => {
    const group = groups.get(shareTopic);
    // A client id that reconnected to this broker (a takeover) is the new client's membership now.
    if (!group || group.clients.get(client.id) !== client) return;
    group.clients.delete(client.id);
    track(redis.zrem(group.keys.members, memberOf(brokerId, client.id)));
    if (group.clients.size > 0) return;
    groups.delete(shareTopic);
    unsubscribe(group.filter, group.listener);
  };

  const joinAll = (client: SubscribedClient): void => {
    for (const topic of Object.keys(client.subscriptions)) if (topic.startsWith(SHARE_PREFIX)) join(client, topic);
  };
  // A live SUBSCRIBE (granted filters only) and a persistent session's restored subscriptions.
  aedes.on('subscribe', (subscriptions, client: Client) => {
    for (const s of subscriptions)
      if (s.topic.startsWith(SHARE_PREFIX) && s.qos < 0x80) join(client as unknown as SubscribedClient, s.topic);
  });
  aedes.on('clientReady', (client: Client) => joinAll(client as unknown as SubscribedClient));
  aedes.on('unsubscribe', (topics, client: Client) => {
    for (const topic of topics) if (topic.startsWith(SHARE_PREFIX)) leave(client as unknown as SubscribedClient, topic);
  });
  aedes.on('clientDisconnect', (client: Client) => {
    for (const [topic, group] of groups) {
      const member = group.clients.get(client.id);
      if (member === (client as unknown as SubscribedClient)) leave(member, topic);
    }
  });

  const heartbeat = setInterval(() => {
    for (const group of groups.values())
      for (const clientId of group.clients.keys())
        track(commands.clutchShareJoin(group.keys.members, memberOf(brokerId, clientId), memberTtlMs));
  }, heartbeatMs);
  heartbeat.unref();

  return {
    async close() {
      clearInterval(heartbeat);
      for (const [topic, group] of groups) for (const client of [...group.clients.values()]) leave(client, topic);
      await Promise.all(pending);
      claims.disconnect();
    },
  };
}
