import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInProcessBus, type LiveEventBus } from '@clutch/contracts';
import type { Database } from '@clutch/db';
import { openTestDatabase } from '@clutch/db/testing';
import { createSession, loadOrCreateSigningKeys, signAccessToken } from '@clutch/identity';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/config.js';
import { identityDir } from '../identity/identity-config.js';
import { endRevokedSessions, startPlatformBroker } from './broker.js';

// The platform's broker accepts the API's users (the deployment's signing keys, found where the API
// finds them) and ends their MQTT sessions on the bus events the outbox relays.
describe('the platform broker and signed-in users', () => {
  let dir: string;
  let db: Database;
  let bus: LiveEventBus;
  let broker: Awaited<ReturnType<typeof startPlatformBroker>>;
  let stop: () => void;

  /** A fleet manager of `fleet-z` signed in, with a token signed by the keys the API uses. */
  const signIn = async (): Promise<{ userId: string; sessionId: string; token: string }> => {
    const userId = randomUUID();
    await db.query(
      `INSERT INTO users (id, tenant_id, email, display_name, status) VALUES ($1, 'fleet-z', $2, 'F', 'active')`,
      [userId, `f-${userId}@example.com`],
    );
    await db.query(
      `INSERT INTO role_grants (tenant_id, user_id, role_id, granted_by)
       SELECT 'fleet-z', $1, id, 'test' FROM roles WHERE tenant_id = 'platform' AND key = 'fleet-manager'`,
      [userId],
    );
    const started = await db.transaction((q) =>
      createSession(q, {
        userId,
        tenantId: 'fleet-z',
        mfaAt: null,
        device: { client: 'mobile', fingerprint: null, ip: null, userAgent: 'test' },
      }),
    );
    const keys = loadOrCreateSigningKeys(path.join(identityDir(path.join(dir, 'pglite')), 'signing-keys.json'));
    const { token } = await signAccessToken(keys, {
      userId,
      tenantId: 'fleet-z',
      sessionId: started.session.id,
      mfaAt: null,
    });
    return { userId, sessionId: started.session.id, token };
  };
  const connect = (user: { userId: string; token: string }, suffix: string): Promise<mqtt.MqttClient> =>
    mqtt.connectAsync(broker.mqttUrl, {
      clientId: `fleet-z/user-${user.userId}-${suffix}`,
      username: 'user',
      password: user.token,
      reconnectPeriod: 0,
    });
  const closed = (client: mqtt.MqttClient): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('still connected after 1 s')), 1000);
      client.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'clutch-broker-users-'));
    db = await openTestDatabase('pglite', { signals: false });
    await db.query(`INSERT INTO tenants (id, name) VALUES ('fleet-z', 'Fleet Z')`);
    const env: NodeJS.ProcessEnv = { ...process.env, CLUTCH_DATA_DIR: path.join(dir, 'pglite') };
    delete env.CLUTCH_SIGNING_KEYS;
    const config = loadConfig(['--mqtt-port', '0', '--mqtt-ws-port', '0'], env, process.cwd());
    broker = await startPlatformBroker(db, config, pino({ level: 'silent' }), {
      handoff: { takes: () => false, handoff: async () => {} },
    });
    bus = createInProcessBus();
    stop = endRevokedSessions(bus, broker);
  });
  afterAll(async () => {
    stop?.();
    await broker?.close();
    await db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("ends a user's MQTT session on session-revoked, and their sessions on roles-changed", async () => {
    const revoked = await signIn();
    const kept = await signIn();
    const a = await connect(revoked, 'a');
    const b = await connect(kept, 'b');
    try {
      expect((await b.subscribeAsync('clutch/v1/fleet-z/+/status', { qos: 1 }))[0]!.qos).toBe(1);
      const ends = closed(a);
      bus.publish({
        type: 'session-revoked',
        tenantId: 'fleet-z',
        userId: revoked.userId,
        sessionId: revoked.sessionId,
      });
      await ends;
      expect(b.connected).toBe(true);

      await db.query('DELETE FROM role_grants WHERE user_id = $1', [kept.userId]);
      const bEnds = closed(b);
      bus.publish({ type: 'roles-changed', tenantId: 'fleet-z', userId: kept.userId });
      await bEnds;
      const again = await connect(kept, 'again');
      await expect(again.subscribeAsync('clutch/v1/fleet-z/+/status', { qos: 1 })).rejects.toThrow(/Subscribe error/);
      await again.endAsync();
    } finally {
      await Promise.all([a.endAsync(true), b.endAsync(true)]);
    }
  });
});
