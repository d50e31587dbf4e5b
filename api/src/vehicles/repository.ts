import type { Queryable } from '@clutch/db';

export interface VehicleRow {
  id: string;
  tenant_id: string;
  name: string;
  vin: string | null;
  make: string | null;
  model: string | null;
  model_year: number | null;
  device_ids: string[];
  online: boolean;
  last_seen_at: Date | string | null;
}

// Device ids, presence (online when any device is) and the freshest device contact are folded in so the list needs one round trip.
const SELECT_VEHICLES = `
  SELECT v.id, v.tenant_id, v.name, v.vin, v.make, v.model, v.model_year,
         coalesce(array_agg(d.id ORDER BY d.id) FILTER (WHERE d.id IS NOT NULL), '{}'::text[]) AS device_ids,
         coalesce(bool_or(d.online), false) AS online,
         max(d.last_seen_at) AS last_seen_at
    FROM vehicles v
    LEFT JOIN devices d ON d.vehicle_id = v.id AND d.tenant_id = v.tenant_id`;

export class VehiclesRepository {
  constructor(private readonly db: Queryable) {}

  async list(limit: number): Promise<VehicleRow[]> {
    const { rows } = await this.db.query<VehicleRow>(
      `${SELECT_VEHICLES}
       GROUP BY v.id
       ORDER BY v.name, v.id
       LIMIT $1`,
      [limit],
    );
    return rows;
  }

  async findById(id: string): Promise<VehicleRow | undefined> {
    const { rows } = await this.db.query<VehicleRow>(
      `${SELECT_VEHICLES}
       WHERE v.id = $1
       GROUP BY v.id`,
      [id],
    );
    return rows[0];
  }

  async exists(id: string): Promise<boolean> {
    const { rows } = await this.db.query<{ found: boolean }>(
      'SELECT EXISTS (SELECT 1 FROM vehicles WHERE id = $1) AS found',
      [id],
    );
    return rows[0]?.found === true;
  }
}
