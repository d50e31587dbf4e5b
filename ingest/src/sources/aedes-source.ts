import type { Aedes, AedesPublishPacket } from 'aedes';
import type { QueuedMessage } from '../queue/work-queue.js';
import { INGEST_FILTERS, type MessageSource } from './message-source.js';

/**
 * In-process subscription on the embedded broker. The deliver callback is called only once the
 * message is queued, so a full queue slows the broker's delivery instead of growing memory.
 *
 * Not durable: aedes delivers to subscribers after it wrote the PUBACK, so a crash before the commit
 * loses an acknowledged message (issue 12 finding 7). The platform uses handoffSource with the
 * broker's durableHandoff instead; this stays for tools that measure ingest alone.
 */
export function aedesSource(aedes: Aedes, filters: readonly string[] = INGEST_FILTERS): MessageSource {
  let deliver: ((packet: AedesPublishPacket, cb: () => void) => void) | undefined;
  return {
    push: 'accepted',
    async start(push) {
      deliver = (packet, cb) => {
        const message: QueuedMessage = {
          topic: packet.topic,
          payload: Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload),
          receivedAt: Date.now(),
          ...(packet.properties?.correlationData ? { correlationData: packet.properties.correlationData } : {}),
        };
        push(message).then(cb, cb);
      };
      await Promise.all(filters.map((f) => new Promise<void>((resolve) => aedes.subscribe(f, deliver!, resolve))));
    },
    async stop() {
      if (!deliver || aedes.closed) return;
      await Promise.all(filters.map((f) => new Promise<void>((resolve) => aedes.unsubscribe(f, deliver!, resolve))));
    },
  };
}
