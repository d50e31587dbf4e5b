import { randomBytes } from 'node:crypto';
import { commandPublish, type CommandSender } from '@clutch/api';
import type { RunningBroker } from '@clutch/broker';
import mqtt from 'mqtt';

/**
 * Downlink from the broker in this process: QoS 1 to the device's command topic, with the MQTT 5
 * request/response and expiry properties (a 3.1.1 device receives the message without them).
 */
export function inProcessCommandSender(broker: RunningBroker): CommandSender {
  return {
    send: (target, request) => {
      const { topic, payload, properties } = commandPublish(target, request);
      return new Promise<void>((resolve, reject) =>
        broker.aedes.publish(
          { cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, retain: false, dup: false, properties },
          (err) => (err ? reject(err) : resolve()),
        ),
      );
    },
  };
}

/**
 * Downlink through any broker of the cluster, as the MQTT admin over MQTT 5 (a scaled-out API process
 * has no broker of its own). Undefined without a broker URL and admin password: command routes answer 503.
 */
export async function connectCommandSender(options: {
  brokerUrl: string | undefined;
  adminPassword: string | undefined;
}): Promise<{ sender: CommandSender; close(): Promise<void> } | undefined> {
  if (!options.brokerUrl || !options.adminPassword) return undefined;
  // Unique per connection: two API processes (or two in one test) with one id would take turns kicking each other off.
  const clientId = `admin-api-${process.pid}-${randomBytes(4).toString('hex')}`;
  const client = await mqtt.connectAsync(options.brokerUrl, {
    clientId,
    username: 'admin',
    password: options.adminPassword,
    protocolVersion: 5,
  });
  return {
    sender: {
      send: async (target, request) => {
        const { topic, payload, properties } = commandPublish(target, request);
        await client.publishAsync(topic, payload, { qos: 1, properties });
      },
    },
    close: () => client.endAsync(),
  };
}
