import type { Queryable } from '@clutch/db';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { decodeClientDataJSON } from '@simplewebauthn/server/helpers';
import type { CheckOutcome, UserRef } from './factors.js';

/**
 * WebAuthn passkeys as a second factor (and for step-up), through SimpleWebAuthn. The relying party
 * (rpID: the site's domain; origins: where the pages are served) comes from configuration: a passkey
 * made for one rpID never works for another, so changing it in production orphans every passkey.
 */
export interface WebAuthnConfig {
  rpID: string;
  rpName: string;
  /** Every origin pages run on (`https://clutch.example`; `http://localhost:3000` in development). */
  origins: readonly string[];
}

/** How long a ceremony's challenge can be answered: the browser's own timeout plus slack. */
export const WEBAUTHN_CHALLENGE_TTL_SECONDS = 300;
const CEREMONY_TIMEOUT_MS = 120_000;

export interface PasskeySummary {
  id: string;
  name: string;
  transports: string[];
  backedUp: boolean;
  createdAt: Date;
  lastUsedAt: Date | null;
}

interface CredentialRow {
  id: string;
  public_key: Buffer | Uint8Array;
  counter: string;
  transports: string[];
}

export async function listPasskeys(q: Queryable, userId: string): Promise<PasskeySummary[]> {
  const { rows } = await q.query<{
    id: string;
    name: string;
    transports: string[];
    backed_up: boolean;
    created_at: Date | string;
    last_used_at: Date | string | null;
  }>(
    `SELECT id, name, transports, backed_up, created_at, last_used_at FROM webauthn_credentials
     WHERE user_id = $1 ORDER BY created_at`,
    [userId],
  );
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    transports: r.transports,
    backedUp: r.backed_up,
    createdAt: new Date(r.created_at),
    lastUsedAt: r.last_used_at === null ? null : new Date(r.last_used_at),
  }));
}

async function credentialsOf(q: Queryable, userId: string): Promise<CredentialRow[]> {
  const { rows } = await q.query<CredentialRow>(
    `SELECT id, public_key, counter::text, transports FROM webauthn_credentials WHERE user_id = $1`,
    [userId],
  );
  return rows;
}

async function storeChallenge(
  q: Queryable,
  user: UserRef,
  purpose: 'webauthn-registration' | 'webauthn-authentication',
  challenge: string,
): Promise<void> {
  // Housekeeping on the way: expired challenges of anyone, and earlier ones of this ceremony.
  await q.query(`DELETE FROM mfa_challenges WHERE expires_at < now()`);
  await q.query(`DELETE FROM mfa_challenges WHERE user_id = $1 AND purpose = $2`, [user.userId, purpose]);
  await q.query(
    `INSERT INTO mfa_challenges (tenant_id, user_id, purpose, challenge, expires_at)
     VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))`,
    [user.tenantId, user.userId, purpose, challenge, WEBAUTHN_CHALLENGE_TTL_SECONDS],
  );
}

/**
 * Uses up the challenge the response claims to answer: true when it was this user's live challenge
 * for this ceremony. Deleted either way it is checked, so a challenge is answered at most once.
 */
async function consumeChallenge(
  q: Queryable,
  userId: string,
  purpose: 'webauthn-registration' | 'webauthn-authentication',
  clientDataJSON: string,
): Promise<string | null> {
  let challenge: string;
  try {
    challenge = decodeClientDataJSON(clientDataJSON).challenge;
  } catch {
    return null;
  }
  if (typeof challenge !== 'string' || challenge.length > 128) return null;
  const { rows } = await q.query<{ live: boolean }>(
    `DELETE FROM mfa_challenges WHERE user_id = $1 AND purpose = $2 AND challenge = $3
     RETURNING expires_at > now() AS live`,
    [userId, purpose, challenge],
  );
  return rows[0]?.live ? challenge : null;
}

