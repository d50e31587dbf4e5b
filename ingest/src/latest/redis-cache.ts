import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import {
  ALL_TENANTS,
  DEFAULT_FRESH_MS,
  newestPerSignal,
  type CachedReading,
  type LatestCacheOptions,
  type LatestValuesCache,
} from './latest-values.js';

export interface RedisLatestCacheOptions extends LatestCacheOptions {
  url: string;
  /** Key prefix; one hash per vehicle below it (default `clutch:latest:`). */
  prefix?: string;
  /** A vehicle's hash lives this long after its last write (default 1 hour; longer than freshMs). */
  keyTtlMs?: number;
  /** A command slower than this fails (default 1000 ms): the API then reads the database. */
  commandTimeoutMs?: number;
}

// One hash per vehicle:
//   life            which life of the hash a ticket belongs to (a new one after invalidation)
//   version         bumped by every record; a ticket is (life, version)
//   f|<view>        the view is tracked; complete and trusted until this ms (0: not filled yet)
//   s|<view>|<sid>  "<time ms> <version> <value>": the newest sample of the signal in the view
// Scripts keep each step atomic: a record and a fill on the same vehicle never interleave.

/** KEYS[1] vehicle; ARGV view, now, new life, key ttl. Returns {1, fields...} or {0, ticket}. */
const READ = `
local key = KEYS[1]
local fresh = redis.call('HGET', key, 'f|' .. ARGV[1])
if fresh and tonumber(fresh) > tonumber(ARGV[2]) then
  local prefix = 's|' .. ARGV[1] .. '|'
  local out = {}
  local all = redis.call('HGETALL', key)
  for i = 1, #all, 2 do
    if string.sub(all[i], 1, #prefix) == prefix then
      out[#out + 1] = string.sub(all[i], #prefix + 1)
      out[#out + 1] = all[i + 1]
    end
  end
  return {1, out}
end
if redis.call('EXISTS', key) == 0 then redis.call('HSET', key, 'life', ARGV[3], 'version', 0) end
if not fresh then redis.call('HSET', key, 'f|' .. ARGV[1], 0) end
redis.call('PEXPIRE', key, ARGV[4])
return {0, redis.call('HGET', key, 'life') .. ':' .. redis.call('HGET', key, 'version')}
`;

/** KEYS[1] vehicle; ARGV key ttl, tenant, then (signal, time, value) triples. Tracked views only. */
const RECORD = `
local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then return 0 end
local version = redis.call('HINCRBY', key, 'version', 1)
for _, view in ipairs({ARGV[2], '${ALL_TENANTS}'}) do
  if redis.call('HEXISTS', key, 'f|' .. view) == 1 then
    for i = 3, #ARGV, 3 do
      local field = 's|' .. view .. '|' .. ARGV[i]
      local current = redis.call('HGET', key, field)
      if (not current) or tonumber(string.match(current, '^(%S+)')) < tonumber(ARGV[i + 1]) then
        redis.call('HSET', key, field, ARGV[i + 1] .. ' ' .. version .. ' ' .. ARGV[i + 2])
      end
    end
  end
end
redis.call('PEXPIRE', key, ARGV[1])
return 1
`;

/** KEYS[1] vehicle; ARGV view, life, ticket version, fresh until, key ttl, then (signal, time, value) triples. */
const FILL = `
local key = KEYS[1]
if redis.call('HGET', key, 'life') ~= ARGV[2] then return 0 end
if not redis.call('HGET', key, 'f|' .. ARGV[1]) then return 0 end
local since = tonumber(ARGV[3])
local prefix = 's|' .. ARGV[1] .. '|'
local kept = {}
local all = redis.call('HGETALL', key)
for i = 1, #all, 2 do
  if string.sub(all[i], 1, #prefix) == prefix then
    local time, version = string.match(all[i + 1], '^(%S+) (%S+)')
    if tonumber(version) > since then
      kept[string.sub(all[i], #prefix + 1)] = tonumber(time)
    else
      redis.call('HDEL', key, all[i])
    end
  end
end
for i = 6, #ARGV, 3 do
  local newer = kept[ARGV[i]]
  if (not newer) or newer < tonumber(ARGV[i + 1]) then
    redis.call('HSET', key, prefix .. ARGV[i], ARGV[i + 1] .. ' ' .. ARGV[3] .. ' ' .. ARGV[i + 2])
  end
end
redis.call('HSET', key, 'f|' .. ARGV[1], ARGV[4])
redis.call('PEXPIRE', key, ARGV[5])
return 1
`;

