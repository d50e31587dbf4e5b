import type { QueuedMessage } from '../queue/work-queue.js';

/** Where ingest's messages come from: the in-process broker or an MQTT connection to a remote one. */
export interface MessageSource {
  /** Subscribes; `push` resolves when the message is safely queued (the source may then acknowledge it). */
  start(push: (message: QueuedMessage) => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

/** The topics ingest consumes. */
export const INGEST_FILTERS = [
  'clutch/v1/+/+/telemetry',
  'clutch/v1/+/+/status',
  'clutch/v1/+/+/location',
  'clutch/v1/+/+/dtc',
  'clutch/v1/+/+/cmd/+/result',
] as const;