/** Options for `navigator.credentials.create()`; the user's existing passkeys are excluded. */
export async function passkeyRegistrationOptions(
  q: Queryable,
  config: WebAuthnConfig,
  user: UserRef & { userName: string; displayName: string },
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const existing = await credentialsOf(q, user.userId);
  const options = await generateRegistrationOptions({
    rpName: config.rpName,
    rpID: config.rpID,
    userName: user.userName,
    userDisplayName: user.displayName,
    userID: new TextEncoder().encode(user.userId),
    timeout: CEREMONY_TIMEOUT_MS,
    attestationType: 'none',
    excludeCredentials: existing.map((c) => ({ id: c.id, transports: c.transports })),
    authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
  });
  await storeChallenge(q, user, 'webauthn-registration', options.challenge);
  return options;
}

/** Verifies a registration response and stores the passkey; null (challenge used up) when it fails. */
export async function finishPasskeyRegistration(
  q: Queryable,
  config: WebAuthnConfig,
  user: UserRef,
  response: RegistrationResponseJSON,
  name: string,
): Promise<{ credentialId: string } | null> {
  const challenge = await consumeChallenge(q, user.userId, 'webauthn-registration', response.response.clientDataJSON);
  if (challenge === null) return null;
  let verified;
  try {
    verified = await verifyRegistrationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: [...config.origins],
      expectedRPID: config.rpID,
      requireUserVerification: false,
    });
  } catch {
    return null;
  }
  if (!verified.verified) return null;
  const info = verified.registrationInfo;
  const { rows } = await q.query<{ id: string }>(
    `INSERT INTO webauthn_credentials (id, tenant_id, user_id, public_key, counter, transports, device_type, backed_up, name)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (id) DO NOTHING RETURNING id`,
    [
      info.credential.id,
      user.tenantId,
      user.userId,
      Buffer.from(info.credential.publicKey),
      info.credential.counter,
      info.credential.transports ?? response.response.transports ?? [],
      info.credentialDeviceType,
      info.credentialBackedUp,
      name,
    ],
  );
  return rows[0] ? { credentialId: rows[0].id } : null;
}

/** Options for `navigator.credentials.get()` limited to the user's passkeys; null when they have none. */
export async function passkeyAuthenticationOptions(
  q: Queryable,
  config: WebAuthnConfig,
  user: UserRef,
): Promise<PublicKeyCredentialRequestOptionsJSON | null> {
  const existing = await credentialsOf(q, user.userId);
  if (existing.length === 0) return null;
  const options = await generateAuthenticationOptions({
    rpID: config.rpID,
    timeout: CEREMONY_TIMEOUT_MS,
    allowCredentials: existing.map((c) => ({
      id: c.id,
      transports: c.transports,
    })),
    userVerification: 'preferred',
  });
  await storeChallenge(q, user, 'webauthn-authentication', options.challenge);
  return options;
}

/**
 * Verifies an assertion by one of the user's passkeys. The signature counter must move forward
 * (authenticators that do not count send 0 every time, which is allowed): a counter that goes back
 * means a cloned authenticator and is refused; the update is conditional, so two concurrent uses of
 * one assertion cannot both pass.
 */
export async function finishPasskeyAuthentication(
  q: Queryable,
  config: WebAuthnConfig,
  userId: string,
  response: AuthenticationResponseJSON,
): Promise<CheckOutcome> {
  const challenge = await consumeChallenge(q, userId, 'webauthn-authentication', response.response.clientDataJSON);
  if (challenge === null) return 'rejected';
  const { rows } = await q.query<CredentialRow>(
    `SELECT id, public_key, counter::text, transports FROM webauthn_credentials WHERE user_id = $1 AND id = $2`,
    [userId, response.id],
  );
  const stored = rows[0];
  if (!stored) return 'rejected';
  let newCounter: number;
  try {
    const verified = await verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: [...config.origins],
      expectedRPID: config.rpID,
      credential: {
        id: stored.id,
        publicKey: new Uint8Array(stored.public_key),
        counter: Number(stored.counter),
        transports: stored.transports,
      },
      requireUserVerification: false,
    });
    if (!verified.verified) return 'rejected';
    newCounter = verified.authenticationInfo.newCounter;
  } catch {
    return 'rejected';
  }
  const { rows: moved } = await q.query(
    `UPDATE webauthn_credentials SET counter = $3, last_used_at = now()
     WHERE user_id = $1 AND id = $2 AND (counter < $3 OR (counter = 0 AND $3 = 0)) RETURNING id`,
    [userId, stored.id, newCounter],
  );
  return moved.length === 1 ? 'accepted' : 'rejected';
}
