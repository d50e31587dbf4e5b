import { deliverToAll, type LiveEvent, type LiveEventBus, type LiveEventHandler } from '@clutch/contracts';
import { Redis } from 'ioredis';

export const EVENTS_CHANNEL = 'clutch:events';

/**
 * The live-event bus across processes: Redis pub/sub. Every process, including the publisher, receives
 * events through its subscription, so an API process relays what any ingest worker stored and a
 * broker process hears every credential revocation.
 */
export async function createRedisBus(url: string): Promise<LiveEventBus & { close(): Promise<void> }> {
  const pub = new Redis(url, { maxRetriesPerRequest: null });
  const sub = new Redis(url, { maxRetriesPerRequest: null });
  pub.on('error', () => {});
  sub.on('error', () => {});
  const handlers = new Set<LiveEventHandler>();
  sub.on('message', (_channel: string, text: string) => {
    let event: LiveEvent;
    try {
      event = JSON.parse(text) as LiveEvent;
    } catch {
      return; // not ours
    }
    deliverToAll(handlers, event);
  });
  await sub.subscribe(EVENTS_CHANNEL);
  return {
    publish(event) {
      void pub.publish(EVENTS_CHANNEL, JSON.stringify(event));
    },
    subscribe(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    async close() {
      sub.disconnect();
      await pub.quit();
    },
  };
}
