import type { Database } from '@clutch/db';
import { openTestDatabase } from '@clutch/db/testing';
import {
  createPolicyStore,
  ensureTenant,
  generateSigningKeys,
  provisionDevice,
  type DeviceLogin,
} from '@clutch/identity';
import { startRedisServer, type RedisServer } from '@clutch/test-support';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantPolicy } from '../policy/policy.js';
import { signedInUser, type TestUser } from '../testing/users.js';
import { startBroker, type RunningBroker } from './broker.js';

// Scaled out: two brokers sharing sessions through a real redis-server, each with its own policy
// store (as separate processes have). A technician's persistent session survives a move between
// brokers, and what it was allowed is decided again on the broker it reconnects to.
describe('signed-in users on brokers clustered on Redis', () => {
  const keys = generateSigningKeys();
  let db: Database;
  let redis: RedisServer;
  let brokerA: RunningBroker;
  let brokerB: RunningBroker;
  let tech: TestUser;
  let car: DeviceLogin;
  let vehicleId: string;

  const start = (): Promise<RunningBroker> =>
    startBroker({
      mqttPort: 0,
      redisUrl: redis.url,
      policy: tenantPolicy({ db, users: { keys, store: createPolicyStore({ db }) } }),
    });

  beforeAll(async () => {
    db = await openTestDatabase('pglite', { signals: false });
    redis = await startRedisServer();
    await ensureTenant(db, 'shop-x', 'Shop X');
    const owner = await signedInUser(db, keys, { tenantId: 'consumers', roles: ['owner'] });
    tech = await signedInUser(db, keys, { tenantId: 'shop-x', roles: ['technician'] });
    const made = await provisionDevice(db, { tenantId: 'consumers', deviceId: 'car-a', vehicle: { name: 'A' } });
    car = made.login;
    vehicleId = made.vehicleId;
    await db.query('UPDATE vehicles SET owner_user_id = $2 WHERE id = $1', [vehicleId, owner.userId]);
    await db.query(
      `INSERT INTO vehicle_shares (tenant_id, vehicle_id, grantee_tenant_id, permissions, valid_until, created_by)
       VALUES ('consumers', $1, 'shop-x', ARRAY['dtc:read'], now() + interval '1 day', 'test')`,
      [vehicleId],
    );
    brokerA = await start();
    brokerB = await start();
  });
  afterAll(async () => {
    await brokerA?.close();
    await brokerB?.close();
    await redis?.stop();
    await db?.close();
  });

  it("delivers across brokers, and a persistent session's queue never outlives the share it rested on", async () => {
    const clientId = `${tech.clientId}-bench`;
    const login = { clientId, username: 'user', password: tech.token, clean: false, reconnectPeriod: 0 };
    const device = await mqtt.connectAsync(brokerA.mqttUrl, { clientId: 'consumers/car-a', ...car });
    try {
      const first = await mqtt.connectAsync(brokerB.mqttUrl, login);
      const got = new Promise<string>((resolve) => first.once('message', (_t, p) => resolve(p.toString())));
      await first.subscribeAsync('clutch/v1/consumers/car-a/dtc', { qos: 1 });
      await device.publishAsync('clutch/v1/consumers/car-a/dtc', 'while shared', { qos: 1 });
      expect(await got).toBe('while shared');
      await first.endAsync();

      // Offline: the session (and its subscription) lives in Redis; the share ends, a message is queued.
      await db.query(`UPDATE vehicle_shares SET revoked_at = now(), revoked_by = 'test' WHERE vehicle_id = $1`, [
        vehicleId,
      ]);
      for (const b of [brokerA, brokerB]) b.accessChanged({ tenantId: 'shop-x', vehicleId });
      await device.publishAsync('clutch/v1/consumers/car-a/dtc', 'after the share ended', { qos: 1 });

      const received: string[] = [];
      const again = mqtt.connect(brokerA.mqttUrl, login);
      again.on('message', (_t, p) => received.push(p.toString()));
      await new Promise<void>((resolve) => again.once('connect', () => resolve()));
      // The restored subscription was refused on this broker: nothing queued for it comes, nothing new.
      await device.publishAsync('clutch/v1/consumers/car-a/dtc', 'later still', { qos: 1 });
      const probe = await again.subscribeAsync(`clutch/v1/shop-x/+/dtc`, { qos: 1 });
      expect(probe[0]!.qos).toBe(1); // the session works; its shop's vehicles are still its own
      expect(received).toEqual([]);
      await again.endAsync();
    } finally {
      await device.endAsync();
    }
  });
});
