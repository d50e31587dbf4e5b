import { createPublicKey, randomBytes, verify as verifySignature, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { Queryable } from '@clutch/db';
import { mfaError } from './errors.js';
import type { UserRef } from './factors.js';

/**
 * Biometric sign-in for the mobile app. After a normal sign-in the app creates a P-256 key pair in
 * the phone's secure enclave (Secure Enclave on iOS, StrongBox/TEE on Android), guarded by the
 * phone's own fingerprint or face check, and registers the public half here. To sign in later it
 * asks for a challenge, has the user pass the biometric check to unlock the key, signs the
 * challenge (ECDSA with SHA-256, the ES256 of JOSE) and sends the signature.
 *
 * The same replay protection as passkeys: a challenge is random, bound to one device key, answered
 * once (deleted when checked, right or wrong) and short-lived.
 *
 * What is signed: the challenge string exactly as the server sent it (base64url text, UTF-8 bytes).
 * Signatures are accepted DER-encoded (what iOS `SecKeyCreateSignature` and Android's `Signature`
 * produce) or as the 64-byte r||s of JOSE/WebCrypto.
 */

export const BIOMETRIC_CHALLENGE_TTL_SECONDS = 120;
/** Phones per user; more is a sign of abuse, and each is a way in. */
export const MAX_DEVICE_KEYS_PER_USER = 10;

export interface DeviceKeySummary {
  id: string;
  deviceName: string;
  createdAt: Date;
  lastUsedAt: Date | null;
}

/**
 * Parses the public key an app sends: a JWK (`{kty: 'EC', crv: 'P-256', x, y}`) or base64 DER
 * SubjectPublicKeyInfo. Anything but a P-256 public key is refused.
 */
export function parseDevicePublicKey(input: unknown): KeyObject {
  // A JWK with `d` is a private key: it would parse (the public half is derived), but a phone that
  // sends its private key has lost it.
  if (typeof input === 'object' && input !== null && 'd' in input)
    throw mfaError('VALIDATION_FAILED', 'Send the public key only; the private key must never leave the phone');
  let key: KeyObject;
  try {
    key =
      typeof input === 'string'
        ? createPublicKey({ key: Buffer.from(input, 'base64'), format: 'der', type: 'spki' })
        : createPublicKey({ key: input as JsonWebKey, format: 'jwk' });
  } catch {
    throw mfaError('VALIDATION_FAILED', 'The public key is not a P-256 JWK or base64 DER SubjectPublicKeyInfo');
  }
  if (key.type !== 'public' || key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
    throw mfaError('VALIDATION_FAILED', 'The device key must be an EC P-256 public key (ES256)');
  return key;
}

export async function registerDeviceKey(
  q: Queryable,
  user: UserRef,
  publicKey: KeyObject,
  deviceName: string,
): Promise<DeviceKeySummary> {
  const { rows: count } = await q.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM biometric_device_keys WHERE user_id = $1 AND revoked_at IS NULL`,
    [user.userId],
  );
  if ((count[0]?.n ?? 0) >= MAX_DEVICE_KEYS_PER_USER)
    throw mfaError(
      'VALIDATION_FAILED',
      `At most ${MAX_DEVICE_KEYS_PER_USER} phones can sign in with biometrics; remove one first`,
    );
  const { rows } = await q.query<{ id: string; created_at: Date | string }>(
    `INSERT INTO biometric_device_keys (tenant_id, user_id, public_key, device_name)
     VALUES ($1, $2, $3, $4) RETURNING id, created_at`,
    [user.tenantId, user.userId, publicKey.export({ format: 'der', type: 'spki' }), deviceName],
  );
  return { id: rows[0]!.id, deviceName, createdAt: new Date(rows[0]!.created_at), lastUsedAt: null };
}

export async function listDeviceKeys(q: Queryable, userId: string): Promise<DeviceKeySummary[]> {
  const { rows } = await q.query<{
    id: string;
    device_name: string;
    created_at: Date | string;
    last_used_at: Date | string | null;
  }>(
    `SELECT id, device_name, created_at, last_used_at FROM biometric_device_keys
     WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at`,
    [userId],
  );
  return rows.map((r) => ({
    id: r.id,
    deviceName: r.device_name,
    createdAt: new Date(r.created_at),
    lastUsedAt: r.last_used_at === null ? null : new Date(r.last_used_at),
  }));
}

/** Stops a phone signing in (lost, sold); true when the user had that key. */
export async function revokeDeviceKey(q: Queryable, userId: string, id: string): Promise<boolean> {
  const { rows } = await q.query(
    `UPDATE biometric_device_keys SET revoked_at = now() WHERE user_id = $1 AND id = $2 AND revoked_at IS NULL RETURNING id`,
    [userId, id],
  );
  await q.query(`DELETE FROM mfa_challenges WHERE device_key_id = $1`, [id]);
  return rows.length === 1;
}

export interface BiometricChallenge {
  challengeId: string;
  /** Sign these characters (UTF-8) with the device key. */
  challenge: string;
  expiresAt: Date;
}

/**
 * A challenge for a registered, unrevoked device key; null for any other id (unknown and revoked
 * look the same to the caller). Runs before anyone is signed in, so in a system scope.
 */
export async function issueBiometricChallenge(q: Queryable, deviceKeyId: string): Promise<BiometricChallenge | null> {
  const { rows: keys } = await q.query<{ tenant_id: string; user_id: string }>(
    `SELECT k.tenant_id, k.user_id FROM biometric_device_keys k JOIN users u ON u.id = k.user_id
     WHERE k.id = $1 AND k.revoked_at IS NULL AND u.status = 'active'`,
    [deviceKeyId],
  );
  const key = keys[0];
  if (!key) return null;
  await q.query(`DELETE FROM mfa_challenges WHERE expires_at < now()`);
  const challenge = randomBytes(32).toString('base64url');
  const { rows } = await q.query<{ id: string; expires_at: Date | string }>(
    `INSERT INTO mfa_challenges (tenant_id, user_id, purpose, challenge, device_key_id, expires_at)
     VALUES ($1, $2, 'biometric', $3, $4, now() + make_interval(secs => $5)) RETURNING id, expires_at`,
    [key.tenant_id, key.user_id, challenge, deviceKeyId, BIOMETRIC_CHALLENGE_TTL_SECONDS],
  );
  return { challengeId: rows[0]!.id, challenge, expiresAt: new Date(rows[0]!.expires_at) };
}

export interface BiometricSignIn extends UserRef {
  deviceKeyId: string;
  deviceName: string;
}

/**
 * Checks a signed challenge. The challenge is deleted whatever the outcome (answered once); it must
 * belong to this device key and be unexpired, and the signature must verify with the key. Returns
 * who signed in, or null.
 */
export async function verifyBiometricSignature(
  q: Queryable,
  input: { deviceKeyId: string; challengeId: string; signature: string },
): Promise<BiometricSignIn | null> {
  const { rows } = await q.query<{ challenge: string; live: boolean }>(
    `DELETE FROM mfa_challenges WHERE id = $1 AND device_key_id = $2 AND purpose = 'biometric'
     RETURNING challenge, expires_at > now() AS live`,
    [input.challengeId, input.deviceKeyId],
  );
  const challenge = rows[0];
  if (!challenge?.live) return null;
  const { rows: keys } = await q.query<{
    public_key: Buffer | Uint8Array;
    tenant_id: string;
    user_id: string;
    device_name: string;
  }>(
    `SELECT k.public_key, k.tenant_id, k.user_id, k.device_name FROM biometric_device_keys k
     JOIN users u ON u.id = k.user_id
     WHERE k.id = $1 AND k.revoked_at IS NULL AND u.status = 'active'`,
    [input.deviceKeyId],
  );
  const key = keys[0];
  if (!key) return null;
  const signature = Buffer.from(input.signature, 'base64url');
  const publicKey = createPublicKey({ key: Buffer.from(key.public_key), format: 'der', type: 'spki' });
  let valid = false;
  try {
    valid = verifySignature(
      'sha256',
      Buffer.from(challenge.challenge, 'utf8'),
      {
        key: publicKey,
        dsaEncoding: signature.length === 64 ? 'ieee-p1363' : 'der',
      },
      signature,
    );
  } catch {
    valid = false;
  }
  if (!valid) return null;
  await q.query(`UPDATE biometric_device_keys SET last_used_at = now() WHERE id = $1`, [input.deviceKeyId]);
  return { userId: key.user_id, tenantId: key.tenant_id, deviceKeyId: input.deviceKeyId, deviceName: key.device_name };
}
