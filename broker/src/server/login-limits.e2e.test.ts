import { connect as netConnect } from 'node:net';
import type { Database } from '@clutch/db';
import { openTestDatabase } from '@clutch/db/testing';
import { createApiKey, createLoginLimiter, ensureTenant, provisionDevice, type DeviceLogin } from '@clutch/identity';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, tenantPolicy } from '../policy/policy.js';
import { connectFrame } from '../testing/raw-mqtt.js';
import { startBroker, type RunningBroker } from './broker.js';

// Issue 12, finding 5: failed logins had no per-source limits. Real broker, real database; sources
// are told apart by binding client sockets to other loopback addresses (Linux routes 127/8 to lo).

/** One CONNECT from `localAddress`; resolves with the CONNACK return code (-1: closed without one). */
function connackFrom(port: number, localAddress: string, frame: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const socket = netConnect({ port, host: '127.0.0.1', localAddress }, () => socket.write(frame));
    let received = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 4) {
        resolve(received[0] === 0x20 ? received[3]! : -1);
        socket.destroy();
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve(-1));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('failed-login limits', () => {
  let db: Database;
  let broker: RunningBroker;
  let car: DeviceLogin;
  let fleetToken: string;

  beforeAll(async () => {
    db = await openTestDatabase('pglite', { signals: false });
    await ensureTenant(db, 'acme', 'Acme');
    car = (await provisionDevice(db, { tenantId: 'acme', deviceId: 'pi-1', vehicle: { name: 'A1' } })).login;
    fleetToken = (await createApiKey(db, { tenantId: 'acme', name: 'fleet', scopes: ['status:read'] })).token;
    const loginLimiter = createLoginLimiter({
      username: { freeFailures: 2, baseBlockSeconds: 1, maxBlockSeconds: 60 },
      ip: { freeFailures: 20 },
    });
    broker = await startBroker({
      mqttPort: 0,
      policy: tenantPolicy({ db, adminPassword: 'admin-secret' }),
      loginLimiter,
    });
  });
  afterAll(async () => {
    await broker?.close();
    await db?.close();
  });

  const code = (
    login: { username?: string; password?: string },
    clientId: string,
    from = '127.0.0.1',
  ): Promise<number> => connackFrom(broker.mqttPort, from, connectFrame({ clientId, ...login }));

  it('regression 12.5: bad passwords for one account get growing refusals, even with the right password, then a success resets', async () => {
    const wrong = { username: car.username, password: 'wrong-password' };
    // Two free failures, the third blocks for 1 s: each is answered 0x04 (the credential was checked).
    expect([await code(wrong, 'acme/pi-1'), await code(wrong, 'acme/pi-1'), await code(wrong, 'acme/pi-1')]).toEqual([
      4, 4, 4,
    ]);
    // Blocked: 0x03 server unavailable without looking at the credential, so the right one waits too.
    expect(await code(car, 'acme/pi-1')).toBe(3);
    await sleep(1100);
    expect(await code(wrong, 'acme/pi-1')).toBe(4); // the fourth failure blocks for 2 s
    await sleep(1100);
    expect(await code(car, 'acme/pi-1')).toBe(3); // still blocked after 1 s: the delay grew
    await sleep(1000);
    expect(await code(car, 'acme/pi-1')).toBe(0);
    expect(await code(wrong, 'acme/pi-1')).toBe(4); // the success forgot the failures: free again
    expect(await code(car, 'acme/pi-1')).toBe(0);
    // mqtt.js reports the block as a retryable refusal.
    for (let i = 0; i < 3; i++) await code({ username: 'admin', password: 'guess' }, 'admin-console');
    await expect(
      mqtt.connectAsync(broker.mqttUrl, {
        clientId: 'admin-console',
        username: 'admin',
        password: 'admin-secret',
        reconnectPeriod: 0,
      }),
    ).rejects.toThrow(/Server unavailable/);
  });

  it('regression 12.5: a partner key is its own account, so guesses at one key do not block another', async () => {
    const guessed = 'ck_0123456789abcdef_wrongsecretwrongsecret';
    for (let i = 0; i < 3; i++)
      expect(await code({ username: 'apikey', password: guessed }, 'acme/key-0123456789abcdef', '127.0.0.4')).toBe(4);
    expect(await code({ username: 'apikey', password: guessed }, 'acme/key-0123456789abcdef', '127.0.0.4')).toBe(3);
    const keyId = fleetToken.split('_')[1]!;
    expect(await code({ username: 'apikey', password: fleetToken }, `acme/key-${keyId}`, '127.0.0.5')).toBe(0);
  });

  it('regression 12.5: failures from one address block that address, not others', async () => {
    // 21 failures under 21 different (unknown) usernames: the address's 20 free failures are spent.
    for (let i = 0; i < 21; i++)
      await code({ username: `acme/ghost-${i}`, password: 'x' }, `acme/ghost-${i}`, '127.0.0.6');
    expect(await code(car, 'acme/pi-1', '127.0.0.6')).toBe(3);
    expect(await code(car, 'acme/pi-1', '127.0.0.7')).toBe(0);
  });
});

describe('connect flood from one source', () => {
  let db: Database;
  let broker: RunningBroker;
  const logins: DeviceLogin[] = [];

  beforeAll(async () => {
    db = await openTestDatabase('pglite', { signals: false });
    await ensureTenant(db, 'acme', 'Acme');
    for (let i = 0; i < 20; i++)
      logins.push(
        (await provisionDevice(db, { tenantId: 'acme', deviceId: `car-${i}`, vehicle: { name: `Car ${i}` } })).login,
      );
    // A broker-wide bucket a flood alone would empty (burst 100, 50/s); per source 10/s, burst 30.
    const limits = {
      ...DEFAULT_LIMITS,
      connectRatePerSecond: 50,
      connectBurst: 100,
      connectRatePerSourcePerSecond: 10,
      connectBurstPerSource: 30,
    };
    broker = await startBroker({ mqttPort: 0, policy: tenantPolicy({ db, limits }) });
  });
  afterAll(async () => {
    await broker?.close();
    await db?.close();
  });

  it('regression 12.5: a flood of bad CONNECTs from one address does not stop 20 devices from another connecting', async () => {
    // 400 CONNECTs without credentials from 127.0.0.3, in waves, while the fleet logs in from 127.0.0.2.
    const flood: Promise<number>[] = [];
    for (let wave = 0; wave < 4; wave++) {
      for (let i = 0; i < 100; i++)
        flood.push(connackFrom(broker.mqttPort, '127.0.0.3', connectFrame({ clientId: `flood-${wave}-${i}` })));
      await sleep(20);
    }
    const fleet = await Promise.all(
      logins.map((login) =>
        connackFrom(
          broker.mqttPort,
          '127.0.0.2',
          connectFrame({ clientId: login.username, username: login.username, password: login.password }),
        ),
      ),
    );
    const flooded = await Promise.all(flood);
    expect(fleet).toEqual(Array(20).fill(0));
    // The flooder was held to its own bucket: a burst of 30 plus what it earned, the rest refused early.
    expect(flooded.filter((c) => c === 5).length).toBeLessThanOrEqual(40);
    expect(flooded.filter((c) => c === 3).length).toBeGreaterThanOrEqual(360);
  });
});
