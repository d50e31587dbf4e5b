import { startRedisServer, type RedisServer } from '@clutch/test-support';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { latestValuesSink } from './invalidation.js';
import { ALL_TENANTS, type CachedReading, type LatestSample, type LatestValuesCache } from './latest-values.js';
import { createMemoryLatestCache } from './memory-cache.js';
import { createRedisLatestCache } from './redis-cache.js';

let redis: RedisServer;
let prefixes = 0;
const opened: LatestValuesCache[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
});
afterEach(async () => {
  for (const cache of opened.splice(0)) await cache.close();
});
afterAll(async () => {
  await redis?.stop();
});

/** A clock the test moves: freshness is judged by it, never by waiting. */
const clock = { ms: Date.UTC(2026, 11, 3, 12) };
const now = (): number => clock.ms;
const FRESH_MS = 60_000;

const implementations: [string, () => Promise<LatestValuesCache>][] = [
  ['in memory', async () => createMemoryLatestCache({ freshMs: FRESH_MS, now })],
  [
    'Redis',
    () => createRedisLatestCache({ url: redis.url, prefix: `contract-${prefixes++}:`, freshMs: FRESH_MS, now }),
  ],
];

const CAR = '0b6f5a8e-4c1d-4f3e-9a7b-2d5c8e1f0a01';
const OTHER_CAR = '0b6f5a8e-4c1d-4f3e-9a7b-2d5c8e1f0a02';
const RPM = 12;
const SPEED = 13;

const sample = (tenantId: string, signalId: number, timeMs: number, value: number, vehicleId = CAR): LatestSample => ({
  tenantId,
  vehicleId,
  signalId,
  timeMs,
  value,
});
const reading = (signalId: number, timeMs: number, value: number): CachedReading => ({ signalId, timeMs, value });
const sorted = (readings: CachedReading[]): CachedReading[] => [...readings].sort((a, b) => a.signalId - b.signalId);

