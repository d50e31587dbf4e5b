/**
 * The Redis side of shared subscriptions across clustered brokers: a group's live members in a
 * sorted set (score = when the member expires, on Redis' clock, so brokers' clocks never matter),
 * a round-robin counter, and one claim key per (group, message) that fixes which member gets it.
 * Every broker holding members of the group runs the claim for each message it receives; the first
 * run picks the member and records it, later runs read the same answer. Lua keeps each step atomic.
 */

/** A group's keys; the `{...}` hash tag keeps them in one Redis Cluster slot. */
export interface GroupKeys {
  members: string;
  counter: string;
  claimPrefix: string;
}

export function groupKeys(shareTopic: string): GroupKeys {
  const base = `clutch:share:{${shareTopic}}`;
  return { members: `${base}:members`, counter: `${base}:rr`, claimPrefix: `${base}:claim:` };
}

/** `{brokerId} {clientId}`: aedes broker ids have no space, client ids may; split at the first one. */
export function memberOf(brokerId: string, clientId: string): string {
  return `${brokerId} ${clientId}`;
}

export function parseMember(member: string): { brokerId: string; clientId: string } {
  const space = member.indexOf(' ');
  return { brokerId: member.slice(0, space), clientId: member.slice(space + 1) };
}

const NOW_MS = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * KEYS[1] members. ARGV[1] member, ARGV[2] member ttl ms. Joins or refreshes (the heartbeat) and drops expired members; the set
 * itself expires when no broker refreshes any member, so an abandoned group leaves nothing behind.
 */
export const JOIN_LUA = `${NOW_MS}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return 1`;

/**
 * KEYS[1] members, KEYS[2] counter, KEYS[3] claim of this message. ARGV[1] claim ttl ms.
 * Returns the chosen member, or false when the group has no live member. Members are sorted by
 * name (not by expiry, which every heartbeat moves) so the round robin walks a stable order.
 */
export const CLAIM_LUA = `
local chosen = redis.call('GET', KEYS[3])
if chosen then return chosen end
${NOW_MS}
local live = redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')
if #live == 0 then return false end
table.sort(live)
local i = redis.call('INCR', KEYS[2]) % #live
chosen = live[i + 1]
redis.call('SET', KEYS[3], chosen, 'PX', tonumber(ARGV[1]))
return chosen`;
