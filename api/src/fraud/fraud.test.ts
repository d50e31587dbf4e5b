import { generateSigningKeys } from '@clutch/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedInUser, type TestUser } from '../roles/test-users.js';
import { backends, call, expectProblem, startFixture, TENANT, type Fixture, type Reply } from '../test-fixtures.js';
import { assess } from './assess.js';
import type { RiskInput } from './types.js';

const ADMIN = 'admin-token-for-fraud-tests-0123456';
const T0 = Date.now() - 60 * 60_000;

/** Platform staff's fraud routes over real HTTP: the review queue, blocks, analysis and reports. */
describe.each(backends('api_fraud'))('fraud routes on %s', (_name, open) => {
  const keys = generateSigningKeys();
  let fx: Fixture;
  let support: TestUser;
  let platformAdmin: TestUser;
  let platformAdminNoMfa: TestUser;
  let partnerAdmin: TestUser;
  const api = (method: string, path: string, as: string | TestUser | undefined, body?: unknown): Promise<Reply> =>
    call(fx.api.url, method, `/api/security/fraud${path}`, {
      token: typeof as === 'string' ? as : as?.token,
      ...(body !== undefined ? { body } : method === 'GET' ? {} : { headers: { 'x-requested-with': 'test' } }),
    });
  const attempt = (input: Omit<RiskInput, 'tenantId'>, tenantId = TENANT) =>
    fx.db.withTenant(tenantId, (q) => assess(q, { ...input, tenantId }));
  const count = async (table: string): Promise<number> =>
    Number((await fx.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`)).rows[0]!.n);

  beforeAll(async () => {
    fx = await startFixture({
      requireAuth: true,
      adminToken: ADMIN,
      identity: { signingKeys: keys },
      ...(open ? { open } : {}),
    });
    support = await signedInUser(fx.db, keys, { tenantId: 'platform', roles: ['support'], mfa: true, name: 'Sue' });
    platformAdmin = await signedInUser(fx.db, keys, {
      tenantId: 'platform',
      roles: ['platform-admin'],
      mfa: true,
      name: 'Pat',
    });
    platformAdminNoMfa = await signedInUser(fx.db, keys, {
      tenantId: 'platform',
      roles: ['platform-admin'],
      name: 'Pam',
    });
    partnerAdmin = await signedInUser(fx.db, keys, { tenantId: TENANT, roles: ['partner-admin'], mfa: true });
    // A card-testing burst in acme: the later attempts are flagged and open alerts.
    for (let i = 0; i < 10; i++)
      await attempt({
        kind: 'payment',
        userId: 'u-burst',
        amountMinor: 150 + i,
        currency: 'EUR',
        deviceId: 'dev-burst-0001',
        ip: '203.0.113.50',
        cardFingerprint: `fp-burst-${i % 4}`,
        at: new Date(T0 + i * 15_000),
      });
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('is platform staff’s: 401 without a credential, 403 for a partner admin, support reads but does not write', async () => {
    expect((await api('GET', '/alerts', undefined)).status).toBe(401);
    expectProblem(await api('GET', '/alerts', partnerAdmin), 403, 'FORBIDDEN');
    expect((await api('GET', '/alerts', support)).status).toBe(200);
    expect((await api('GET', '/reports', support)).status).toBe(200);
    expectProblem(
      await api('POST', '/block', support, { subject: 'ip', value: '198.51.100.1', minutes: 60, reason: 'test' }),
      403,
      'FORBIDDEN',
    );
  });

  it('lists the review queue newest first, filtered and a page at a time', async () => {
    const all = await api('GET', '/alerts?status=open', support);
    expect(all.status, JSON.stringify(all.body)).toBe(200);
    const alerts = all.body.alerts as {
      id: string;
      createdAt: string;
      decision: string;
      reasons: { code: string }[];
    }[];
    expect(alerts.length).toBeGreaterThanOrEqual(3);
    expect(alerts.map((a) => a.createdAt)).toEqual([...alerts.map((a) => a.createdAt)].sort().reverse());
    expect(alerts[0]).toMatchObject({
      tenantId: TENANT,
      status: 'open',
      attempt: { kind: 'payment', userId: 'u-burst', currency: 'EUR', card: true, deviceId: 'dev-burst-0001' },
    });
    // Never the card fingerprint.
    expect(JSON.stringify(all.body)).not.toContain('fp-burst');

    const first = await api('GET', '/alerts?status=open&limit=2', support);
    expect(first.body.alerts).toHaveLength(2);
    const second = await api('GET', `/alerts?status=open&limit=2&cursor=${first.body.next as string}`, support);
    expect((second.body.alerts as { id: string }[])[0]!.id).toBe(alerts[2]!.id);

    const blocks = await api('GET', '/alerts?decision=block&reason=velocity', support);
    for (const a of blocks.body.alerts as typeof alerts) {
      expect(a.decision).toBe('block');
      expect(a.reasons.map((r) => r.code)).toContain('velocity');
    }
    expectProblem(await api('GET', '/alerts?cursor=nonsense', support), 400, 'VALIDATION_FAILED');
    expectProblem(await api('GET', '/alerts?status=closed', support), 400, 'VALIDATION_FAILED');
  });

  it('reviews alerts once: confirm with a block (MFA step-up), dismiss, then 409; the report shows the precision', async () => {
    const open = (await api('GET', '/alerts?status=open', support)).body.alerts as { id: string }[];
    const [a, b] = open;
    expectProblem(
      await api('POST', `/alerts/${a!.id}/review`, platformAdminNoMfa, {
        outcome: 'confirmed',
        block: { subjects: ['device'], minutes: 60 },
      }),
      403,
      'MFA_STEP_UP_REQUIRED',
    );
    const confirmed = await api('POST', `/alerts/${a!.id}/review`, platformAdmin, {
      outcome: 'confirmed',
      note: 'card testing',
      block: { subjects: ['device', 'ip'], minutes: 60 },
    });
    expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200);
    expect(confirmed.body).toMatchObject({
      status: 'confirmed',
      note: 'card testing',
      reviewedBy: `user:${platformAdmin.userId}`,
    });
    expect((confirmed.body.blocks as { subject: string; active: boolean }[]).map((x) => [x.subject, x.active])).toEqual(
      [
        ['device', true],
        ['ip', true],
      ],
    );
    // Dismissing needs no step-up; it may not block.
    expectProblem(
      await api('POST', `/alerts/${b!.id}/review`, platformAdminNoMfa, {
        outcome: 'dismissed',
        block: { subjects: ['user'], minutes: 5 },
      }),
      400,
      'VALIDATION_FAILED',
    );
    const dismissed = await api('POST', `/alerts/${b!.id}/review`, platformAdminNoMfa, { outcome: 'dismissed' });
    expect(dismissed.status).toBe(200);
    expectProblem(
      await api('POST', `/alerts/${a!.id}/review`, platformAdmin, { outcome: 'dismissed' }),
      409,
      'FRAUD_ALERT_REVIEWED',
    );
    expectProblem(
      await api('POST', '/alerts/00000000-0000-4000-8000-000000000000/review', platformAdmin, { outcome: 'dismissed' }),
      404,
      'FRAUD_ALERT_NOT_FOUND',
    );

    const report = await api('GET', '/reports', support);
    expect(report.status).toBe(200);
    expect(report.body.review).toMatchObject({ confirmed: 1, dismissed: 1, precision: 0.5 });
    const decisions = report.body.decisions as { decision: string; count: number }[];
    expect(decisions.reduce((s, d) => s + d.count, 0)).toBeGreaterThanOrEqual(10);
    expect((report.body.reasons as { code: string }[]).some((r) => r.code === 'velocity')).toBe(true);
    expectProblem(
      await api(
        'GET',
        `/reports?from=${new Date().toISOString()}&to=${new Date(Date.now() - 1000).toISOString()}`,
        support,
      ),
      400,
      'TIME_RANGE_INVALID',
    );

    // The device blocked on review now blocks anyone using it, in any tenant.
    const after = await attempt(
      { kind: 'booking', userId: 'u-other', amountMinor: 5_000, currency: 'EUR', deviceId: 'dev-burst-0001' },
      'globex',
    );
    expect(after.decision).toBe('block');
    expect(after.reasons[0]!.code).toBe('blocklisted');
  });

  it('blocks a card by fingerprint (step-up, audited), which the inline check then refuses, and lifts it', async () => {
    const body = {
      subject: 'card',
      value: 'fp-reported-stolen',
      minutes: 120,
      reason: 'reported stolen by the issuer',
    };
    expectProblem(await api('POST', '/block', platformAdminNoMfa, body), 403, 'MFA_STEP_UP_REQUIRED');
    const blocked = await api('POST', '/block', platformAdmin, body);
    expect(blocked.status, JSON.stringify(blocked.body)).toBe(201);
    expect(blocked.body).toMatchObject({ subject: 'card', active: true, createdBy: `user:${platformAdmin.userId}` });
    expect(JSON.stringify(blocked.body)).not.toContain('fp-reported-stolen');
    const stored = await fx.db.query(
      `SELECT 1 FROM fraud_blocks WHERE label LIKE '%fp-reported%' OR reason LIKE '%fp-reported%'`,
    );
    expect(stored.rows).toHaveLength(0);

    const r = await attempt({
      kind: 'payment',
      userId: 'u-victim',
      amountMinor: 9_000,
      currency: 'EUR',
      cardFingerprint: 'fp-reported-stolen',
    });
    expect(r.decision).toBe('block');
    // What a blocked card touches is blocked with it (the user here; no device was given).
    expect(r.autoBlocked).toEqual(['user']);

    const audit = await fx.db.query<{ action: string; actor: string }>(
      `SELECT action, actor FROM audit_log WHERE action IN ('fraud.block', 'fraud.unblock') ORDER BY seq`,
    );
    expect(audit.rows).toEqual([{ action: 'fraud.block', actor: `user:${platformAdmin.userId}` }]);

    const listed = await api('GET', '/blocks', support);
    expect((listed.body.blocks as { id: string }[]).map((x) => x.id)).toContain(blocked.body.id);
    expectProblem(
      await api('DELETE', `/blocks/${blocked.body.id as string}`, platformAdminNoMfa),
      403,
      'MFA_STEP_UP_REQUIRED',
    );
    const lifted = await api('DELETE', `/blocks/${blocked.body.id as string}`, platformAdmin);
    expect(lifted.status).toBe(200);
    expect(lifted.body).toMatchObject({ active: false, liftedBy: `user:${platformAdmin.userId}` });
    expect(((await api('GET', '/blocks', support)).body.blocks as { id: string }[]).map((x) => x.id)).not.toContain(
      blocked.body.id,
    );
    expectProblem(
      await api('DELETE', '/blocks/00000000-0000-4000-8000-000000000000', platformAdmin),
      404,
      'FRAUD_BLOCK_NOT_FOUND',
    );
    const again = await attempt({
      kind: 'payment',
      userId: 'u-victim-2',
      amountMinor: 9_000,
      currency: 'EUR',
      cardFingerprint: 'fp-reported-stolen',
    });
    expect(again.reasons.map((x) => x.code)).not.toContain('blocklisted');

    expectProblem(
      await api('POST', '/block', platformAdmin, { subject: 'user', value: 'u-1', minutes: 60, reason: 'x' }),
      400,
      'VALIDATION_FAILED',
    );
    expectProblem(await api('POST', '/block', platformAdmin, { ...body, minutes: 0 }), 400, 'VALIDATION_FAILED');
  });

  it('analyzes a hypothetical or a stored attempt without storing anything', async () => {
    const before = [await count('risk_assessments'), await count('fraud_alerts'), await count('fraud_blocks')];
    const hypothetical = await api('POST', '/analyze', support, {
      kind: 'payment',
      tenantId: TENANT,
      userId: 'u-burst',
      amountMinor: 150,
      currency: 'EUR',
      deviceId: 'dev-burst-0001',
      cardFingerprint: 'fp-burst-9',
      at: new Date(T0 + 200_000).toISOString(),
    });
    expect(hypothetical.status, JSON.stringify(hypothetical.body)).toBe(200);
    expect(hypothetical.body.decision).toBe('block');
    expect(hypothetical.body.assessmentId).toBeNull();
    expect((hypothetical.body.wouldBlock as string[]).length).toBeGreaterThan(0);

    const stored = await attempt({
      kind: 'payment',
      userId: 'u-calm',
      amountMinor: 4_000,
      currency: 'EUR',
      reference: 'pay-123',
    });
    const before2 = [await count('risk_assessments'), await count('fraud_alerts'), await count('fraud_blocks')];
    expect(before2[0]).toBe(before[0]! + 1);
    const byId = await api('POST', '/analyze', support, { assessmentId: stored.id });
    expect(byId.body).toMatchObject({ decision: stored.decision, assessmentId: stored.id });
    const byRef = await api('POST', '/analyze', support, { kind: 'payment', reference: 'pay-123' });
    expect(byRef.body.assessmentId).toBe(stored.id);
    expect([await count('risk_assessments'), await count('fraud_alerts'), await count('fraud_blocks')]).toEqual(
      before2,
    );

    expectProblem(
      await api('POST', '/analyze', support, { assessmentId: '00000000-0000-4000-8000-000000000000' }),
      404,
      'FRAUD_ASSESSMENT_NOT_FOUND',
    );
    expectProblem(
      await api('POST', '/analyze', support, {
        kind: 'payment',
        tenantId: TENANT,
        userId: null,
        amountMinor: -5,
        currency: 'EUR',
      }),
      400,
      'VALIDATION_FAILED',
    );
    expectProblem(await api('POST', '/analyze', partnerAdmin, { assessmentId: stored.id }), 403, 'FORBIDDEN');
  });
});
