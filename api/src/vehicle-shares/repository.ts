import type { Queryable } from '@clutch/db';
import { keysetPage, type Listing, type Page, type PageRequest } from '../http/pagination.js';

export interface ShareRow {
  id: string;
  tenant_id: string;
  vehicle_id: string;
  grantee_tenant_id: string;
  grantee_user_id: string | null;
  permissions: string[];
  valid_from: Date | string;
  valid_until: Date | string;
  created_by: string;
  created_at: Date | string;
  revoked_at: Date | string | null;
  revoked_by: string | null;
  active: boolean;
}

/** Newest first. */
export const SHARES_LISTING: Listing = { name: 'vehicle-shares', key: 'created_at', id: 'id', idType: 'uuid' };

const SHARE_COLUMNS = `id, tenant_id, vehicle_id::text AS vehicle_id, grantee_tenant_id,
  grantee_user_id::text AS grantee_user_id, permissions, valid_from, valid_until, created_by, created_at, revoked_at,
  revoked_by, (revoked_at IS NULL AND valid_from <= now() AND valid_until > now()) AS active`;

/** `vehicle_shares` (db/migrations/023_rbac.sql). */
export class VehicleSharesRepository {
  constructor(private readonly q: Queryable) {}

  /** What the transaction may see of a vehicle's shares (row-level security: the owner's side, or the grantee's). */
  list(vehicleId: string, page: PageRequest): Promise<Page<ShareRow>> {
    return keysetPage<ShareRow>(
      this.q,
      SHARES_LISTING,
      { sql: `SELECT ${SHARE_COLUMNS} FROM vehicle_shares WHERE vehicle_id = $1`, params: [vehicleId] },
      page,
    );
  }

  async insert(share: {
    tenantId: string;
    vehicleId: string;
    granteeTenantId: string;
    granteeUserId: string | null;
    permissions: readonly string[];
    validFrom: Date;
    validUntil: Date;
    createdBy: string;
  }): Promise<ShareRow> {
    const { rows } = await this.q.query<ShareRow>(
      `INSERT INTO vehicle_shares (tenant_id, vehicle_id, grantee_tenant_id, grantee_user_id, permissions, valid_from, valid_until, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${SHARE_COLUMNS}`,
      [
        share.tenantId,
        share.vehicleId,
        share.granteeTenantId,
        share.granteeUserId,
        [...share.permissions],
        share.validFrom,
        share.validUntil,
        share.createdBy,
      ],
    );
    return rows[0]!;
  }

  /** Ends a live share of the vehicle; undefined when there is none with that id (or it already ended). */
  async revoke(vehicleId: string, shareId: string, by: string): Promise<ShareRow | undefined> {
    const { rows } = await this.q.query<ShareRow>(
      `UPDATE vehicle_shares SET revoked_at = now(), revoked_by = $3
        WHERE id = $2 AND vehicle_id = $1 AND revoked_at IS NULL RETURNING ${SHARE_COLUMNS}`,
      [vehicleId, shareId, by],
    );
    return rows[0];
  }

  async tenantKind(tenantId: string): Promise<string | undefined> {
    const { rows } = await this.q.query<{ kind: string }>('SELECT kind FROM tenants WHERE id = $1', [tenantId]);
    return rows[0]?.kind;
  }

  async userInTenant(userId: string, tenantId: string): Promise<boolean> {
    const { rows } = await this.q.query<{ found: boolean }>(
      'SELECT EXISTS (SELECT 1 FROM users WHERE id = $1 AND tenant_id = $2) AS found',
      [userId, tenantId],
    );
    return rows[0]?.found === true;
  }
}
