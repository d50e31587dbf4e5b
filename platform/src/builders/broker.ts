import { startBroker, tenantPolicy, type RunningBroker } from '@clutch/broker';
import type { LiveEventBus } from '@clutch/contracts';
import type { Database } from '@clutch/db';
import path from 'node:path';
import {
  createPolicyStore,
  loadOrCreateSigningKeys,
  parseKeySet,
  signingKeysFrom,
  type SigningKeys,
} from '@clutch/identity';
import type { DurableHandoff } from '@clutch/ingest';
import type { Logger } from 'pino';
import { brokerTls, type PlatformConfig } from '../config/config.js';
import { identityDir } from '../identity/identity-config.js';

/** The API's signing keys, found where the API finds them (identity-config.ts): the broker checks users' access tokens with them. */
function deploymentSigningKeys(config: PlatformConfig): SigningKeys {
  const configured = process.env.CLUTCH_SIGNING_KEYS?.trim();
  if (configured) return signingKeysFrom(parseKeySet(configured));
  return loadOrCreateSigningKeys(path.join(identityDir(config.dataDir), 'signing-keys.json'));
}

/**
 * The MQTT broker with the tenant policy. A device's message goes to `handoff` inside
 * authorizePublish, so its PUBACK follows the hand-off: to ingest in this process, or into the
 * Redis stream when scaled out (then `redisUrl` also shares sessions and fan-out between brokers).
 *
 * Signed-in people log in with their access token (username `user`): checked with the deployment's
 * signing keys (the same as the API's: `CLUTCH_SIGNING_KEYS`, or the data folder's file), and
 * decided by the policy function on a store of the broker's own, which `endRevokedSessions` keeps
 * current from the bus.
 */
export async function startPlatformBroker(
  db: Database,
  config: PlatformConfig,
  logger: Logger,
  options: { handoff: DurableHandoff; redisUrl?: string },
): Promise<RunningBroker> {
  const store = createPolicyStore({ db });
  return startBroker({
    durableHandoff: options.handoff,
    host: config.host,
    mqttPort: config.mqttPort,
    wsPort: config.mqttWsPort,
    ...(config.tls ? { tls: brokerTls(config.tls)! } : {}),
    ...(options.redisUrl ? { redisUrl: options.redisUrl } : {}),
    logger,
    policy: tenantPolicy({
      db,
      allowAnonymous: config.allowAnonymous,
      adminPassword: config.adminPassword,
      users: { keys: deploymentSigningKeys(config), store },
    }),
  });
}

/**
 * A revoked or rotated credential (device, API key, a user's session) ends the live MQTT sessions
 * that used it at once, and a change of roles, grants or shares ends the user sessions it may
 * concern (they reconnect under the new rules). The API appends these to the outbox in the
 * transaction that makes them; the outbox relay (builders/outbox.ts) puts them on this bus once
 * that commits (Redis pub/sub when scaled out).
 */
export function endRevokedSessions(bus: LiveEventBus, broker: RunningBroker): () => void {
  return bus.subscribe((event) => {
    if (event.type === 'device-revoked') broker.disconnectDevice(event.tenantId, event.deviceId);
    if (event.type === 'api-key-revoked') broker.disconnectApiKey(event.tenantId, event.keyId);
    if (event.type === 'session-revoked') broker.disconnectSession(event.sessionId);
    if (event.type === 'roles-changed')
      broker.accessChanged({ tenantId: event.tenantId, userId: event.userId, vehicleId: event.vehicleId });
  });
}
