import type { Database } from '@clutch/db';
import { testDatabases } from '@clutch/db/testing';
import {
  createLoginLimiter,
  createPolicyStore,
  ensureTenant,
  generateSigningKeys,
  provisionDevice,
  signAccessToken,
  type DeviceLogin,
  type PolicyStore,
} from '@clutch/identity';
import mqtt from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { tenantPolicy } from '../policy/policy.js';
import { signedInUser, type TestUser } from '../testing/users.js';
import { startBroker, type RunningBroker } from './broker.js';

// Issue 14 item 5: signed-in people on the broker. Real MQTT.js clients (TCP and WebSocket), the
// production policy with the policy store, users, roles, vehicles and shares in a real (embedded)
// database. Owner A and owner B each own a car (consumer tenant); shop X has a lift and a
// technician, and owner A shares car A with shop X for trouble codes only; fleet Z has a truck and
// a fleet manager.
describe.each(testDatabases(inject('pgAdminUrl'), 'broker_users'))(
  'signed-in users on the broker, on %s',
  (_engine, open) => {
    const keys = generateSigningKeys();
    let db: Database;
    let store: PolicyStore;
    let broker: RunningBroker;
    const devices = {} as Record<'carA' | 'carB' | 'lift' | 'truck', { login: DeviceLogin; vehicleId: string }>;
    let ownerA: TestUser;
    let ownerB: TestUser;
    let tech: TestUser;
    let fleet: TestUser;
    let shareId: string;
    const clients: mqtt.MqttClient[] = [];

    const connect = async (
      user: Pick<TestUser, 'token' | 'clientId'>,
      suffix = 'app',
      url = broker.mqttUrl,
    ): Promise<mqtt.MqttClient> => {
      const client = await mqtt.connectAsync(url, {
        clientId: `${user.clientId}-${suffix}`,
        username: 'user',
        password: user.token,
        reconnectPeriod: 0,
      });
      clients.push(client);
      return client;
    };
    const device = async (name: keyof typeof devices): Promise<mqtt.MqttClient> => {
      const { login } = devices[name];
      const client = await mqtt.connectAsync(broker.mqttUrl, {
        clientId: login.username,
        ...login,
        reconnectPeriod: 0,
      });
      clients.push(client);
      return client;
    };
    /** The QoS granted per filter; 128 is the broker's refusal (SUBACK 0x80). */
    const granted = (client: mqtt.MqttClient, filter: string): Promise<number> =>
      client.subscribeAsync(filter, { qos: 1 }).then(
        (g) => g[0]!.qos,
        // MQTT.js rejects a SUBACK that refuses the only filter; the connection stays.
        (err: Error) => {
          if (!/Subscribe error/.test(err.message)) throw err;
          return 128;
        },
      );
    const closed = (client: mqtt.MqttClient, ms: number): Promise<void> =>
      new Promise((resolve, reject) => {
        if (!client.connected) return resolve();
        const timer = setTimeout(() => reject(new Error(`still connected after ${ms} ms`)), ms);
        client.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });

    beforeAll(async () => {
      db = await open({ signals: false });
      await ensureTenant(db, 'shop-x', 'Shop X');
      await ensureTenant(db, 'fleet-z', 'Fleet Z');
      ownerA = await signedInUser(db, keys, { tenantId: 'consumers', roles: ['owner'] });
      ownerB = await signedInUser(db, keys, { tenantId: 'consumers', roles: ['owner'] });
      tech = await signedInUser(db, keys, { tenantId: 'shop-x', roles: ['technician'] });
      fleet = await signedInUser(db, keys, { tenantId: 'fleet-z', roles: ['fleet-manager'] });
      const provision = async (name: keyof typeof devices, tenantId: string, deviceId: string, owner?: TestUser) => {
        const made = await provisionDevice(db, { tenantId, deviceId, vehicle: { name } });
        if (owner)
          await db.query('UPDATE vehicles SET owner_user_id = $2 WHERE id = $1', [made.vehicleId, owner.userId]);
        devices[name] = { login: made.login, vehicleId: made.vehicleId };
      };
      await provision('carA', 'consumers', 'car-a', ownerA);
      await provision('carB', 'consumers', 'car-b', ownerB);
      await provision('lift', 'shop-x', 'lift-1');
      await provision('truck', 'fleet-z', 'truck-1');
      const { rows } = await db.query<{ id: string }>(
        `INSERT INTO vehicle_shares (tenant_id, vehicle_id, grantee_tenant_id, permissions, valid_until, created_by)
       VALUES ('consumers', $1, 'shop-x', ARRAY['dtc:read'], now() + interval '1 day', $2) RETURNING id::text AS id`,
        [devices.carA.vehicleId, `user:${ownerA.userId}`],
      );
      shareId = rows[0]!.id;
      store = createPolicyStore({ db });
      broker = await startBroker({ mqttPort: 0, wsPort: 0, policy: tenantPolicy({ db, users: { keys, store } }) });
    });
    afterEach(async () => {
      await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
    });
    afterAll(async () => {
      await broker?.close();
      await db?.close();
    });

    it('logs a user in with their access token, in their own client-id namespace only', async () => {
      const app = await connect(ownerA);
      expect(app.connected).toBe(true);
      await expect(
        mqtt.connectAsync(broker.mqttUrl, {
          clientId: `${ownerB.clientId}-hijack`,
          username: 'user',
          password: ownerA.token,
          reconnectPeriod: 0,
        }),
      ).rejects.toThrow(/Identifier rejected/);
    });

    it('refuses a token that is not ours, an expired one, and one of a revoked session', async () => {
      const foreign = await signAccessToken(generateSigningKeys(), {
        userId: ownerA.userId,
        tenantId: 'consumers',
        sessionId: ownerA.sessionId,
        mfaAt: null,
      });
      await expect(connect({ ...ownerA, token: foreign.token }, 'foreign')).rejects.toThrow(/Bad username or password/);
      const expired = await signAccessToken(
        keys,
        { userId: ownerA.userId, tenantId: 'consumers', sessionId: ownerA.sessionId, mfaAt: null },
        { now: new Date(Date.now() - 3_600_000) },
      );
      await expect(connect({ ...ownerA, token: expired.token }, 'expired')).rejects.toThrow(/Bad username or password/);
      const leaver = await signedInUser(db, keys, { tenantId: 'consumers', roles: ['owner'] });
      await db.query(`UPDATE sessions SET revoked_at = now(), revoked_reason = 'signed-out' WHERE id = $1`, [
        leaver.sessionId,
      ]);
      await expect(connect(leaver, 'revoked')).rejects.toThrow(/Not authorized/);
    });

    it("lets an owner subscribe to their own car's data and nobody else's", async () => {
      const app = await connect(ownerA, 'own');
      expect(await granted(app, 'clutch/v1/consumers/car-a/telemetry')).toBe(1);
      expect(await granted(app, 'clutch/v1/consumers/car-a/dtc')).toBe(1);
      expect(await granted(app, 'clutch/v1/consumers/car-b/telemetry')).toBe(128);
      expect(await granted(app, 'clutch/v1/consumers/+/telemetry')).toBe(128);
      expect(await granted(app, 'clutch/v1/shop-x/lift-1/telemetry')).toBe(128);
      expect(await granted(app, 'clutch/v1/consumers/car-a/#')).toBe(128);
      expect(await granted(app, '$SYS/#')).toBe(128);

      const got: string[] = [];
      app.on('message', (topic) => got.push(topic));
      const carA = await device('carA');
      const carB = await device('carB');
      await carB.publishAsync('clutch/v1/consumers/car-b/telemetry', '{}', { qos: 1 });
      const arrived = new Promise<string>((resolve) => app.once('message', (topic) => resolve(topic)));
      await carA.publishAsync('clutch/v1/consumers/car-a/telemetry', '{}', { qos: 1 });
      expect(await arrived).toBe('clutch/v1/consumers/car-a/telemetry');
      expect(got).toEqual(['clutch/v1/consumers/car-a/telemetry']); // car B's, published first, never came
    });

    it('lets an owner command their own car and closes the connection of one commanding another', async () => {
      const carA = await device('carA');
      expect(await granted(carA, 'clutch/v1/consumers/car-a/cmd/+')).toBe(1);
      const command = new Promise<string>((resolve) => carA.once('message', (topic) => resolve(topic)));
      const app = await connect(ownerA, 'cmd');
      await app.publishAsync('clutch/v1/consumers/car-a/cmd/c1', '{"type":"report_status"}', { qos: 1 });
      expect(await command).toBe('clutch/v1/consumers/car-a/cmd/c1');
      // Telemetry is the device's to publish, never a user's.
      const forging = await connect(ownerA, 'forge');
      const forged = closed(forging, 2000);
      forging.publish('clutch/v1/consumers/car-a/telemetry', '{}', { qos: 1 });
      await forged;
      const intruder = await connect(ownerB, 'cmd');
      const refused = closed(intruder, 2000);
      intruder.publish('clutch/v1/consumers/car-a/cmd/c2', '{}', { qos: 1 });
      await refused;
    });

    it("gives a technician the shop's vehicles and a shared car's shared data only", async () => {
      const app = await connect(tech);
      expect(await granted(app, 'clutch/v1/shop-x/lift-1/telemetry')).toBe(1);
      expect(await granted(app, 'clutch/v1/shop-x/+/dtc')).toBe(1);
      expect(await granted(app, 'clutch/v1/consumers/car-a/dtc')).toBe(1); // shared for dtc:read
      expect(await granted(app, 'clutch/v1/consumers/car-a/telemetry')).toBe(128); // not shared
      expect(await granted(app, 'clutch/v1/shop-x/+/location')).toBe(128); // technicians do not read locations
      expect(await granted(app, 'clutch/v1/consumers/car-b/dtc')).toBe(128);
      expect(await granted(app, 'clutch/v1/consumers/+/dtc')).toBe(128);
      expect(await granted(app, 'clutch/v1/fleet-z/truck-1/dtc')).toBe(128);
    });

    it("gives a fleet manager the whole fleet and no other tenant's vehicles", async () => {
      const app = await connect(fleet);
      expect(await granted(app, 'clutch/v1/fleet-z/+/location')).toBe(1);
      expect(await granted(app, 'clutch/v1/fleet-z/truck-1/telemetry')).toBe(1);
      expect(await granted(app, 'clutch/v1/shop-x/+/location')).toBe(128);
      expect(await granted(app, 'clutch/v1/shop-x/lift-1/telemetry')).toBe(128);
      expect(await granted(app, 'clutch/v1/consumers/car-a/telemetry')).toBe(128);
    });

    it("ends a revoked session's MQTT connections (TCP and WebSocket) within 1 s, and only those", async () => {
      const other = await signedInUser(db, keys, { tenantId: 'consumers', roles: [], userId: ownerA.userId });
      const tcp = await connect(ownerA, 'rev-tcp');
      const ws = await connect(ownerA, 'rev-ws', broker.wsUrl!);
      const stays = await connect(other, 'rev-other');
      const ends = [closed(tcp, 1000), closed(ws, 1000)];
      await db.query(`UPDATE sessions SET revoked_at = now(), revoked_reason = 'revoked-by-user' WHERE id = $1`, [
        ownerA.sessionId,
      ]);
      // What the platform does on the outbox's `session-revoked` (platform/src/builders/broker.ts).
      expect(broker.disconnectSession(ownerA.sessionId)).toBe(2);
      await Promise.all(ends);
      expect(stays.connected).toBe(true);
      await expect(connect(ownerA, 'again')).rejects.toThrow(/Not authorized/);
      ownerA = other; // later tests sign in with the live session
    });

    it("ends a user's session when their access token expires", async () => {
      const brief = await signedInUser(db, keys, { tenantId: 'fleet-z', roles: ['fleet-manager'], ttlSeconds: 2 });
      const expiresAt = Date.now() + 2000;
      const app = await connect(brief, 'short');
      await closed(app, 4000);
      expect(Date.now()).toBeGreaterThanOrEqual(expiresAt - 1000); // the token's exp is whole seconds
    });

    it('ends the subscriptions a share gave when the share ends, by revocation or in time', async () => {
      const app = await connect(tech, 'share');
      expect(await granted(app, 'clutch/v1/consumers/car-a/dtc')).toBe(1);
      const bystander = await connect(tech, 'no-share');
      expect(await granted(bystander, 'clutch/v1/shop-x/lift-1/dtc')).toBe(1);
      const ends = closed(app, 1000);
      await db.query(`UPDATE vehicle_shares SET revoked_at = now(), revoked_by = 'test' WHERE id = $1`, [shareId]);
      // The outbox's `roles-changed` for the ended share (api/src/vehicle-shares/service.ts).
      expect(broker.accessChanged({ tenantId: 'shop-x', vehicleId: devices.carA.vehicleId })).toBe(1);
      await ends;
      expect(bystander.connected).toBe(true);
      const back = await connect(tech, 'share-again');
      expect(await granted(back, 'clutch/v1/consumers/car-a/dtc')).toBe(128);

      // A share that runs out in time needs no event: the session ends at its end.
      const carC = await provisionDevice(db, { tenantId: 'consumers', deviceId: 'car-c', vehicle: { name: 'carC' } });
      await db.query('UPDATE vehicles SET owner_user_id = $2 WHERE id = $1', [carC.vehicleId, ownerB.userId]);
      await db.query(
        `INSERT INTO vehicle_shares (tenant_id, vehicle_id, grantee_tenant_id, permissions, valid_until, created_by)
       VALUES ('consumers', $1, 'shop-x', ARRAY['dtc:read'], now() + interval '1500 milliseconds', 'test')`,
        [carC.vehicleId],
      );
      const timed = await connect(tech, 'timed');
      expect(await granted(timed, 'clutch/v1/consumers/car-c/dtc')).toBe(1);
      await closed(timed, 3000);
      const late = await connect(tech, 'late');
      expect(await granted(late, 'clutch/v1/consumers/car-c/dtc')).toBe(128);
      expect(bystander.connected).toBe(true);
    });

    it('ends the sessions of a user whose grants changed; they reconnect with what they hold now', async () => {
      const app = await connect(fleet, 'grants');
      expect(await granted(app, 'clutch/v1/fleet-z/+/telemetry')).toBe(1);
      const ends = closed(app, 1000);
      await db.query('DELETE FROM role_grants WHERE user_id = $1', [fleet.userId]);
      expect(broker.accessChanged({ tenantId: 'fleet-z', userId: fleet.userId })).toBe(1);
      await ends;
      const back = await connect(fleet, 'grants-again');
      expect(await granted(back, 'clutch/v1/fleet-z/+/telemetry')).toBe(128);
      expect(await granted(back, 'clutch/v1/fleet-z/truck-1/telemetry')).toBe(128);
    });

    it("counts failed logins against the token's user: their logins wait, other users' do not", async () => {
      const strict = await startBroker({
        mqttPort: 0,
        policy: tenantPolicy({ db, users: { keys, store } }),
        loginLimiter: createLoginLimiter({
          username: { freeFailures: 2, baseBlockSeconds: 60 },
          ip: { freeFailures: 100 },
        }),
      });
      const on = (user: Pick<TestUser, 'token' | 'clientId'>, suffix: string) => connect(user, suffix, strict.mqttUrl);
      try {
        const victim = await signedInUser(db, keys, { tenantId: 'consumers', roles: ['owner'] });
        const stolen = await signedInUser(db, keys, { tenantId: 'consumers', roles: [], userId: victim.userId });
        await db.query(`UPDATE sessions SET revoked_at = now(), revoked_reason = 'stolen' WHERE id = $1`, [
          stolen.sessionId,
        ]);
        for (let i = 0; i < 3; i++) await expect(on(stolen, `try-${i}`)).rejects.toThrow(/Not authorized/);
        // Blocked: even the user's live token waits ("server unavailable", retry later).
        await expect(on(victim, 'live')).rejects.toThrow(/Server unavailable/);
        const bystander = await signedInUser(db, keys, { tenantId: 'consumers', roles: ['owner'] });
        expect((await on(bystander, 'fine')).connected).toBe(true);
      } finally {
        await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
        await strict.close();
      }
    });
  },
);
