import type { DeviceStatus, TelemetryBatch } from '@clutch/contracts';

/** Where the agent sends what it reads. The MQTT implementation is the production one. */
export interface TelemetryPublisher {
  /** Resolves when the broker has acknowledged the batch (QoS 1 PUBACK); retried across reconnects. */
  publishBatch(batch: TelemetryBatch): Promise<void>;
  /** Retained device status. */
  publishStatus(status: DeviceStatus): Promise<void>;
  /** Batches handed over but not yet acknowledged. */
  unackedCount(): number;
  /** Waits for every handed-over batch to be acknowledged (or the timeout), then disconnects. */
  close(timeoutMs?: number): Promise<void>;
}