describe.each(implementations)('latest-values cache contract: %s', (_name, open) => {
  let cache: LatestValuesCache;
  beforeAll(() => {
    clock.ms = Date.UTC(2026, 11, 3, 12);
  });
  const start = async (): Promise<LatestValuesCache> => {
    cache = await open();
    opened.push(cache);
    return cache;
  };

  /** A miss, then a fill with what "the database" had: the view is complete afterwards. */
  async function fillFromDatabase(view: string, readings: CachedReading[], vehicleId = CAR): Promise<void> {
    const lookup = await cache.read(view, vehicleId);
    expect(lookup.hit).toBe(false);
    if (lookup.hit || lookup.ticket === null) throw new Error('expected a ticket');
    await cache.fill(view, vehicleId, lookup.ticket, readings);
  }

  it('misses a vehicle it does not track, then answers from the fill and from every later commit', async () => {
    await start();
    await fillFromDatabase('acme', [reading(RPM, 1000, 800)]);
    expect(await cache.read('acme', CAR)).toEqual({ hit: true, readings: [reading(RPM, 1000, 800)] });
    await cache.record([
      sample('acme', RPM, 2000, 900),
      sample('acme', RPM, 3000, 950),
      sample('acme', SPEED, 2500, 40),
    ]);
    const hit = await cache.read('acme', CAR);
    expect(hit.hit && sorted(hit.readings)).toEqual([reading(RPM, 3000, 950), reading(SPEED, 2500, 40)]);
  });

  it('keeps the newest sample of a signal: a late upload of an older time changes nothing', async () => {
    await start();
    await fillFromDatabase('acme', [reading(RPM, 5000, 1200)]);
    await cache.record([sample('acme', RPM, 4000, 700)]);
    expect(await cache.read('acme', CAR)).toEqual({ hit: true, readings: [reading(RPM, 5000, 1200)] });
  });

  it('does not track what nobody read: a record alone leaves the vehicle to the database', async () => {
    await start();
    await cache.record([sample('acme', RPM, 1000, 800)]);
    const lookup = await cache.read('acme', CAR);
    expect(lookup.hit).toBe(false);
  });

  it('keeps a commit that lands between the miss and its fill, when it is newer than what the database read', async () => {
    await start();
    const lookup = await cache.read('acme', CAR);
    if (lookup.hit || lookup.ticket === null) throw new Error('expected a ticket');
    // Committed after the database read began: not in its answer.
    await cache.record([sample('acme', RPM, 9000, 3000), sample('acme', SPEED, 100, 5)]);
    await cache.fill('acme', CAR, lookup.ticket, [reading(RPM, 8000, 2000), reading(SPEED, 200, 10)]);
    const hit = await cache.read('acme', CAR);
    expect(hit.hit && sorted(hit.readings)).toEqual([reading(RPM, 9000, 3000), reading(SPEED, 200, 10)]);
  });

  it('lets a later fill replace what was recorded before its ticket (a sample deleted since is gone)', async () => {
    await start();
    await fillFromDatabase('acme', [reading(RPM, 1000, 800)]);
    await cache.record([sample('acme', RPM, 2000, 900)]);
    clock.ms += FRESH_MS + 1;
    // Stale now: read again; the database no longer has the sample at 2000 (retention, a correction).
    await fillFromDatabase('acme', [reading(RPM, 1000, 800)]);
    expect(await cache.read('acme', CAR)).toEqual({ hit: true, readings: [reading(RPM, 1000, 800)] });
  });

  it("keeps tenants' views apart and shows administrators every tenant's samples", async () => {
    await start();
    await fillFromDatabase('acme', [reading(RPM, 1000, 800)]);
    await fillFromDatabase('globex', []);
    await fillFromDatabase(ALL_TENANTS, [reading(RPM, 1000, 800)]);
    // The car moved to globex: its new samples are stored under globex.
    await cache.record([sample('globex', SPEED, 2000, 50)]);
    expect(await cache.read('acme', CAR)).toEqual({ hit: true, readings: [reading(RPM, 1000, 800)] });
    expect(await cache.read('globex', CAR)).toEqual({ hit: true, readings: [reading(SPEED, 2000, 50)] });
    const all = await cache.read(ALL_TENANTS, CAR);
    expect(all.hit && sorted(all.readings)).toEqual([reading(RPM, 1000, 800), reading(SPEED, 2000, 50)]);
    expect((await cache.read('acme', OTHER_CAR)).hit).toBe(false);
  });

  it('trusts a complete view for its freshness window only', async () => {
    await start();
    await fillFromDatabase('acme', [reading(RPM, 1000, 800)]);
    clock.ms += FRESH_MS - 1;
    expect((await cache.read('acme', CAR)).hit).toBe(true);
    clock.ms += 2;
    expect((await cache.read('acme', CAR)).hit).toBe(false);
  });

  it('drops a fill whose ticket predates an invalidation (it read the database before the change)', async () => {
    await start();
    const lookup = await cache.read('acme', CAR);
    if (lookup.hit || lookup.ticket === null) throw new Error('expected a ticket');
    await cache.invalidate([CAR]);
    await cache.fill('acme', CAR, lookup.ticket, [reading(RPM, 1000, 800)]);
    expect((await cache.read('acme', CAR)).hit).toBe(false);
  });

  it('forgets vehicles through the outbox sink: one named vehicle, or everything', async () => {
    await start();
    await fillFromDatabase('acme', [reading(RPM, 1000, 800)]);
    await fillFromDatabase('acme', [reading(RPM, 1000, 801)], OTHER_CAR);
    const sink = latestValuesSink(cache);
    await sink.deliver({ topic: 'vehicle.presence', payload: { vehicleId: CAR } });
    expect((await cache.read('acme', CAR)).hit).toBe(true);
    await sink.deliver({ topic: 'vehicle.moved', payload: { vehicleId: CAR } });
    expect((await cache.read('acme', CAR)).hit).toBe(false);
    expect((await cache.read('acme', OTHER_CAR)).hit).toBe(true);
    await sink.deliver({ topic: 'samples.changed', payload: {} });
    expect((await cache.read('acme', OTHER_CAR)).hit).toBe(false);
  });

  it('hands back exactly the doubles it was given', async () => {
    await start();
    const values = [0.1 + 0.2, 1e-7, -12.5, 123456789.123456, 5e-324, 0];
    await fillFromDatabase(
      'acme',
      values.map((v, i) => reading(i + 1, 1000 + i, v)),
    );
    const hit = await cache.read('acme', CAR);
    expect(hit.hit && sorted(hit.readings).map((r) => r.value)).toEqual(values);
    await cache.record(values.map((v, i) => sample('acme', i + 1, 5000 + i, -v)));
    const again = await cache.read('acme', CAR);
    expect(again.hit && sorted(again.readings).map((r) => r.value)).toEqual(values.map((v) => -v));
  });
});

describe('latest-values cache in Redis when Redis does not answer', () => {
  it('drops the vehicles of a record Redis did not confirm, on the next record it takes', async () => {
    const cache = await createRedisLatestCache({
      url: redis.url,
      prefix: `unconfirmed-${prefixes++}:`,
      freshMs: FRESH_MS,
      now,
      commandTimeoutMs: 200,
    });
    opened.push(cache);
    const lookup = await cache.read('acme', CAR);
    if (lookup.hit || lookup.ticket === null) throw new Error('expected a ticket');
    await cache.fill('acme', CAR, lookup.ticket, [reading(RPM, 1000, 800)]);
    // Writes stall (a failover, a saturated server): the record times out after its commit.
    const control = new Redis(redis.url);
    try {
      await control.call('CLIENT', 'PAUSE', '10000', 'WRITE');
      await expect(cache.record([sample('acme', RPM, 2000, 900)])).rejects.toThrow();
      await control.call('CLIENT', 'UNPAUSE');
    } finally {
      control.disconnect();
    }
    await cache.record([]);
    expect((await cache.read('acme', CAR)).hit).toBe(false);
  });
});
