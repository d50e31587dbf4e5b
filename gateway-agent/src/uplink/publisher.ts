import type { DeviceStatus } from '@clutch/contracts';

export type UplinkKind = 'dtc' | 'location';

/**
 * How an MQTT 5 command arrived (absent over 3.1.1): where to answer and what to echo
 * (request/response, MQTT 5 §4.10), and when it stops being worth running.
 */
export interface CommandDelivery {
  /** The platform's Response Topic: the result is published there (it is the `.../cmd/{id}/result` topic). */
  readonly responseTopic?: string;
  /** The platform's Correlation Data (the command id), echoed on the result. */
  readonly correlationData?: Buffer;
  /** Receipt time plus the Message Expiry Interval the broker forwarded (ms since the epoch). */
  readonly expiresAt?: number;
}

/** Where the agent sends what it reads. The MQTT implementation is the production one. */
export interface TelemetryPublisher {
  /** Publishes one serialized telemetry batch; resolves on the broker's acknowledgement (QoS 1 PUBACK). */
  publishTelemetry(payload: string): Promise<void>;
  /** Retained device status. */
  publishStatus(status: DeviceStatus): Promise<void>;
  /** DTC reports and GPS fixes (QoS 1). */
  publishMessage(kind: UplinkKind, payload: string): Promise<void>;
  /**
   * Result of a downlink command: on `.../cmd/{id}/result`, or (MQTT 5) on the command's response topic
   * with its correlation data echoed.
   */
  publishCommandResult(commandId: string, payload: string, delivery?: CommandDelivery): Promise<void>;
  /** Downlink commands on `.../cmd/{id}`; `delivery` carries the MQTT 5 request/response properties. */
  onCommand(handler: (commandId: string, payload: Buffer, delivery?: CommandDelivery) => void): void;
  /** Called on every (re)connect, e.g. to resume draining the disk queue. */
  onConnect(handler: () => void): void;
  readonly connected: boolean;
  /** Disconnects (after a graceful offline status when connected). */
  close(): Promise<void>;
}
