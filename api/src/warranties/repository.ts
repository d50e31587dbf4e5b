import type { Queryable } from '@clutch/db';

export interface WarrantyRow {
  id: string;
  repair_order_id: string;
  estimate_line_id: string;
  vehicle_id: string | null;
  kind: 'labour' | 'part';
  description: string;
  starts_at: Date | string;
  ends_at: Date | string | null;
  odometer_start_km: number | null;
  odometer_end_km: number | null;
}

/** `warranties` (db/migrations/027_repair_work.sql): written by the delivery trigger, read here. */
export class WarrantiesRepository {
  constructor(private readonly q: Queryable) {}

  async byOrder(repairOrderId: string): Promise<WarrantyRow[]> {
    const { rows } = await this.q.query<WarrantyRow>(
      `SELECT w.id::text AS id, w.repair_order_id::text AS repair_order_id, w.estimate_line_id::text AS estimate_line_id,
              w.vehicle_id::text AS vehicle_id, w.kind, w.description, w.starts_at, w.ends_at, w.odometer_start_km,
              w.odometer_end_km
         FROM warranties w
         JOIN estimate_lines l ON l.id = w.estimate_line_id
        WHERE w.repair_order_id = $1
        ORDER BY l.estimate_id, l.position`,
      [repairOrderId],
    );
    return rows;
  }
}
