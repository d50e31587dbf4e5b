import type { LiveEventBus } from '@clutch/contracts';
import type { Database } from '@clutch/db';
import { listenerFor, liveBusSink as busSink, startOutboxRelay, type OutboxRelay, type OutboxSink } from '@clutch/jobs';
import type { Logger } from 'pino';
import type { PlatformConfig } from '../config/config.js';

/**
 * The Socket.io sink: live topics (@clutch/jobs' LIVE_TOPICS: `vehicle.command`, `api-key.revoked`,
 * ...) go onto the live-event bus, which every API process's gateway relays to the vehicle's room
 * and every broker and gateway hears for revocations (through Redis when scaled out). Other topics
 * are for later sinks and pass.
 */
export function liveBusSink(bus: LiveEventBus, logger?: Logger): OutboxSink {
  return busSink(bus, (event) => {
    if (event.topic.startsWith('vehicle.'))
      logger?.debug({ id: event.id, topic: event.topic }, 'outbox event not relayed live');
  });
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
