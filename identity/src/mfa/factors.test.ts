import { createHmac } from 'node:crypto';
import type { Database, Queryable } from '@clutch/db';
import { testDatabases } from '@clutch/db/testing';
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { generateMfaKey } from './crypto.js';
import { enrolledFactors } from './enrolled.js';
import {
  checkCode,
  checkTotp,
  CODE_SENDS_PER_WINDOW,
  confirmChannelFactor,
  issueCode,
  listFactors,
  ONE_TIME_CODE_MAX_ATTEMPTS,
  remainingBackupCodes,
  removeFactor,
  replaceBackupCodes,
  startChannelSetup,
  startTotpSetup,
  useBackupCode,
  type UserRef,
} from './factors.js';

const ANA: UserRef = { userId: '11111111-1111-4111-8111-111111111111', tenantId: 'consumers' };
const BEN: UserRef = { userId: '22222222-2222-4222-8222-222222222222', tenantId: 'consumers' };

async function seedUsers(db: Database): Promise<void> {
  await db.query(
    `INSERT INTO users (id, tenant_id, email, display_name) VALUES
       ($1, 'consumers', 'ana@example.com', 'Ana'), ($2, 'consumers', 'ben@example.com', 'Ben')`,
    [ANA.userId, BEN.userId],
  );
}

const codeAt = (secret: string, seconds: number): Promise<string> => generate({ secret, epoch: seconds });

