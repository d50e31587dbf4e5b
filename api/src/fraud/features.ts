import type { Queryable } from '@clutch/db';
import { subjectHash, userKey, type BlockSubject } from './hash.js';
import type { HistoryEntry, RiskFeatures } from './score.js';
import type { RiskDecision, RiskInput } from './types.js';

/** The values of an attempt that a block can name, and their stored hashes. */
export interface AttemptSubjects {
  values: Partial<Record<BlockSubject, string>>;
  hashes: Partial<Record<BlockSubject, string>>;
}

/** `cardHash`: an already hashed card (re-scoring a stored attempt, which keeps only the hash). */
export function attemptSubjects(input: RiskInput, cardHash?: string): AttemptSubjects {
  const values: Partial<Record<BlockSubject, string>> = { user: userKey(input.tenantId, input.userId) };
  if (input.deviceId) values.device = input.deviceId;
  if (input.cardFingerprint) values.card = input.cardFingerprint;
  if (input.ip) values.ip = input.ip;
  const hashes: Partial<Record<BlockSubject, string>> = {};
  for (const [subject, value] of Object.entries(values) as [BlockSubject, string][])
    hashes[subject] = subjectHash(subject, value);
  if (cardHash !== undefined && hashes.card === undefined) {
    hashes.card = cardHash;
    values.card = cardHash;
  }
  return { values, hashes };
}

interface SignalsRow {
  user10m: number;
  user24h: number;
  userAmount10m: number;
  userAmount24h: number;
  userCards24h: number;
  userCards30d: number;
  deviceSeen: boolean;
  device10m: number;
  device24h: number;
  deviceUsers24h: number;
  card10m: number;
  card24h: number;
  cardUsers30d: number;
  ip10m: number;
  ipUsers24h: number;
  blocked: string[];
  history: [number | string, number | string, string | null, string | null, RiskDecision][];
}

const country = (c: string | null | undefined): string | null => (c ? c.trim().toUpperCase() : null);

/**
 * The features of one attempt in one round trip: `fraud_signals` (migration 035) counts across
 * tenants and returns the user's recent history; the rest is arithmetic in score.ts.
 */
export async function gatherFeatures(
  q: Queryable,
  input: RiskInput,
  subjects: AttemptSubjects,
  at: Date,
): Promise<RiskFeatures> {
  const hashes = Object.values(subjects.hashes);
  const { rows } = await q.query<{ signals: SignalsRow }>(
    'SELECT fraud_signals($1, $2, $3, $4, $5, $6, $7, $8::text[]) AS signals',
    [
      input.tenantId,
      input.userId,
      input.deviceId ?? null,
      subjects.hashes.card ?? null,
      input.ip ?? null,
      input.currency,
      at,
      hashes,
    ],
  );
  const s = rows[0]!.signals;
  const blockedHashes = new Set(s.blocked);
  const blocked = (Object.entries(subjects.hashes) as [BlockSubject, string][])
    .filter(([, hash]) => blockedHashes.has(hash))
    .map(([subject]) => subject);
  const history: HistoryEntry[] = s.history.map(([amount, seconds, ipCountry, cardCountry, decision]) => ({
    amountMinor: Number(amount),
    at: Number(seconds),
    ipCountry: country(ipCountry),
    cardCountry: country(cardCountry),
    decision,
  }));
  return {
    kind: input.kind,
    amountMinor: input.amountMinor,
    at: Math.floor(at.getTime() / 1000),
    user10m: Number(s.user10m),
    user24h: Number(s.user24h),
    userAmount10m: Number(s.userAmount10m),
    userAmount24h: Number(s.userAmount24h),
    userCards24h: Number(s.userCards24h),
    userCards30d: Number(s.userCards30d),
    hasDevice: input.deviceId !== undefined && input.deviceId !== '',
    deviceSeen: s.deviceSeen,
    device10m: Number(s.device10m),
    device24h: Number(s.device24h),
    deviceUsers24h: Number(s.deviceUsers24h),
    hasCard: subjects.hashes.card !== undefined,
    card10m: Number(s.card10m),
    card24h: Number(s.card24h),
    cardUsers30d: Number(s.cardUsers30d),
    hasIp: input.ip !== undefined && input.ip !== '',
    ip10m: Number(s.ip10m),
    ipUsers24h: Number(s.ipUsers24h),
    ipCountry: country(input.ipCountry),
    cardCountry: country(input.cardCountry),
    blocked,
    history,
  };
}
