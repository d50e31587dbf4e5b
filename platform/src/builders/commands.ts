import { randomBytes } from 'node:crypto';
import type { CommandSender } from '@clutch/api';
import type { RunningBroker } from '@clutch/broker';
import { buildTopic } from '@clutch/contracts';
import mqtt from 'mqtt';

const commandTopic = (target: { tenantId: string; deviceId: string }, commandId: string): string =>
  buildTopic({ tenant: target.tenantId, device: target.deviceId, kind: 'cmd', commandId });

/** Downlink from the broker in this process: QoS 1 to the device's command topic. */
export function inProcessCommandSender(broker: RunningBroker): CommandSender {
  return {
    send: (target, request) =>
      new Promise<void>((resolve, reject) =>
        broker.aedes.publish(
          {
            cmd: 'publish',
            topic: commandTopic(target, request.id),
            payload: Buffer.from(JSON.stringify(request)),
            qos: 1,
            retain: false,
            dup: false,
          },
          (err) => (err ? reject(err) : resolve()),
        ),
      ),
  };
}

/**
 * Downlink through any broker of the cluster, as the MQTT admin (a scaled-out API process has no
 * broker of its own). Undefined without a broker URL and admin password: command routes answer 503.
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
  });
  return {
    sender: {
      send: async (target, request) => {
        await client.publishAsync(commandTopic(target, request.id), JSON.stringify(request), { qos: 1 });
      },
    },
    close: () => client.endAsync(),
  };
}
