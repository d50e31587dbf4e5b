import {
  parseStatus, parseTelemetryBatch, parseTopic,
  type DeviceStatus, type TelemetryBatch, type TopicAddress,
} from '@clutch/contracts';
import type { QueuedMessage } from '../queue/work-queue.js';

export type ValidatedMessage =
  | { kind: 'telemetry'; address: TopicAddress; batch: TelemetryBatch; message: QueuedMessage }
  | { kind: 'status'; address: TopicAddress; status: DeviceStatus; message: QueuedMessage }
  | { kind: 'invalid'; address: TopicAddress | null; reason: string; message: QueuedMessage };

/** First processor: topic and payload against the contracts. Never throws. */
export function validateMessage(message: QueuedMessage): ValidatedMessage {
  const address = parseTopic(message.topic);
  if (!address) return { kind: 'invalid', address: null, reason: `topic ${JSON.stringify(message.topic)} is not a Clutch topic`, message };
  switch (address.kind) {
    case 'telemetry': {
      const parsed = parseTelemetryBatch(message.payload);
      return parsed.ok
        ? { kind: 'telemetry', address, batch: parsed.value, message }
        : { kind: 'invalid', address, reason: parsed.reason, message };
    }
    case 'status': {
      const parsed = parseStatus(message.payload);
      return parsed.ok
        ? { kind: 'status', address, status: parsed.value, message }
        : { kind: 'invalid', address, reason: parsed.reason, message };
    }
    default:
      return { kind: 'invalid', address, reason: `ingest does not handle ${address.kind} messages`, message };
  }
}
