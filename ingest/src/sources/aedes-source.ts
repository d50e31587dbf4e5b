import type { Aedes, AedesPublishPacket } from 'aedes';
import type { QueuedMessage } from '../queue/work-queue.js';
import { INGEST_FILTERS, type MessageSource } from './message-source.js';

/**
 * In-process subscription on the embedded broker. The deliver callback is called only once the
 * message is queued, so a full queue slows the broker's delivery instead of growing memory.
 */
export function aedesSource(aedes: Aedes, filters: readonly string[] = INGEST_FILTERS): MessageSource {
  let deliver: ((packet: AedesPublishPacket, cb: () => void) => void) | undefined;
  return {
    async start(push) {
      deliver = (packet, cb) => {
        const message: QueuedMessage = {
          topic: packet.topic,
          payload: Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload),
          receivedAt: Date.now(),
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
