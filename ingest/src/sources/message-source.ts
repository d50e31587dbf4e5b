import type { QueuedMessage } from '../queue/work-queue.js';

/** Where ingest's messages come from: the in-process broker or an MQTT connection to a remote one. */
export interface MessageSource {
  /**
   * Starts delivering. `push` resolves once the message is durable (committed, dead-lettered, or in
   * the shared stream) and rejects when ingest gave up on it: acknowledge upstream only on resolve.
   * `onAccepted`: see WorkQueue.handoff.
   */
  start(push: (message: QueuedMessage, onAccepted?: () => void) => Promise<void>): Promise<void>;
  stop(): Promise<void>;
  /**
   * 'accepted': the source acknowledged upstream before it got the message (an aedes subscription is
   * served after the PUBACK), so waiting for the commit would only slow delivery; push then resolves
   * once the message is queued. Default 'durable'.
   */
  readonly push?: 'durable' | 'accepted';
}

/** The topics ingest consumes. */
export const INGEST_FILTERS = [
  'clutch/v1/+/+/telemetry',
  'clutch/v1/+/+/status',
  'clutch/v1/+/+/location',
  'clutch/v1/+/+/dtc',
  'clutch/v1/+/+/cmd/+/result',
] as const;