describe.each(testDatabases(inject('pgAdminUrl'), 'mfa_factors'))('MFA factors: %s', (_engine, open) => {
  let db: Database;
  const key = generateMfaKey();
  /** As the signed-in user's requests run: clutch_app in the consumer tenant (forced RLS). */
  const asUser = <T>(fn: (q: Queryable) => Promise<T>): Promise<T> => db.withTenant('consumers', fn);

  beforeAll(async () => {
    db = await open({ signals: false, seed: seedUsers });
  });
  afterAll(async () => {
    await db?.close();
  });

  it('sets up TOTP: pending until a first valid code, secret encrypted at rest, codes never accepted twice', async () => {
    const setup = await asUser((q) => startTotpSetup(q, key, { ...ANA, issuer: 'Clutch', account: 'ana@example.com' }));
    expect(setup.uri).toContain(`secret=${setup.secret}`);
    expect(setup.qrSvg).toMatch(/^<svg/);
    expect(await asUser((q) => enrolledFactors(q, ANA.userId))).toEqual([]);

    const { rows } = await db.query<{ secret: Buffer }>(`SELECT secret FROM mfa_factors WHERE user_id = $1`, [
      ANA.userId,
    ]);
    expect(Buffer.from(rows[0]!.secret).includes(Buffer.from(setup.secret))).toBe(false);

    const now = Math.floor(Date.now() / 1000);
    const code = await codeAt(setup.secret, now);
    // Not confirmed yet: a sign-in check finds no factor; the confirming check accepts.
    expect(await asUser((q) => checkTotp(q, key, ANA.userId, code, { confirming: false }))).toBe('none');
    expect(await asUser((q) => checkTotp(q, key, ANA.userId, code, { confirming: true }))).toBe('accepted');
    expect(await asUser((q) => enrolledFactors(q, ANA.userId))).toEqual(['totp']);
    // Replay of the same code, in the same step: refused.
    expect(await asUser((q) => checkTotp(q, key, ANA.userId, code, { confirming: false }))).toBe('rejected');
    // The next step's code works once (within the ±1 window).
    const next = await codeAt(setup.secret, now + 30);
    expect(await asUser((q) => checkTotp(q, key, ANA.userId, next, { confirming: false }))).toBe('accepted');
    expect(await asUser((q) => checkTotp(q, key, ANA.userId, next, { confirming: false }))).toBe('rejected');
    // A second setup while one is confirmed is refused.
    await expect(
      asUser((q) => startTotpSetup(q, key, { ...ANA, issuer: 'Clutch', account: 'ana@example.com' })),
    ).rejects.toMatchObject({ code: 'MFA_ALREADY_ENROLLED' });
  });

  it('issues 6-digit codes stored only as keyed digests, single use, a limited number of attempts', async () => {
    await asUser((q) => startChannelSetup(q, BEN, 'email'));
    const issued = await asUser((q) => issueCode(q, key, BEN, 'email', 'setup'));
    if (!('code' in issued)) throw new Error('throttled');
    expect(issued.code).toMatch(/^\d{6}$/);
    expect(issued.expiresAt.getTime() - Date.now()).toBeGreaterThan(4 * 60_000);
    expect(issued.expiresAt.getTime() - Date.now()).toBeLessThanOrEqual(5 * 60_000 + 5_000);
    const stored = await db.query<{ code_hash: Buffer }>(
      `SELECT code_hash FROM mfa_one_time_codes WHERE user_id = $1`,
      [BEN.userId],
    );
    // Neither the code nor its plain SHA-256 is stored.
    const plain = createHmac('sha256', '').update(issued.code).digest();
    expect(Buffer.from(stored.rows[0]!.code_hash).includes(Buffer.from(issued.code))).toBe(false);
    expect(Buffer.from(stored.rows[0]!.code_hash).equals(plain)).toBe(false);

    const wrong = issued.code === '000000' ? '000001' : '000000';
    expect(await asUser((q) => checkCode(q, key, BEN.userId, 'email', 'login', issued.code))).toBe('none');
    expect(await asUser((q) => checkCode(q, key, BEN.userId, 'email', 'setup', wrong))).toBe('rejected');
    expect(await asUser((q) => checkCode(q, key, BEN.userId, 'email', 'setup', issued.code))).toBe('accepted');
    expect(await asUser((q) => checkCode(q, key, BEN.userId, 'email', 'setup', issued.code))).toBe('none');
    await asUser((q) => confirmChannelFactor(q, BEN.userId, 'email'));
    expect(await asUser((q) => enrolledFactors(q, BEN.userId))).toEqual(['email']);

    // Attempts: after the maximum of wrong guesses the code is used up, even the right one fails.
    const again = await asUser((q) => issueCode(q, key, BEN, 'email', 'login'));
    if (!('code' in again)) throw new Error('throttled');
    const bad = again.code === '999999' ? '999998' : '999999';
    for (let i = 0; i < ONE_TIME_CODE_MAX_ATTEMPTS; i++) {
      expect(await asUser((q) => checkCode(q, key, BEN.userId, 'email', 'login', bad))).toBe('rejected');
    }
    expect(await asUser((q) => checkCode(q, key, BEN.userId, 'email', 'login', again.code))).toBe('none');
  });

  it('lets only the latest code work, refuses expired ones, and throttles sending', async () => {
    const first = await asUser((q) => issueCode(q, key, BEN, 'email', 'step-up'));
    const second = await asUser((q) => issueCode(q, key, BEN, 'email', 'step-up'));
    if (!('code' in first) || !('code' in second)) throw new Error('throttled');
    if (first.code !== second.code) {
      expect(await asUser((q) => checkCode(q, key, BEN.userId, 'email', 'step-up', first.code))).toBe('rejected');
    }
    await db.query(`UPDATE mfa_one_time_codes SET expires_at = now() - interval '1 second' WHERE user_id = $1`, [
      BEN.userId,
    ]);
    expect(await asUser((q) => checkCode(q, key, BEN.userId, 'email', 'step-up', second.code))).toBe('none');
    // Ben has now been sent CODE_SENDS_PER_WINDOW codes within the window: the next is throttled.
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM mfa_one_time_codes WHERE user_id = $1 AND channel = 'email'`,
      [BEN.userId],
    );
    expect(rows[0]!.n).toBe(CODE_SENDS_PER_WINDOW - 1);
    expect('code' in (await asUser((q) => issueCode(q, key, BEN, 'email', 'step-up')))).toBe(true);
    const throttled = await asUser((q) => issueCode(q, key, BEN, 'email', 'step-up'));
    expect(throttled).toEqual({ throttledForSeconds: expect.any(Number) });
  });

  it('backup codes: ten, hashed, each works once, a new set invalidates the old one', async () => {
    const codes = await asUser((q) => replaceBackupCodes(q, key, ANA));
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const c of codes) expect(c).toMatch(/^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$/);
    const { rows } = await db.query<{ code_hash: Buffer }>(
      `SELECT code_hash FROM mfa_backup_codes WHERE user_id = $1`,
      [ANA.userId],
    );
    expect(rows.some((r) => Buffer.from(r.code_hash).toString('latin1').includes(codes[0]!))).toBe(false);

    // Typed loosely: lower case, without the dash, with spaces.
    const typed = ` ${codes[0]!.toLowerCase().replace('-', ' ')} `;
    expect(await asUser((q) => useBackupCode(q, key, ANA.userId, typed))).toBe(true);
    expect(await asUser((q) => useBackupCode(q, key, ANA.userId, codes[0]!))).toBe(false);
    expect(await asUser((q) => useBackupCode(q, key, BEN.userId, codes[1]!))).toBe(false); // another user's code
    expect(await asUser((q) => remainingBackupCodes(q, ANA.userId))).toBe(9);
    expect(await asUser((q) => enrolledFactors(q, ANA.userId))).toEqual(['totp', 'backup_code']);

    const fresh = await asUser((q) => replaceBackupCodes(q, key, ANA));
    expect(await asUser((q) => useBackupCode(q, key, ANA.userId, codes[1]!))).toBe(false);
    expect(await asUser((q) => useBackupCode(q, key, ANA.userId, fresh[0]!))).toBe(true);
  });

  it('keeps one tenant out of another tenant’s factors (forced row-level security)', async () => {
    const seen = await db.withTenant('platform', (q) => listFactors(q, ANA.userId));
    expect(seen).toEqual([]);
    expect(await db.withTenant('platform', (q) => enrolledFactors(q, ANA.userId))).toEqual([]);
    expect((await asUser((q) => listFactors(q, ANA.userId))).map((f) => f.kind)).toEqual(['totp']);
  });

  it('removing the last factor removes the backup codes too', async () => {
    expect(await asUser((q) => removeFactor(q, ANA.userId, 'sms'))).toBe(false);
    expect(await asUser((q) => removeFactor(q, ANA.userId, 'totp'))).toBe(true);
    expect(await asUser((q) => enrolledFactors(q, ANA.userId))).toEqual([]);
    expect(await asUser((q) => remainingBackupCodes(q, ANA.userId))).toBe(0);
  });

  it('an SMS factor needs a valid E.164 number', async () => {
    await expect(asUser((q) => startChannelSetup(q, ANA, 'sms'))).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(asUser((q) => startChannelSetup(q, ANA, 'sms', '0044 7700'))).rejects.toThrow();
    await asUser((q) => startChannelSetup(q, ANA, 'sms', '+447700900123'));
    const [sms] = await asUser((q) => listFactors(q, ANA.userId));
    expect(sms).toMatchObject({ kind: 'sms', confirmed: false, phone: '+44•••0123' });
  });
});