interface LatestCommands {
  latestRead(key: string, view: string, now: number, life: string, ttl: number): Promise<[0 | 1, string | string[]]>;
  latestRecord(key: string, ...args: (string | number)[]): Promise<number>;
  latestFill(key: string, ...args: (string | number)[]): Promise<number>;
}

/** The shortest decimal that reads back as the same double (String(-0) would lose the sign). */
const encodeValue = (value: number): string => (Object.is(value, -0) ? '-0' : String(value));

/** Readings out of a view's `s|` fields ("<signal>", "<time> <version> <value>" pairs). */
function parseReadings(fields: string[]): CachedReading[] {
  const readings: CachedReading[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const [time, , value] = fields[i + 1]!.split(' ');
    readings.push({ signalId: Number(fields[i]), timeMs: Number(time), value: Number(value) });
  }
  return readings;
}

/**
 * The latest-values cache in Redis, shared by every ingest worker (which record) and every API
 * process (which read and fill) of a scaled-out deployment. Values travel as JavaScript's shortest
 * round-trip decimal, so the API reads back the exact double ingest stored.
 *
 * A record that fails (Redis unreachable after the commit) would leave tracked views missing a
 * committed sample: their vehicles are then invalidated, retried until Redis takes it, and until
 * then the views can be at most `freshMs` stale. Commands fail fast instead of queueing while Redis
 * is away, so the API falls back to the database at once.
 */
export async function createRedisLatestCache(options: RedisLatestCacheOptions): Promise<LatestValuesCache> {
  const freshMs = options.freshMs ?? DEFAULT_FRESH_MS;
  const keyTtlMs = Math.max(options.keyTtlMs ?? 3600_000, freshMs * 2);
  const prefix = options.prefix ?? 'clutch:latest:';
  const now = options.now ?? Date.now;
  const redis = new Redis(options.url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: options.commandTimeoutMs ?? 1000,
  });
  redis.on('error', () => {});
  redis.defineCommand('latestRead', { numberOfKeys: 1, lua: READ });
  redis.defineCommand('latestRecord', { numberOfKeys: 1, lua: RECORD });
  redis.defineCommand('latestFill', { numberOfKeys: 1, lua: FILL });
  await redis.connect();
  const commands = redis as unknown as Redis & LatestCommands;
  const keyOf = (vehicleId: string): string => prefix + vehicleId;
  /** Vehicles whose record failed: invalidated before the next record, until that succeeds. */
  const unrecorded = new Set<string>();

  const invalidate = async (vehicleIds: readonly string[]): Promise<void> => {
    for (let i = 0; i < vehicleIds.length; i += 500) await redis.unlink(...vehicleIds.slice(i, i + 500).map(keyOf));
  };

  return {
    async record(samples) {
      const newest = newestPerSignal(samples);
      try {
        if (unrecorded.size > 0) {
          const stale = [...unrecorded];
          await invalidate(stale);
          for (const id of stale) unrecorded.delete(id);
        }
        if (newest.size === 0) return;
        const pipeline = redis.pipeline();
        const record = pipeline as unknown as LatestCommands;
        for (const [vehicleId, byTenant] of newest) {
          for (const [tenantId, bySignal] of byTenant) {
            const args: (string | number)[] = [keyTtlMs, tenantId];
            for (const r of bySignal.values()) args.push(r.signalId, r.timeMs, encodeValue(r.value));
            void record.latestRecord(keyOf(vehicleId), ...args);
          }
        }
        const results = await pipeline.exec();
        if (!results || results.some(([err]) => err))
          throw new Error('the latest-values cache did not take every record');
      } catch (err) {
        // Tracked views of these vehicles may now miss a committed sample: drop them once Redis answers.
        for (const vehicleId of newest.keys()) unrecorded.add(vehicleId);
        throw err;
      }
    },

    async read(view, vehicleId) {
      const [hit, payload] = await commands.latestRead(keyOf(vehicleId), view, now(), randomUUID(), keyTtlMs);
      if (hit === 1) return { hit: true, readings: parseReadings(payload as string[]) };
      return { hit: false, ticket: payload as string };
    },

    async fill(view, vehicleId, ticket, readings) {
      const split = ticket.lastIndexOf(':');
      const args: (string | number)[] = [
        view,
        ticket.slice(0, split),
        ticket.slice(split + 1),
        now() + freshMs,
        keyTtlMs,
      ];
      for (const r of readings) args.push(r.signalId, r.timeMs, encodeValue(r.value));
      await commands.latestFill(keyOf(vehicleId), ...args);
    },

    invalidate,

    async invalidateAll() {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        if (keys.length > 0) await redis.unlink(...keys);
        cursor = next;
      } while (cursor !== '0');
    },

    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
