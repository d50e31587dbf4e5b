import { startBroker, tenantPolicy, type RunningBroker } from '@clutch/broker';
import type { LiveEventBus } from '@clutch/contracts';
import type { Database } from '@clutch/db';
import type { DurableHandoff } from '@clutch/ingest';
import type { Logger } from 'pino';
import { brokerTls, type PlatformConfig } from '../config/config.js';

/**
 * The MQTT broker with the tenant policy. A device's message goes to `handoff` inside
 * authorizePublish, so its PUBACK follows the hand-off: to ingest in this process, or into the
 * Redis stream when scaled out (then `redisUrl` also shares sessions and fan-out between brokers).
 */
export async function startPlatformBroker(
  db: Database,
  config: PlatformConfig,
  logger: Logger,
  options: { handoff: DurableHandoff; redisUrl?: string },
): Promise<RunningBroker> {
  return startBroker({
    durableHandoff: options.handoff,
    host: config.host,
    mqttPort: config.mqttPort,
    wsPort: config.mqttWsPort,
    ...(config.tls ? { tls: brokerTls(config.tls)! } : {}),
    ...(options.redisUrl ? { redisUrl: options.redisUrl } : {}),
    logger,
    policy: tenantPolicy({ db, allowAnonymous: config.allowAnonymous, adminPassword: config.adminPassword }),
  });
}

/**
 * A revoked or rotated credential (device or API key) ends the live MQTT sessions that used it at
 * once. The API appends the revocation to the outbox in the transaction that revokes; the outbox
 * relay (builders/outbox.ts) puts it on this bus once that commits (Redis pub/sub when scaled out).
 */
export function endRevokedSessions(bus: LiveEventBus, broker: RunningBroker): () => void {
  return bus.subscribe((event) => {
    if (event.type === 'device-revoked') broker.disconnectDevice(event.tenantId, event.deviceId);
    if (event.type === 'api-key-revoked') broker.disconnectApiKey(event.tenantId, event.keyId);
  });
}
