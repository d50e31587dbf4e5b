import type { Database } from '@clutch/db';
import { openTestDatabase } from '@clutch/db/testing';
import { createLoginLimiter, ensureTenant, provisionDevice } from '@clutch/identity';
import { startRedisServer, type RedisServer } from '@clutch/test-support';
import { Redis } from 'ioredis';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantPolicy } from '../policy/policy.js';
import { startBroker, type RunningBroker } from './broker.js';

// Scaled out, failed logins are counted in Redis: a guesser spreading attempts over N brokers
// behind a load balancer gets no more tries than against one. Real redis-server.
describe('login limiter on Redis', () => {
  let redis: RedisServer;
  const clients: Redis[] = [];
  /** A connected client: until it is ready the limiter counts in memory (see createLoginLimiter). */
  const client = async (): Promise<Redis> => {
    const c = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    c.on('error', () => {});
    clients.push(c);
    if (c.status !== 'ready') await new Promise((resolve) => c.once('ready', resolve));
    return c;
  };

  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    clients.forEach((c) => c.disconnect());
    await redis?.stop();
  });

  it('regression 12.5: two limiter instances on one Redis share their counts', async () => {
    const options = { keyPrefix: 'shared-test', username: { freeFailures: 3, baseBlockSeconds: 2 } };
    const a = createLoginLimiter({ ...options, redis: await client() });
    const b = createLoginLimiter({ ...options, redis: await client() });
    const key = { username: 'acme/pi-1', ip: '198.51.100.7' };
    await a.failed(key);
    await b.failed(key);
    await a.failed(key);
    expect(await b.check(key)).toEqual({ allowed: true }); // 3 free failures, counted across both
    await b.failed(key);
    for (const limiter of [a, b]) {
      const verdict = await limiter.check({ username: 'acme/pi-1' });
      expect(verdict.allowed).toBe(false);
      if (!verdict.allowed) expect(verdict.retryAfterMs).toBeGreaterThan(1000);
    }
    await a.succeeded(key); // a success through one instance frees the account on all
    expect(await b.check({ username: 'acme/pi-1' })).toEqual({ allowed: true });
  });

  describe('two brokers on one Redis', () => {
    let db: Database;
    let brokerA: RunningBroker;
    let brokerB: RunningBroker;
    beforeAll(async () => {
      db = await openTestDatabase('pglite', { signals: false });
      await ensureTenant(db, 'acme', 'Acme');
      brokerA = await startBroker({ mqttPort: 0, redisUrl: redis.url, policy: tenantPolicy({ db }) });
      brokerB = await startBroker({ mqttPort: 0, redisUrl: redis.url, policy: tenantPolicy({ db }) });
    });
    afterAll(async () => {
      await brokerA?.close();
      await brokerB?.close();
      await db?.close();
    });

    it('regression 12.5: failures on one broker block the account on the other (default limits)', async () => {
      const { login } = await provisionDevice(db, { tenantId: 'acme', deviceId: 'pi-9', vehicle: { name: 'A9' } });
      const attempt = (url: string, password: string): Promise<unknown> =>
        mqtt
          .connectAsync(url, { clientId: 'acme/pi-9', username: login.username, password, reconnectPeriod: 0 })
          .then((c) => c.endAsync());
      // Five free failures, alternating brokers; the sixth starts a block.
      for (let i = 0; i < 6; i++)
        await expect(attempt(i % 2 ? brokerB.mqttUrl : brokerA.mqttUrl, 'wrong')).rejects.toThrow(
          /Bad username or password/,
        );
      await expect(attempt(brokerB.mqttUrl, login.password)).rejects.toThrow(/Server unavailable/);
      await expect(attempt(brokerA.mqttUrl, login.password)).rejects.toThrow(/Server unavailable/);
    });
  });

  it('falls back to memory when Redis goes away, rather than refusing every login', async () => {
    const lonely = await startRedisServer();
    const c = new Redis(lonely.url, { maxRetriesPerRequest: 0, enableOfflineQueue: false });
    c.on('error', () => {});
    clients.push(c);
    const limiter = createLoginLimiter({ redis: c, username: { freeFailures: 0 } });
    await lonely.stop();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await limiter.check({ username: 'x/y' })).toEqual({ allowed: true });
    await limiter.failed({ username: 'x/y' });
    expect((await limiter.check({ username: 'x/y' })).allowed).toBe(false);
  });
});
