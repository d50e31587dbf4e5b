import { isValidSegment } from '@clutch/contracts';
import type { Database, Queryable } from '@clutch/db';
import { identityError } from '../errors.js';
import { newSecret, secretMatches, sha256 } from '../secrets/secrets.js';

/** What a device presents in its MQTT CONNECT. The username is also its topic prefix. */
export interface DeviceLogin {
  username: string;
  password: string;
}

export function deviceUsername(tenantId: string, deviceId: string): string {
  return `${tenantId}/${deviceId}`;
}

/** `acme/pi-7` -> { tenantId: 'acme', deviceId: 'pi-7' }; null when it is not a device username. */
export function parseDeviceUsername(username: string): { tenantId: string; deviceId: string } | null {
  const parts = username.split('/');
  if (parts.length !== 2 || !isValidSegment(parts[0]!) || !isValidSegment(parts[1]!)) return null;
  return { tenantId: parts[0]!, deviceId: parts[1]! };
}

/**
 * Issues a fresh credential for an existing device and revokes any previous one in the same
 * transaction (rotation). The secret is returned once and only its digest is stored.
 */
export async function issueDeviceCredential(db: Database, tenantId: string, deviceId: string): Promise<DeviceLogin> {
  const secret = newSecret();
  await db.transaction(async (tx) => {
    const device = await tx.query('SELECT 1 FROM devices WHERE tenant_id = $1 AND id = $2 FOR UPDATE', [
      tenantId,
      deviceId,
    ]);
    if (device.rows.length === 0) throw identityError('DEVICE_NOT_FOUND', { tenantId, deviceId });
    await tx.query(
      'UPDATE device_credentials SET revoked_at = now() WHERE tenant_id = $1 AND device_id = $2 AND revoked_at IS NULL',
      [tenantId, deviceId],
    );
    await tx.query('INSERT INTO device_credentials (tenant_id, device_id, secret_sha256) VALUES ($1, $2, $3)', [
      tenantId,
      deviceId,
      sha256(secret),
    ]);
  });
  return { username: deviceUsername(tenantId, deviceId), password: secret };
}

/** True when the secret matches the device's live (unrevoked) credential. */
export async function verifyDeviceCredential(
  db: Queryable,
  tenantId: string,
  deviceId: string,
  secret: string,
): Promise<boolean> {
  const { rows } = await db.query<{ secret_sha256: Uint8Array }>(
    'SELECT secret_sha256 FROM device_credentials WHERE tenant_id = $1 AND device_id = $2 AND revoked_at IS NULL',
    [tenantId, deviceId],
  );
  return rows.some((r) => secretMatches(secret, r.secret_sha256));
}

/** Revokes the device's credential; returns false when it had none live. */
export async function revokeDeviceCredential(db: Queryable, tenantId: string, deviceId: string): Promise<boolean> {
  const result = await db.query(
    'UPDATE device_credentials SET revoked_at = now() WHERE tenant_id = $1 AND device_id = $2 AND revoked_at IS NULL',
    [tenantId, deviceId],
  );
  return result.rowCount > 0;
}

/**
 * Whether a device still has a live (unrevoked) credential: the test a certificate login must pass.
 *
 * A client certificate proves the device once held a key the CA signed, for as long as the
 * certificate is valid (years; the development CA has no CRL or OCSP). Revocation in Clutch is
 * `revoked_at` on `device_credentials` (`clutch-broker revoke-device`, the API), and the `devices`
 * row outlives it, so checking only `devices` would let a revoked device back in with its
 * certificate. Requiring the live credential row makes one revocation end both forms of login;
 * rotation keeps certificates working because it replaces the row with a new live one.
 */
export async function deviceCredentialIsLive(db: Queryable, tenantId: string, deviceId: string): Promise<boolean> {
  const { rows } = await db.query(
    'SELECT 1 FROM device_credentials WHERE tenant_id = $1 AND device_id = $2 AND revoked_at IS NULL LIMIT 1',
    [tenantId, deviceId],
  );
  return rows.length > 0;
}
