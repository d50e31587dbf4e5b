import mqtt from 'mqtt';
import { INGEST_FILTERS, type MessageSource } from './message-source.js';

/** Ingest as its own process: a persistent MQTT session (QoS 1) on a remote broker. */
export function mqttSource(
  url: string,
  options: { clientId?: string; username?: string; password?: string } = {},
): MessageSource {
  let client: mqtt.MqttClient | undefined;
  return {
    async start(push) {
      client = await mqtt.connectAsync(url, {
        clientId: options.clientId ?? `clutch-ingest-${process.pid}`,
        clean: false,
        username: options.username,
        password: options.password,
        // PUBACK only once the message is durable (committed); a refusal keeps it in our session on
        // the broker, which sends it again. [MQTT-4.3.2-2]
        customHandleAcks: (topic, payload, _packet, done) => {
          push({ topic, payload: Buffer.from(payload), receivedAt: Date.now() }).then(
            () => done(0),
            () => done(0x80),
          );
        },
      });
      await client.subscribeAsync([...INGEST_FILTERS], { qos: 1 });
    },
    async stop() {
      await client?.endAsync();
    },
  };
}
