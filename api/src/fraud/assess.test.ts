import type { Database } from '@clutch/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../test-fixtures.js';
import { assess, assessRisk } from './assess.js';
import { subjectHash } from './hash.js';
import type { RiskInput } from './types.js';

const T0 = Date.parse('2026-11-02T10:00:00Z');
const minutes = (m: number): Date => new Date(T0 + m * 60_000);

/** The inline check as payments, bookings and wallet run it: in a tenant-confined transaction. */
describe.each(backends('fraud_assess'))('assessRisk on %s', (_name, open) => {
  let db: Database;
  const inTenant = (tenantId: string, input: Omit<RiskInput, 'tenantId'>) =>
    db.withTenant(tenantId, (q) => assess(q, { ...input, tenantId }));

  beforeAll(async () => {
    db = await open!();
  });
  afterAll(async () => {
    await db?.close();
  });

  it('allows an ordinary payment, stores it, opens no alert', async () => {
    const result = await db.withTenant('fleet-a', (q) =>
      assessRisk(q, {
        kind: 'payment',
        tenantId: 'fleet-a',
        userId: 'u-ordinary',
        amountMinor: 12_000,
        currency: 'EUR',
        deviceId: 'dev-ordinary',
        ip: '198.51.100.7',
        ipCountry: 'de',
        cardCountry: 'DE',
        cardFingerprint: 'fp-ordinary',
        at: minutes(0),
      }),
    );
    expect(result.decision).toBe('allow');
    expect(result.score).toBeLessThan(0.5);
    const { rows } = await db.query<{ decision: string; card_hash: string; ip_country: string; alerts: string }>(
      `SELECT decision, card_hash, ip_country,
              (SELECT count(*) FROM fraud_alerts a WHERE a.assessment_id = r.id)::text AS alerts
         FROM risk_assessments r WHERE id = $1`,
      [result.id],
    );
    expect(rows).toEqual([
      { decision: 'allow', card_hash: subjectHash('card', 'fp-ordinary'), ip_country: 'DE', alerts: '0' },
    ]);
    // The raw fingerprint is stored nowhere.
    const raw = await db.query(
      `SELECT 1 FROM risk_assessments WHERE reasons::text LIKE '%fp-ordinary%' OR card_hash = 'fp-ordinary'`,
    );
    expect(raw.rows).toHaveLength(0);
  });

  it('blocks a card-testing burst, opens alerts and blocks the card and the device automatically', async () => {
    const decisions: string[] = [];
    for (let i = 0; i < 12; i++) {
      const r = await inTenant('fleet-b', {
        kind: 'payment',
        userId: 'u-tester',
        amountMinor: 100 + i,
        currency: 'EUR',
        deviceId: 'dev-burst',
        cardFingerprint: 'fp-stolen',
        at: new Date(T0 + i * 20_000),
      });
      decisions.push(r.decision);
    }
    expect(decisions.slice(0, 2)).toEqual(['allow', 'allow']);
    expect(decisions.at(-1)).toBe('block');
    const blocks = await db.query<{ subject: string; created_by: string }>(
      `SELECT subject, created_by FROM fraud_blocks WHERE value_hash = ANY($1) AND lifted_at IS NULL ORDER BY subject`,
      [[subjectHash('card', 'fp-stolen'), subjectHash('device', 'dev-burst')]],
    );
    expect(blocks.rows.map((b) => b.subject)).toContain('card');
    expect(blocks.rows.every((b) => b.created_by === 'system:fraud')).toBe(true);
    const alerts = await db.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM fraud_alerts WHERE status = 'open' AND tenant_id = 'fleet-b'`,
    );
    expect(Number(alerts.rows[0]!.n)).toBe(decisions.filter((d) => d !== 'allow').length);
  });

  it('blocks the blocked card in another tenant too (the blocklist crosses tenants), with the reason', async () => {
    const r = await inTenant('fleet-c', {
      kind: 'booking',
      userId: 'u-innocent-looking',
      amountMinor: 9_000,
      currency: 'EUR',
      cardFingerprint: 'fp-stolen',
      at: minutes(30),
    });
    expect(r.decision).toBe('block');
    expect(r.reasons[0]).toMatchObject({ code: 'blocklisted', detail: { subjects: 'card' } });
  });

  it('a dry run stores nothing', async () => {
    const before = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM risk_assessments');
    const r = await db.withTenant('fleet-c', (q) =>
      assess(
        q,
        {
          kind: 'payment',
          tenantId: 'fleet-c',
          userId: 'u-x',
          amountMinor: 100,
          currency: 'EUR',
          cardFingerprint: 'fp-stolen',
          at: minutes(31),
        },
        { dryRun: true },
      ),
    );
    expect(r.decision).toBe('block');
    expect(r.stored).toBe(false);
    const after = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM risk_assessments');
    expect(after.rows[0]!.n).toBe(before.rows[0]!.n);
  });

  it('refuses a tenant asking about another tenant, and shows a tenant only its own assessments', async () => {
    await expect(
      db.withTenant('fleet-a', (q) =>
        q.query(`SELECT fraud_signals('fleet-b', 'u-tester', NULL, NULL, NULL, 'EUR', now(), '{}'::text[])`),
      ),
    ).rejects.toThrow(/may not ask/);
    const seen = await db.withTenant('fleet-a', (q) =>
      q.query<{ tenant_id: string }>('SELECT DISTINCT tenant_id FROM risk_assessments'),
    );
    expect(seen.rows).toEqual([{ tenant_id: 'fleet-a' }]);
    // The blocklist is not the tenant role's to read or write directly.
    await expect(db.withTenant('fleet-a', (q) => q.query('SELECT * FROM fraud_blocks'))).rejects.toThrow();
  });

  it('refuses to auto-block for an assessment that was not a block', async () => {
    const allowed = await inTenant('fleet-a', {
      kind: 'payment',
      userId: 'u-ordinary',
      amountMinor: 11_000,
      currency: 'EUR',
      at: minutes(60),
    });
    expect(allowed.decision).toBe('allow');
    await expect(
      db.withTenant('fleet-a', (q) =>
        q.query(`SELECT fraud_auto_block($1, ARRAY['ip'], ARRAY[$2], ARRAY['x'], 'nope', now() + interval '1 hour')`, [
          allowed.id,
          subjectHash('ip', '203.0.113.9'),
        ]),
      ),
    ).rejects.toThrow(/no blocked assessment/);
  });

  it('refuses malformed amounts and currencies and drops unusable context', async () => {
    await expect(
      inTenant('fleet-a', { kind: 'payment', userId: 'u', amountMinor: -1, currency: 'EUR' }),
    ).rejects.toThrow(/amountMinor/);
    await expect(
      inTenant('fleet-a', { kind: 'payment', userId: 'u', amountMinor: 1.5, currency: 'EUR' }),
    ).rejects.toThrow(/amountMinor/);
    await expect(
      inTenant('fleet-a', { kind: 'payment', userId: 'u', amountMinor: 1, currency: 'eur' }),
    ).rejects.toThrow(/currency/);
    const r = await inTenant('fleet-a', {
      kind: 'payment',
      userId: 'u-context',
      amountMinor: 1_000,
      currency: 'EUR',
      ipCountry: 'Germany',
      deviceId: 'x'.repeat(500),
      at: minutes(61),
    });
    const { rows } = await db.query<{ ip_country: string | null; device_id: string | null }>(
      'SELECT ip_country, device_id FROM risk_assessments WHERE id = $1',
      [r.id],
    );
    expect(rows).toEqual([{ ip_country: null, device_id: null }]);
  });
});
