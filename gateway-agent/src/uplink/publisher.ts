import type { DeviceStatus } from '@clutch/contracts';

export type UplinkKind = 'dtc' | 'location';

/** Where the agent sends what it reads. The MQTT implementation is the production one. */
export interface TelemetryPublisher {
  /** Publishes one serialized telemetry batch; resolves on the broker's acknowledgement (QoS 1 PUBACK). */
  publishTelemetry(payload: string): Promise<void>;
  /** Retained device status. */
  publishStatus(status: DeviceStatus): Promise<void>;
  /** DTC reports and GPS fixes (QoS 1). */
  publishMessage(kind: UplinkKind, payload: string): Promise<void>;
  /** Result of a downlink command, on `.../cmd/{id}/result`. */
  publishCommandResult(commandId: string, payload: string): Promise<void>;
  /** Downlink commands on `.../cmd/{id}`. */
  onCommand(handler: (commandId: string, payload: Buffer) => void): void;
  /** Called on every (re)connect, e.g. to resume draining the disk queue. */
  onConnect(handler: () => void): void;
  readonly connected: boolean;
  /** Disconnects (after a graceful offline status when connected). */
  close(): Promise<void>;
}
