import { buildTopic, type DeviceStatus, type TelemetryBatch } from '@clutch/contracts';
import { connectAsync, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { TelemetryPublisher } from './publisher.js';

export interface MqttPublisherOptions {
  readonly url: string;
  readonly tenant: string;
  readonly device: string;
  readonly clientId?: string;
  readonly username?: string;
  readonly password?: string;
  readonly logger?: Logger;
}

interface Unacked {
  readonly payload: string;
  inFlight: boolean;
  readonly done: () => void;
}

/**
 * Publishes batches with QoS 1 and keeps each in memory until its PUBACK. A batch whose publish fails
 * (connection lost, client ended) is sent again on the next connect. The disk queue replaces this later.
 */
export class MqttPublisher implements TelemetryPublisher {
  private readonly unacked = new Map<number, Unacked>();
  private readonly telemetryTopic: string;
  private readonly statusTopic: string;

  private constructor(
    private readonly client: MqttClient,
    private readonly options: MqttPublisherOptions,
  ) {
    this.telemetryTopic = buildTopic({ tenant: options.tenant, device: options.device, kind: 'telemetry' });
    this.statusTopic = buildTopic({ tenant: options.tenant, device: options.device, kind: 'status' });
    client.on('connect', () => this.resend());
    client.on('error', (err) => options.logger?.warn({ err }, 'mqtt error'));
  }

  static async connect(options: MqttPublisherOptions): Promise<MqttPublisher> {
    const statusTopic = buildTopic({ tenant: options.tenant, device: options.device, kind: 'status' });
    const offline: DeviceStatus = { v: 1, state: 'offline' };
    const client = await connectAsync(options.url, {
      clientId: options.clientId ?? `clutch-agent-${options.tenant}-${options.device}`,
      username: options.username,
      password: options.password,
      reconnectPeriod: 1000,
      // DESIGN §4: the Last Will marks the device offline on the retained status topic.
      will: { topic: statusTopic, payload: Buffer.from(JSON.stringify(offline)), qos: 1, retain: true },
    });
    return new MqttPublisher(client, options);
  }

  publishBatch(batch: TelemetryBatch): Promise<void> {
    return new Promise<void>((resolve) => {
      this.unacked.set(batch.seq, { payload: JSON.stringify(batch), inFlight: false, done: resolve });
      this.send(batch.seq);
    });
  }

  private send(seq: number): void {
    const entry = this.unacked.get(seq);
    if (!entry || entry.inFlight) return;
    entry.inFlight = true;
    this.client.publishAsync(this.telemetryTopic, entry.payload, { qos: 1 }).then(
      () => {
        this.unacked.delete(seq);
        entry.done();
      },
      (err: unknown) => {
        entry.inFlight = false;
        this.options.logger?.warn({ err, seq }, 'telemetry publish failed; retrying on reconnect');
      },
    );
  }

  private resend(): void {
    for (const seq of this.unacked.keys()) this.send(seq);
  }

  async publishStatus(status: DeviceStatus): Promise<void> {
    await this.client.publishAsync(this.statusTopic, JSON.stringify(status), { qos: 1, retain: true });
  }

  unackedCount(): number {
    return this.unacked.size;
  }

  async close(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.unacked.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (this.unacked.size > 0) this.options.logger?.error({ unacked: this.unacked.size }, 'closing with unacknowledged batches');
    try {
      // A graceful stop is not a failure, so the Will does not fire: say offline ourselves.
      if (this.client.connected) await this.publishStatus({ v: 1, state: 'offline', t: Date.now() });
    } finally {
      await this.client.endAsync();
    }
  }
}
