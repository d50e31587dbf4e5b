import type { Queryable } from '@clutch/db';
import { keysetPage, type Listing, type Page, type PageRequest } from '../http/pagination.js';

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

/** By name, as the list has always been ordered (clients show it as is); the id breaks ties. */
export const VEHICLES_LISTING: Listing = {
  name: 'vehicles',
  key: 'name',
  keyType: 'text',
  id: 'id',
  idType: 'uuid',
  order: 'asc',
};

// Device ids, presence (online when any device is) and the freshest device contact are folded in so
// the list needs one round trip. A lateral aggregate rather than GROUP BY: the select stays a plain
// subquery the keyset wrapper can flatten, so a page reads only its own vehicles' devices.
const SELECT_VEHICLES = `
  SELECT v.id, v.tenant_id, v.name, v.vin, v.make, v.model, v.model_year, d.device_ids, d.online, d.last_seen_at
    FROM vehicles v
   CROSS JOIN LATERAL (
         SELECT coalesce(array_agg(dv.id ORDER BY dv.id), '{}'::text[]) AS device_ids,
                coalesce(bool_or(dv.online), false) AS online,
                max(dv.last_seen_at) AS last_seen_at
           FROM devices dv
          WHERE dv.vehicle_id = v.id AND dv.tenant_id = v.tenant_id) d`;

export class VehiclesRepository {
  constructor(private readonly db: Queryable) {}

  list(page: PageRequest): Promise<Page<VehicleRow>> {
    return keysetPage<VehicleRow>(this.db, VEHICLES_LISTING, { sql: SELECT_VEHICLES }, page);
  }

  async findById(id: string): Promise<VehicleRow | undefined> {
    const { rows } = await this.db.query<VehicleRow>(`${SELECT_VEHICLES} WHERE v.id = $1`, [id]);
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
