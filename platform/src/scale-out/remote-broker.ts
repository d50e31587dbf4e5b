// An ingest role that also takes devices' messages from a broker we do not run (a fleet's own
// Mosquitto or EMQX cluster, a managed MQTT service): it keeps a persistent MQTT 5 session there
// and hands each message to the shared Redis stream before acknowledging it (ingest's mqttSource).
import { hostname } from 'node:os';
import { mqttSource, type MessageSource } from '@clutch/ingest';
import type { Logger } from 'pino';

export interface RemoteBrokerSettings {
  url: string;
  clientId: string;
  shareGroup: string | undefined;
  protocolVersion: 4 | 5;
  username: string | undefined;
  password: string | undefined;
}

/**
 * The remote broker of `CLUTCH_INGEST_MQTT_URL`, or undefined when unset. Several ingest processes
 * share one subscription group (`CLUTCH_INGEST_MQTT_SHARE_GROUP`, default `clutch-ingest`), each
 * with its own session (`CLUTCH_INGEST_MQTT_CLIENT_ID`, default `clutch-ingest-<host>`); MQTT 3.1.1
 * (`CLUTCH_INGEST_MQTT_PROTOCOL=4`) has no shared subscriptions, so there every process gets every
 * message and samples are stored once by their key.
 */
export function remoteBrokerSettings(env: NodeJS.ProcessEnv): RemoteBrokerSettings | undefined {
  const url = env['CLUTCH_INGEST_MQTT_URL']?.trim();
  if (!url) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`CLUTCH_INGEST_MQTT_URL "${url}" is not a URL`);
  }
  if (!['mqtt:', 'mqtts:', 'ws:', 'wss:'].includes(parsed.protocol))
    throw new Error(`CLUTCH_INGEST_MQTT_URL must be mqtt://, mqtts://, ws:// or wss://, not ${parsed.protocol}`);
  const protocol = env['CLUTCH_INGEST_MQTT_PROTOCOL']?.trim() || '5';
  if (protocol !== '4' && protocol !== '5') throw new Error('CLUTCH_INGEST_MQTT_PROTOCOL must be 4 or 5');
  const protocolVersion = protocol === '4' ? 4 : 5;
  const group = env['CLUTCH_INGEST_MQTT_SHARE_GROUP']?.trim();
  return {
    url,
    clientId: env['CLUTCH_INGEST_MQTT_CLIENT_ID']?.trim() || `clutch-ingest-${hostname()}`,
    shareGroup: protocolVersion === 5 ? group || 'clutch-ingest' : undefined,
    protocolVersion,
    username: env['CLUTCH_INGEST_MQTT_USERNAME'] || undefined,
    password: env['CLUTCH_INGEST_MQTT_PASSWORD'] || undefined,
  };
}

export function remoteBrokerSource(settings: RemoteBrokerSettings, logger: Logger): MessageSource {
  return mqttSource(settings.url, {
    clientId: settings.clientId,
    protocolVersion: settings.protocolVersion,
    ...(settings.shareGroup ? { shareGroup: settings.shareGroup } : {}),
    ...(settings.username !== undefined ? { username: settings.username } : {}),
    ...(settings.password !== undefined ? { password: settings.password } : {}),
    logger,
  });
}
