import type { Database, Queryable } from '@clutch/db';
import { testDatabases } from '@clutch/db/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { enrolledFactors } from './enrolled.js';
import type { UserRef } from './factors.js';
import { createSoftAuthenticator } from './soft-authenticator.js';
import {
  finishPasskeyAuthentication,
  finishPasskeyRegistration,
  listPasskeys,
  passkeyAuthenticationOptions,
  passkeyRegistrationOptions,
  type WebAuthnConfig,
} from './webauthn.js';

const ANA: UserRef = { userId: '33333333-3333-4333-8333-333333333333', tenantId: 'consumers' };
const CONFIG: WebAuthnConfig = { rpID: 'localhost', rpName: 'Clutch', origins: ['http://localhost:3000'] };
const ORIGIN = 'http://localhost:3000';

describe.each(testDatabases(inject('pgAdminUrl'), 'mfa_webauthn'))('WebAuthn passkeys: %s', (_engine, open) => {
  let db: Database;
  const asUser = <T>(fn: (q: Queryable) => Promise<T>): Promise<T> => db.withTenant('consumers', fn);
  const authenticator = createSoftAuthenticator();

  beforeAll(async () => {
    db = await open({
      signals: false,
      seed: async (d) =>
        void (await d.query(
          `INSERT INTO users (id, tenant_id, email, display_name) VALUES ($1, 'consumers', 'ana@example.com', 'Ana')`,
          [ANA.userId],
        )),
    });
  });
  afterAll(async () => {
    await db?.close();
  });

  const register = async (auth = authenticator): Promise<string | null> => {
    const options = await asUser((q) =>
      passkeyRegistrationOptions(q, CONFIG, { ...ANA, userName: 'ana@example.com', displayName: 'Ana' }),
    );
    const response = auth.register(options, ORIGIN);
    const done = await asUser((q) => finishPasskeyRegistration(q, CONFIG, ANA, response, 'Laptop'));
    return done?.credentialId ?? null;
  };

  const authenticate = async (auth = authenticator, origin = ORIGIN): Promise<string> => {
    const options = await asUser((q) => passkeyAuthenticationOptions(q, CONFIG, ANA));
    if (!options) throw new Error('no passkeys');
    const response = auth.authenticate(options, origin);
    return asUser((q) => finishPasskeyAuthentication(q, CONFIG, ANA.userId, response));
  };

  it('has no authentication options before a passkey exists', async () => {
    expect(await asUser((q) => passkeyAuthenticationOptions(q, CONFIG, ANA))).toBeNull();
  });

  it('registers a passkey (id, public key, counter, transports) and counts it as a factor', async () => {
    const options = await asUser((q) =>
      passkeyRegistrationOptions(q, CONFIG, { ...ANA, userName: 'ana@example.com', displayName: 'Ana' }),
    );
    expect(options.rp).toEqual({ name: 'Clutch', id: 'localhost' });
    expect(options.challenge.length).toBeGreaterThanOrEqual(16);
    const response = authenticator.register(options, ORIGIN);
    const done = await asUser((q) => finishPasskeyRegistration(q, CONFIG, ANA, response, 'Laptop'));
    expect(done).toEqual({ credentialId: authenticator.credentialId });
    // The challenge was used up: the same response does not register twice.
    expect(await asUser((q) => finishPasskeyRegistration(q, CONFIG, ANA, response, 'Laptop'))).toBeNull();

    const { rows } = await db.query<{ counter: string; transports: string[]; public_key: Buffer }>(
      `SELECT counter::text, transports, public_key FROM webauthn_credentials WHERE id = $1`,
      [authenticator.credentialId],
    );
    expect(rows[0]).toMatchObject({ counter: '0', transports: ['internal'] });
    expect(Buffer.from(rows[0]!.public_key).length).toBeGreaterThan(60);
    expect(await asUser((q) => listPasskeys(q, ANA.userId))).toEqual([
      expect.objectContaining({ id: authenticator.credentialId, name: 'Laptop', transports: ['internal'] }),
    ]);
    expect(await asUser((q) => enrolledFactors(q, ANA.userId))).toEqual(['webauthn']);
  });

  it('authenticates, and refuses the same assertion twice (single-use challenge)', async () => {
    const options = await asUser((q) => passkeyAuthenticationOptions(q, CONFIG, ANA));
    expect(options!.allowCredentials).toEqual([
      { id: authenticator.credentialId, type: 'public-key', transports: ['internal'] },
    ]);
    const response = authenticator.authenticate(options!, ORIGIN);
    expect(await asUser((q) => finishPasskeyAuthentication(q, CONFIG, ANA.userId, response))).toBe('accepted');
    expect(await asUser((q) => finishPasskeyAuthentication(q, CONFIG, ANA.userId, response))).toBe('rejected');
  });

  it('refuses a signature counter that goes back (a cloned authenticator)', async () => {
    expect(await authenticate()).toBe('accepted');
    const { rows } = await db.query<{ counter: string }>(
      `SELECT counter::text FROM webauthn_credentials WHERE id = $1`,
      [authenticator.credentialId],
    );
    authenticator.counter = Number(rows[0]!.counter); // same as stored: not forward
    expect(await authenticate()).toBe('rejected');
    authenticator.counter = 1;
    expect(await authenticate()).toBe('rejected');
    authenticator.counter = Number(rows[0]!.counter) + 10;
    expect(await authenticate()).toBe('accepted');
  });

  it('refuses another origin, an expired challenge, and an unknown authenticator', async () => {
    expect(await authenticate(authenticator, 'https://evil.example')).toBe('rejected');

    const options = await asUser((q) => passkeyAuthenticationOptions(q, CONFIG, ANA));
    await db.query(`UPDATE mfa_challenges SET expires_at = now() - interval '1 second' WHERE user_id = $1`, [
      ANA.userId,
    ]);
    const late = authenticator.authenticate(options!, ORIGIN);
    expect(await asUser((q) => finishPasskeyAuthentication(q, CONFIG, ANA.userId, late))).toBe('rejected');

    const stranger = createSoftAuthenticator();
    expect(await authenticate(stranger)).toBe('rejected');
  });

  it('excludes registered passkeys from new registrations and registers a second one', async () => {
    const options = await asUser((q) =>
      passkeyRegistrationOptions(q, CONFIG, { ...ANA, userName: 'ana@example.com', displayName: 'Ana' }),
    );
    expect(options.excludeCredentials?.map((c) => c.id)).toEqual([authenticator.credentialId]);
    const second = createSoftAuthenticator();
    expect(await register(second)).toBe(second.credentialId);
    expect(await authenticate(second)).toBe('accepted');
  });
});
