import { readFileSync } from 'node:fs';
import { buildTopic, parseTopic, TOPIC_ROOT, type DeviceStatus } from '@clutch/contracts';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { CommandDelivery, TelemetryPublisher, UplinkKind } from './publisher.js';
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
  /** MQTT 3.1.1 (4, the default) or 5. Over 5 commands are answered on their response topic. */
  readonly protocolVersion?: 4 | 5;
}

/** Published results are JSON (MQTT 5 Content Type, §3.3.2.3.9). */
const JSON_CONTENT = 'application/json';

/**
 * MQTT uplink. Telemetry is QoS 1; mqtt.js keeps unacknowledged QoS 1 packets in its outgoing store
 * and resends them (DUP set, [MQTT-3.3.1-1]) after a reconnect, so a batch handed over stays pending
 * across broker outages. Durability across agent restarts is the disk queue's job, not this class's.
 */
export class MqttPublisher implements TelemetryPublisher {
  private readonly topics: Record<'telemetry' | 'status' | UplinkKind, string>;
  private commandHandler: ((id: string, payload: Buffer, delivery?: CommandDelivery) => void) | undefined;
  private v5: boolean;
  /** Topics this device may answer on: its own namespace (the broker's tenant policy allows no other). */
  private readonly ownPrefix: string;

  private constructor(
    private readonly client: MqttClient,
    private readonly options: MqttPublisherOptions,
  ) {
    const t = (kind: 'telemetry' | 'status' | UplinkKind) =>
      buildTopic({ tenant: options.tenant, device: options.device, kind });
    this.topics = { telemetry: t('telemetry'), status: t('status'), dtc: t('dtc'), location: t('location') };
    this.v5 = options.protocolVersion === 5;
    this.ownPrefix = `${TOPIC_ROOT}/${options.tenant}/${options.device}/`;
    client.on('error', (err) => {
      options.logger?.warn({ err: err.message }, 'mqtt error');
      // A broker that speaks only 3.1.1 refuses an MQTT 5 CONNECT with return code 1 (MQTT-3.1.2-2) or,
      // speaking 5, with 0x84 Unsupported Protocol Version: reconnect with 3.1.1 rather than never.
      // mqtt.js reads reconnectOnConnackError right after this handler returns (handlers/connack.js), so
      // setting it here schedules its ordinary reconnect for this one refusal only.
      const code = (err as { code?: unknown }).code;
      if (this.v5 && (code === 1 || code === 0x84)) {
        this.v5 = false;
        client.options.protocolVersion = 4;
        delete client.options.properties;
        if (client.options.will) delete client.options.will.properties;
        client.options.reconnectOnConnackError = true;
        options.logger?.warn('broker refused MQTT 5; using MQTT 3.1.1 (commands answered on the result topic)');
      } else {
        client.options.reconnectOnConnackError = false;
      }
    });
    client.on('offline', () => options.logger?.warn('mqtt offline; batches stay queued'));
    client.on('message', (topic, payload, packet) => {
      const address = parseTopic(topic);
      if (address?.kind === 'cmd' && address.device === options.device && address.commandId)
        this.commandHandler?.(address.commandId, payload, this.v5 ? commandDelivery(packet.properties) : undefined);
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
      protocolVersion: options.protocolVersion ?? 4,
      connectTimeout: 10_000,
      // DESIGN §4: the Last Will marks the device offline on the retained status topic.
      will: {
        topic: statusTopic,
        payload: Buffer.from(JSON.stringify(offline)),
        qos: 1,
        retain: true,
        ...(options.protocolVersion === 5 ? { properties: { contentType: JSON_CONTENT } } : {}),
      },
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

  async publishCommandResult(commandId: string, payload: string, delivery?: CommandDelivery): Promise<void> {
    const resultTopic = buildTopic({
      tenant: this.options.tenant,
      device: this.options.device,
      kind: 'cmd_result',
      commandId,
    });
    if (!this.v5) {
      await this.client.publishAsync(resultTopic, payload, { qos: 1 });
      return;
    }
    // MQTT 5 request/response (§4.10): answer where the request asked, echoing its correlation data. A
    // response topic outside this device's namespace would only be refused by the broker (and the
    // answer lost), so the result then goes to the conventional topic, which the platform also reads.
    let topic = resultTopic;
    const asked = delivery?.responseTopic;
    if (asked !== undefined) {
      if (asked.startsWith(this.ownPrefix) && !/[+#]/.test(asked)) topic = asked;
      else
        this.options.logger?.warn(
          { responseTopic: asked, commandId },
          'response topic not ours; using the result topic',
        );
    }
    await this.client.publishAsync(topic, payload, {
      qos: 1,
      properties: {
        contentType: JSON_CONTENT,
        payloadFormatIndicator: true,
        ...(delivery?.correlationData ? { correlationData: delivery.correlationData } : {}),
      },
    });
  }

  async publishStatus(status: DeviceStatus): Promise<void> {
    await this.client.publishAsync(this.topics.status, JSON.stringify(status), { qos: 1, retain: true });
  }

  onCommand(handler: (id: string, payload: Buffer, delivery?: CommandDelivery) => void): void {
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

/** The request/response and expiry properties of an MQTT 5 command, read on receipt. */
function commandDelivery(
  properties: { responseTopic?: string; correlationData?: Buffer; messageExpiryInterval?: number } | undefined,
  now = Date.now(),
): CommandDelivery | undefined {
  if (!properties) return undefined;
  const { responseTopic, correlationData, messageExpiryInterval } = properties;
  const delivery: CommandDelivery = {
    ...(responseTopic !== undefined ? { responseTopic } : {}),
    ...(correlationData !== undefined ? { correlationData } : {}),
    // The broker forwards the remaining lifetime in seconds (MQTT 5 §3.3.2.3.3).
    ...(messageExpiryInterval !== undefined ? { expiresAt: now + messageExpiryInterval * 1000 } : {}),
  };
  return Object.keys(delivery).length > 0 ? delivery : undefined;
}
