import type { LiveEventBus } from '@clutch/contracts';
import type { Database } from '@clutch/db';
import { listenerFor, startOutboxRelay, type OutboxRelay, type OutboxSink } from '@clutch/jobs';
import type { Logger } from 'pino';
import type { PlatformConfig } from '../config/config.js';
import { liveEventOf } from './live-topics.js';

/**
 * The Socket.io sink: live topics (LIVE_TOPICS) go onto the live-event bus, which every API
 * process's gateway relays to the vehicle's room (through Redis when scaled out). Publishing is
 * fire-and-forget, so this never refuses an event; other topics are for later sinks and pass.
 */
export function liveBusSink(bus: LiveEventBus, logger?: Logger): OutboxSink {
  return {
    name: 'live-bus',
    async deliver(event) {
      const live = liveEventOf(event);
      if (live) bus.publish(live);
      else if (event.topic.startsWith('vehicle.'))
        logger?.debug({ id: event.id, topic: event.topic }, 'outbox event not relayed live');
    },
  };
}

export interface RunningOutbox {
  relay: OutboxRelay;
  stop(): Promise<void>;
}

/**
 * The outbox relay delivering committed domain events to `sinks` in order, woken at commit
 * (LISTEN/NOTIFY on PGlite and PostgreSQL alike).
 */
export async function startOutbox(
  db: Database,
  config: Pick<PlatformConfig, 'databaseUrl'>,
  sinks: readonly OutboxSink[],
  logger: Logger,
  options: { pollMs?: number } = {},
): Promise<RunningOutbox> {
  const log = logger.child({ component: 'outbox' });
  const relay = await startOutboxRelay({
    db,
    sinks,
    listen: listenerFor(db, config.databaseUrl),
    ...(options.pollMs !== undefined ? { pollMs: options.pollMs } : {}),
    onError: (err, ctx) =>
      log.warn(
        { err: (err as Error)?.message, sink: ctx.sink, event: ctx.event?.id },
        'outbox delivery failed; retrying',
      ),
  });
  return { relay, stop: () => relay.stop({ timeoutMs: 5000 }) };
}
