import type { LiveEventBus } from '@clutch/contracts';
import type { Database } from '@clutch/db';
import type { Logger } from 'pino';
import { createIngestHandler, type IngestStats } from './pipeline.js';
import { createMemoryQueue } from './queue/memory-queue.js';
import type { WorkQueue } from './queue/work-queue.js';
import type { MessageSource } from './sources/message-source.js';

export interface RunningIngest {
  stats(): IngestStats & { queueDepth: number };
  /** Stops taking messages and waits until everything queued is committed. */
  stop(): Promise<void>;
}

export async function startIngest(deps: {
  db: Database;
  bus: LiveEventBus;
  source: MessageSource;
  queue?: WorkQueue;
  logger?: Logger;
}): Promise<RunningIngest> {
  const { logger } = deps;
  const queue =
    deps.queue ??
    createMemoryQueue({
      onError: (err, attempt) => {
        if (attempt === 0 || attempt % 20 === 0) logger?.error({ err: (err as Error).message, attempt }, 'ingest batch failed; will retry');
      },
    });
  const handler = createIngestHandler({ db: deps.db, bus: deps.bus, ...(logger ? { logger } : {}) });
  queue.consume(handler.handle);
  await deps.source.start((message) => queue.enqueue(message));
  return {
    stats: () => ({ ...handler.stats(), queueDepth: queue.depth() }),
    async stop() {
      await deps.source.stop();
      await queue.drain();
    },
  };
}
