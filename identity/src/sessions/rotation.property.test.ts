import type { Database } from '@clutch/db';
import { testDatabases } from '@clutch/db/testing';
import { propertyRuns } from '@clutch/test-support';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sha256 } from '../secrets/secrets.js';
import { createSession, refreshSession, type RefreshOutcome, type SessionPolicy } from './sessions.js';

/**
 * Property test of refresh-token rotation (issue 14): hundreds of refreshes and replays (thousands
 * with CLUTCH_PROPERTY_RUNS=full), many at once, in a random but reproducible order (seeded;
 * fast-check is not a dependency). Whatever the interleaving:
 *
 * 1. once a family is revoked, no refresh of it ever succeeds again;
 * 2. at most one token of a family is live at any time;
 * 3. a token that was replaced is never accepted as a rotation again, and only the immediate parent
 *    of the live token, within the grace period and from the same device, gets the "concurrent"
 *    answer;
 * 4. every refresh token issued is unique.
 *
 * Refreshes go the API's way (`refreshSession`): the one-statement rotation outside a transaction
 * for the live token, the locked path in a transaction for everything else.
 */

/** mulberry32: a tiny seeded generator, so a failing run can be replayed with its seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = Number(process.env.ROTATION_SEED ?? 20_261_203);
const FAMILIES = 12;
// Each round is a burst of 40 at once; the run checks below that it exercised rotations, revocations
// and families left alive. CLUTCH_PROPERTY_RUNS=full runs the 50 rounds it was written with.
const ROUNDS = propertyRuns(20, 50);
const PER_ROUND = 40;

interface Family {
  sessionId: string;
  device: Buffer;
  /** Every token issued, oldest first; the last one is the one the client believes is current. */
  issued: string[];
  /** When a revoking outcome was seen (performance.now()), if one was. */
  revokedAt: number | null;
}

function policy(graceSeconds: number): SessionPolicy {
  return {
    idleSeconds: 3600,
    absoluteSeconds: 7200,
    reuseGraceSeconds: graceSeconds,
    maxSessions: { consumer: 1000, partner: 1000, platform: 1000 },
  };
}

describe.each(testDatabases(inject('pgAdminUrl'), 'identity_rotation'))(
  'refresh rotation property on %s',
  (_name, open) => {
    let db: Database;

    beforeAll(async () => {
      db = await open({ signals: false });
    });
    afterAll(async () => db?.close());

    for (const grace of [0, 10]) {
      it(`holds under ${ROUNDS * PER_ROUND} concurrent refreshes and replays (grace ${grace} s, seed ${SEED})`, async () => {
        const rand = random(SEED + grace);
        const p = policy(grace);
        const families: Family[] = [];
        let made = 0;
        const newFamily = async (): Promise<Family> => {
          const i = made++;
          const { rows } = await db.query<{ id: string }>(
            `INSERT INTO users (tenant_id, email, display_name) VALUES ('consumers', $1, 'P') RETURNING id`,
            [`prop-${grace}-${i}@example.com`],
          );
          const device = sha256(`device-${i}`);
          const started = await db.transaction((q) =>
            createSession(
              q,
              {
                userId: rows[0]!.id,
                tenantId: 'consumers',
                mfaAt: null,
                device: { client: 'mobile', fingerprint: device, ip: '192.0.2.1', userAgent: 'prop' },
              },
              p,
            ),
          );
          const family = { sessionId: started.session.id, device, issued: [started.refreshToken], revokedAt: null };
          families.push(family);
          return family;
        };
        // The families being refreshed; a revoked one is replaced by a new sign-in, and kept for the final checks.
        const active: Family[] = [];
        for (let i = 0; i < FAMILIES; i++) active.push(await newFamily());
        const allIssued = new Set(families.flatMap((f) => f.issued));
        const violations: string[] = [];
        let oneStatement = 0;
        const refresh = async (token: string, device: Buffer, ip: string | null = null): Promise<RefreshOutcome> => {
          const { outcome, user } = await refreshSession(
            db,
            token,
            { fingerprint: device, ip, userAgent: ip && 'prop' },
            p,
          );
          if (user) oneStatement++;
          return outcome;
        };

        for (let round = 0; round < ROUNDS; round++) {
          const ops = Array.from({ length: PER_ROUND }, () => {
            const family = active[Math.floor(rand() * active.length)]!;
            const r = rand();
            // Mostly the current token (sometimes several at once), some replays of older ones, a few
            // from another device.
            const token =
              r < 0.9 || family.issued.length === 1
                ? family.issued.at(-1)!
                : family.issued[Math.floor(rand() * (family.issued.length - 1))]!;
            const device = rand() < 0.01 ? sha256('thief') : family.device;
            return { family, token, device };
          });
          await Promise.all(
            ops.map(async ({ family, token, device }) => {
              const startedAt = performance.now();
              const wasRevoked = family.revokedAt !== null && family.revokedAt < startedAt;
              const outcome = await refresh(token, device, '192.0.2.1');
              if (wasRevoked && (outcome.kind === 'rotated' || outcome.kind === 'concurrent'))
                violations.push(`family ${family.sessionId} refreshed (${outcome.kind}) after its revocation`);
              if (outcome.kind === 'rotated') {
                if (allIssued.has(outcome.refreshToken)) violations.push('a refresh token was issued twice');
                allIssued.add(outcome.refreshToken);
                family.issued.push(outcome.refreshToken);
              }
              if (outcome.kind === 'concurrent') {
                if (grace === 0) violations.push('a concurrent answer with no grace period');
                if (!device.equals(family.device)) violations.push('a concurrent answer to another device');
              }
              if (outcome.kind === 'reused' || outcome.kind === 'foreign-device')
                family.revokedAt ??= performance.now();
            }),
          );
          // Invariant 2, between rounds: at most one live token per family.
          const { rows: live } = await db.query<{ session_id: string; n: number }>(
            `SELECT session_id, count(*)::int AS n FROM refresh_tokens WHERE rotated_at IS NULL GROUP BY session_id HAVING count(*) > 1`,
          );
          for (const row of live) violations.push(`family ${row.session_id} has ${row.n} live tokens`);
          for (let i = 0; i < active.length; i++) if (active[i]!.revokedAt !== null) active[i] = await newFamily();
        }

        // Invariant 1, at the end: every token of every revoked family is refused, from the right device too.
        for (const family of families.filter((f) => f.revokedAt !== null)) {
          for (const token of family.issued) {
            const outcome = await refresh(token, family.device);
            if (outcome.kind !== 'invalid')
              violations.push(`revoked family ${family.sessionId} answered ${outcome.kind}`);
          }
        }
        // Invariant 3: replaying a token older than the live token's parent never rotates.
        for (const family of families.filter((f) => f.revokedAt === null && f.issued.length >= 3)) {
          const old = family.issued[0]!;
          const outcome = await refresh(old, family.device);
          if (outcome.kind !== 'reused')
            violations.push(`an old token of ${family.sessionId} answered ${outcome.kind}`);
          family.revokedAt = performance.now();
        }

        expect(violations).toEqual([]);
        // The run exercised what it claims to: rotations, revocations, and families left alive.
        const revoked = families.filter((f) => f.revokedAt !== null).length;
        expect(allIssued.size).toBeGreaterThan(ROUNDS * 5);
        expect(revoked).toBeGreaterThan(FAMILIES);
        // Rotations went the one-statement way (revocations, above, can only come from the locked path).
        expect(oneStatement).toBeGreaterThan(ROUNDS * 5);
      }, 180_000);
    }
  },
);
