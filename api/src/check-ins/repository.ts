import type { Queryable } from '@clutch/db';
import type { OrderRow } from '../repair-work/order-access.js';

export interface CheckInRow {
  id: string;
  repair_order_id: string;
  partner_id: string;
  vehicle_id: string | null;
  odometer_km: number;
  notes: string;
  snapshot: Record<string, unknown> | string;
  checked_in_by: string;
  created_at: Date | string;
}

export interface PhotoMeta {
  id: string;
  position: number;
  content_type: string;
  size: number;
}

const CHECK_IN_COLUMNS = `id::text AS id, repair_order_id::text AS repair_order_id, partner_id::text AS partner_id,
  vehicle_id::text AS vehicle_id, odometer_km, notes, snapshot, checked_in_by, created_at`;

/** `check_ins` and `check_in_photos` (db/migrations/027_repair_work.sql). */
export class CheckInsRepository {
  constructor(private readonly q: Queryable) {}

  async insert(order: OrderRow, input: { odometerKm: number; notes: string; snapshot: unknown; by: string }) {
    const { rows } = await this.q.query<CheckInRow>(
      `INSERT INTO check_ins (tenant_id, partner_id, repair_order_id, customer_tenant_id, customer_user_id, vehicle_id,
                              odometer_km, notes, snapshot, checked_in_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10) RETURNING ${CHECK_IN_COLUMNS}`,
      [
        order.tenant_id,
        order.partner_id,
        order.id,
        order.customer_tenant_id,
        order.customer_user_id,
        order.vehicle_id,
        input.odometerKm,
        input.notes,
        JSON.stringify(input.snapshot),
        input.by,
      ],
    );
    return rows[0]!;
  }

  async addPhotos(
    checkIn: { id: string; tenantId: string; customerTenantId: string; customerUserId: string | null },
    photos: readonly { bytes: Buffer; contentType: string }[],
  ): Promise<void> {
    if (photos.length === 0) return;
    const { rows } = await this.q.query<{ next: number }>(
      'SELECT coalesce(max(position) + 1, 0)::int AS next FROM check_in_photos WHERE check_in_id = $1',
      [checkIn.id],
    );
    let position = rows[0]?.next ?? 0;
    for (const photo of photos) {
      await this.q.query(
        `INSERT INTO check_in_photos (tenant_id, check_in_id, customer_tenant_id, customer_user_id, position, content_type, bytes)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [
          checkIn.tenantId,
          checkIn.id,
          checkIn.customerTenantId,
          checkIn.customerUserId,
          position++,
          photo.contentType,
          photo.bytes,
        ],
      );
    }
  }

  async byOrder(repairOrderId: string): Promise<CheckInRow | undefined> {
    const { rows } = await this.q.query<CheckInRow>(
      `SELECT ${CHECK_IN_COLUMNS} FROM check_ins WHERE repair_order_id = $1`,
      [repairOrderId],
    );
    return rows[0];
  }

  async photos(checkInId: string): Promise<PhotoMeta[]> {
    const { rows } = await this.q.query<PhotoMeta>(
      `SELECT id::text AS id, position, content_type, octet_length(bytes) AS size
         FROM check_in_photos WHERE check_in_id = $1 ORDER BY position`,
      [checkInId],
    );
    return rows.map((r) => ({ ...r, size: Number(r.size) }));
  }

  async photo(checkInId: string, photoId: string): Promise<{ content_type: string; bytes: Uint8Array } | undefined> {
    const { rows } = await this.q.query<{ content_type: string; bytes: Uint8Array }>(
      'SELECT content_type, bytes FROM check_in_photos WHERE check_in_id = $1 AND id = $2',
      [checkInId, photoId],
    );
    return rows[0];
  }

  /**
   * The highest odometer any shop recorded for the vehicle at a check-in (run in the audited system
   * scope of the check-in: another shop's check-ins are not this shop's to read otherwise).
   */
  async lastCheckInOdometer(vehicleId: string): Promise<number | null> {
    const { rows } = await this.q.query<{ km: number | null }>(
      'SELECT max(odometer_km) AS km FROM check_ins WHERE vehicle_id = $1',
      [vehicleId],
    );
    return rows[0]?.km ?? null;
  }
}
