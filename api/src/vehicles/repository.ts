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
// the list needs one round trip. As a scalar subquery, not a lateral join: PostgreSQL evaluates an
// expensive output column after ORDER BY ... LIMIT, so a page reads only its own vehicles' devices
// (a lateral join was computed for every vehicle of the tenant before the sort: 12 ms instead of 1
// for a page of 50 out of 1,000). One subquery for all three, as one JSON object: three scalar
// subqueries scanned each vehicle's devices three times, under row-level security each time (and
// ingest keeps rewriting those rows, so each scan also steps over their old versions). The time
// is formatted by the database as JavaScript prints it (milliseconds, UTC). The select stays a plain
// subquery the keyset wrapper can flatten. The subquery's predicate has its own index,
// devices (vehicle_id, tenant_id) (migration 050): without it, a plan made before statistics exist
// walked the primary key over all the tenant's devices for every vehicle of the page.
const SELECT_VEHICLES = `
  SELECT v.id, v.tenant_id, v.name, v.vin, v.make, v.model, v.model_year,
         (SELECT json_build_object(
                   'ids', coalesce(array_agg(dv.id ORDER BY dv.id), '{}'::text[]),
                   'online', coalesce(bool_or(dv.online), false),
                   'seen', to_char(max(dv.last_seen_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
            FROM devices dv WHERE dv.vehicle_id = v.id AND dv.tenant_id = v.tenant_id) AS devices
    FROM vehicles v`;

/** A row as SELECT_VEHICLES returns it: the devices' summary still in its JSON object. */
type SelectedRow = Omit<VehicleRow, 'device_ids' | 'online' | 'last_seen_at'> & {
  devices: string | { ids: string[]; online: boolean; seen: string | null };
};

function vehicleRow({ devices, ...row }: SelectedRow): VehicleRow {
  const d = typeof devices === 'string' ? (JSON.parse(devices) as Exclude<SelectedRow['devices'], string>) : devices;
  return { ...row, device_ids: d.ids, online: d.online === true, last_seen_at: d.seen };
}

export class VehiclesRepository {
  constructor(private readonly db: Queryable) {}

  async list(page: PageRequest): Promise<Page<VehicleRow>> {
    const found = await keysetPage<SelectedRow>(this.db, VEHICLES_LISTING, { sql: SELECT_VEHICLES }, page);
    return { items: found.items.map(vehicleRow), next: found.next };
  }

  async findById(id: string): Promise<VehicleRow | undefined> {
    const { rows } = await this.db.query<SelectedRow>(`${SELECT_VEHICLES} WHERE v.id = $1`, [id]);
    return rows[0] && vehicleRow(rows[0]);
  }

  async exists(id: string): Promise<boolean> {
    const { rows } = await this.db.query<{ found: boolean }>(
      'SELECT EXISTS (SELECT 1 FROM vehicles WHERE id = $1) AS found',
      [id],
    );
    return rows[0]?.found === true;
  }
}
