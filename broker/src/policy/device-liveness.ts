import type { Queryable } from '@clutch/db';

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
  const { rows } = await db.query('SELECT 1 FROM device_credentials WHERE tenant_id = $1 AND device_id = $2 AND revoked_at IS NULL LIMIT 1', [tenantId, deviceId]);
  return rows.length > 0;
}
