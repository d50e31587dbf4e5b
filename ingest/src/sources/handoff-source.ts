import type { QueuedMessage } from '../queue/work-queue.js';
import { INGEST_FILTERS, type MessageSource } from './message-source.js';
import { topicMatcher } from './topic-filter.js';

/** A publish as the broker hands it over (aedes' packet, a device's PUBLISH or its Last Will). */
export interface HandedOverPacket {
  topic: string;
  payload: Buffer | string;
  /** MQTT 5 properties of the publish (aedes' packet carries them). */
  properties?: { correlationData?: Buffer };
}

/**
 * The broker's side of the hand-off (BrokerOptions.durableHandoff): the broker asks `takes` for
 * each authorised publish, and for those it awaits `handoff` before it acknowledges. [MQTT-4.3.2-2]
 */
export interface DurableHandoff {
  takes(topic: string): boolean;
  /**
   * Resolves once the message is durable; rejects when it is not (the broker then closes without
   * PUBACK). `onAccepted` is called once ingest holds the message, before it is durable: the broker
   * may then read the sender's next packets (WorkQueue.handoff).
   */
  handoff(packet: HandedOverPacket, onAccepted?: () => void): Promise<void>;
}

/**
 * Ingest fed by the broker before it acknowledges, instead of through a subscription (which aedes
 * serves only after the PUBACK is written: a crash in between lost acknowledged batches, issue 12
 * finding 7). `push` is the queue's durable hand-off, so the PUBACK means "committed" (embedded) or
 * "in the stream" (scale-out). Before start() and after stop() every hand-off is refused: those
 * messages are not acknowledged and the devices resend them [MQTT-4.4.0-1].
 *
 * Messages the platform publishes itself (aedes.publish) do not pass authorizePublish and so are not
 * ingested: ingest stores what devices send. Last Wills do pass it (aedes authorises a will before
 * publishing it), so a device's offline `status` still reaches ingest.
 */
export function handoffSource(filters: readonly string[] = INGEST_FILTERS): MessageSource & DurableHandoff {
  let push: ((message: QueuedMessage, onAccepted?: () => void) => Promise<void>) | undefined;
  const matches = topicMatcher(filters);
  return {
    takes: matches,
    handoff(packet, onAccepted) {
      if (!push) return Promise.reject(new Error('ingest is not running; the message stays with its sender'));
      return push(
        {
          topic: packet.topic,
          payload: Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload),
          receivedAt: Date.now(),
          ...(packet.properties?.correlationData ? { correlationData: packet.properties.correlationData } : {}),
        },
        onAccepted,
      );
    },
    async start(p) {
      push = p;
    },
    async stop() {
      push = undefined;
    },
  };
}
