import { readFileSync } from 'node:fs';
import { buildTopic, parseTopic, type DeviceStatus } from '@clutch/contracts';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { TelemetryPublisher, UplinkKind } from './publisher.js';
import { agentError } from '../errors.js';

export interface MqttPublisherOptions {
  /** mqtt://host:1883 or mqtts://host:8883 (TLS). */
  readonly url: string;
  readonly tenant: string;
  readonly device: string;
  readonly clientId?: string;
  readonly username?: string;
  readonly password?: string;
  /** PEM file of the CA that signed the broker's certificate (mqtts:// with a private CA). */
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
  readonly logger?: Logger;
  /** Wait between reconnect attempts (mqtt.js retries forever). */
  readonly reconnectMs?: number;
}

/**
 * MQTT uplink. Telemetry is QoS 1; mqtt.js keeps unacknowledged QoS 1 packets in its outgoing store
 * and resends them (DUP set, [MQTT-3.3.1-1]) after a reconnect, so a batch handed over stays pending
 * across broker outages. Durability across agent restarts is the disk queue's job, not this class's.
 */
export class MqttPublisher implements TelemetryPublisher {
  private readonly topics: Record<'telemetry' | 'status' | UplinkKind, string>;
  private commandHandler: ((id: string, payload: Buffer) => void) | undefined;

  private constructor(
    private readonly client: MqttClient,
    private readonly options: MqttPublisherOptions,
  ) {
    const t = (kind: 'telemetry' | 'status' | UplinkKind) =>
      buildTopic({ tenant: options.tenant, device: options.device, kind });
    this.topics = { telemetry: t('telemetry'), status: t('status'), dtc: t('dtc'), location: t('location') };
    client.on('error', (err) => options.logger?.warn({ err: err.message }, 'mqtt error'));
    client.on('offline', () => options.logger?.warn('mqtt offline; batches stay queued'));
    client.on('message', (topic, payload) => {
      const address = parseTopic(topic);
      if (address?.kind === 'cmd' && address.device === options.device && address.commandId)
        this.commandHandler?.(address.commandId, payload);
    });
  }

  /**
   * Creates the client and returns at once: a car often starts without network, and the agent must
   * queue to disk meanwhile. mqtt.js keeps reconnecting every `reconnectMs`.
   */
  static create(options: MqttPublisherOptions): MqttPublisher {
    const statusTopic = buildTopic({ tenant: options.tenant, device: options.device, kind: 'status' });
    const offline: DeviceStatus = { v: 1, state: 'offline' };
    const clientOptions: IClientOptions = {
      // The broker gives each device principal the client-id namespace `{tenant}/{device}[/...]`
      // ([MQTT-3.1.4-2]: a reused id takes over the session); anonymous development clients may not use it.
      // The broker gives each device the client-id namespace {tenant}/{device}, whether it logs in
      // with a password or a certificate; anonymous development brokers refuse that shape.
      clientId:
        options.clientId ??
        (options.username || options.certFile
          ? `${options.tenant}/${options.device}`
          : `clutch-agent-${options.tenant}-${options.device}`),
      username: options.username,
      password: options.password,
      reconnectPeriod: options.reconnectMs ?? 1000,
      connectTimeout: 10_000,
      // DESIGN §4: the Last Will marks the device offline on the retained status topic.
      will: { topic: statusTopic, payload: Buffer.from(JSON.stringify(offline)), qos: 1, retain: true },
      ...(options.caFile ? { ca: readFileSync(options.caFile), rejectUnauthorized: true } : {}),
      ...(options.certFile && options.keyFile
        ? { cert: readFileSync(options.certFile), key: readFileSync(options.keyFile) }
        : {}),
    };
    const client = connect(options.url, clientOptions);
    const publisher = new MqttPublisher(client, options);
    const cmdFilter = `${buildTopic({ tenant: options.tenant, device: options.device, kind: 'cmd', commandId: 'x' }).slice(0, -1)}+`;
    client.on('connect', (ack) => {
      // A clean session forgets subscriptions; subscribe on every connect that did not resume one.
      if (!ack.sessionPresent) client.subscribe(cmdFilter, { qos: 1 });
    });
    return publisher;
  }

  /** Resolves on the first successful connect (or rejects after `timeoutMs`). */
  waitConnected(timeoutMs = 10_000): Promise<void> {
    if (this.client.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(agentError('MQTT_CONNECT_TIMEOUT', `${this.options.url} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.client.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  get connected(): boolean {
    return this.client.connected;
  }

  async publishTelemetry(payload: string): Promise<void> {
    await this.client.publishAsync(this.topics.telemetry, payload, { qos: 1 });
  }

  async publishMessage(kind: UplinkKind, payload: string): Promise<void> {
    await this.client.publishAsync(this.topics[kind], payload, { qos: 1 });
  }

  async publishCommandResult(commandId: string, payload: string): Promise<void> {
    const topic = buildTopic({
      tenant: this.options.tenant,
      device: this.options.device,
      kind: 'cmd_result',
      commandId,
    });
    await this.client.publishAsync(topic, payload, { qos: 1 });
  }

  async publishStatus(status: DeviceStatus): Promise<void> {
    await this.client.publishAsync(this.topics.status, JSON.stringify(status), { qos: 1, retain: true });
  }

  onCommand(handler: (id: string, payload: Buffer) => void): void {
    this.commandHandler = handler;
  }

  onConnect(handler: () => void): void {
    this.client.on('connect', handler);
  }

  async close(): Promise<void> {
    try {
      // A graceful stop is not a failure, so the Will does not fire: say offline ourselves.
      if (this.client.connected) {
        await Promise.race([
          this.publishStatus({ v: 1, state: 'offline', t: Date.now() }),
          new Promise((resolve) => setTimeout(resolve, 2000)),
        ]);
      }
    } finally {
      await this.client.endAsync(true);
    }
  }
}
