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
// a page is one statement. As a scalar subquery, not a lateral join: PostgreSQL evaluates an
// expensive output column after ORDER BY ... LIMIT, so a page reads only its own vehicles' devices
// (a lateral join was computed for every vehicle of the tenant before the sort: 12 ms instead of 1
// for a page of 50 out of 1,000). One subquery for all three, as one JSON object: three scalar
// subqueries scanned each vehicle's devices three times, under row-level security each time (and
// ingest keeps rewriting those rows, so each scan also steps over their old versions). The time
// is formatted by the database as JavaScript prints it (milliseconds, UTC). The subquery's
// predicate has its own index, devices (vehicle_id, tenant_id) (migration 050): without it, a plan
// made before statistics exist walked the primary key over all the tenant's devices for every
// vehicle of the page. The ids are in byte order (COLLATE "C"): an order the primary key
// (tenant_id, id) cannot deliver, so the list's planner settings below (sorts disabled) cannot
// make PostgreSQL 16+ walk that key again to avoid sorting a vehicle's two or three ids.
const COLUMNS = 'v.id, v.tenant_id, v.name, v.vin, v.make, v.model, v.model_year';
const DEVICES = `(SELECT json_build_object(
                   'ids', coalesce(array_agg(dv.id ORDER BY dv.id COLLATE "C"), '{}'::text[]),
                   'online', coalesce(bool_or(dv.online), false),
                   'seen', to_char(max(dv.last_seen_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
            FROM devices dv WHERE dv.vehicle_id = v.id AND dv.tenant_id = v.tenant_id) AS devices`;

const SELECT_VEHICLE = `SELECT ${COLUMNS}, ${DEVICES} FROM vehicles v`;

const TENANT = `current_setting('app.tenant_id', true)`;

const CONFINED_OWNER = '(SELECT rbac_confined_owner())';

/**
 * The list, as three disjoint parts that together are exactly what row-level security shows
 * (docs/rbac.md "How the vehicle list reads"), each in the list's order:
 *
 * 1. a tenant's own vehicles when the transaction is not confined to an owner (partner staff and
 *    keys): read from vehicles (tenant_id, name, id) in order, so a page stops after its rows;
 * 2. in a tenant's transaction, the few found by primary key: for a confined owner their own cars
 *    (rbac_owned_vehicle_ids(), by vehicles (owner_user_id)) and every vehicle shared with them;
 *    for anyone else, other tenants' vehicles shared with the tenant (a share within the tenant
 *    is already in part 1). One array, one index condition: an OR of the two lists let the
 *    planner take the policies' `tenant_id = ... OR id = ...` for its bitmap instead, and read
 *    the tenant again;
 * 3. outside any tenant (administrators, system work), every vehicle the role reads.
 *
 * The parts only narrow what the policies let through, and a part that does not apply is cut by a
 * one-time filter before it reads anything. The policies' own condition, `tenant_id = ... OR id =
 * ANY (shared)` (migration 023), fits no single index: on all vehicles at once the planner read the
 * whole tenant and sorted it, however good its estimates. An owner's cars are not read through the
 * tenant's index, whose tenant (the consumer tenant) holds every owner's. keysetPage's cursor
 * condition and its ORDER BY ... LIMIT apply to the union: the condition goes down into each part
 * (an index condition in part 1), and the parts are merged in order. The SQL decides which parts
 * apply, from the settings the policies read, rather than asking the database first: that round
 * trip cost more than planning the parts that are cut.
 */
const LIST_VEHICLES = `
  SELECT ${COLUMNS}, ${DEVICES}
    FROM ((SELECT ${COLUMNS} FROM vehicles v
            WHERE v.tenant_id = ${TENANT} AND ${CONFINED_OWNER} IS NULL
            ORDER BY v.name, v.id)
          UNION ALL
          (SELECT ${COLUMNS} FROM vehicles v
            WHERE coalesce(${TENANT}, '') <> ''
              AND v.id = ANY ((SELECT CASE WHEN rbac_confined_owner() IS NULL THEN rbac_shared_vehicle_ids()
                                           ELSE rbac_owned_vehicle_ids() || rbac_shared_vehicle_ids() END)::uuid[])
              AND (v.tenant_id <> ${TENANT} OR ${CONFINED_OWNER} IS NOT NULL)
            ORDER BY v.name, v.id)
          UNION ALL
          (SELECT ${COLUMNS} FROM vehicles v
            WHERE coalesce(${TENANT}, '') = ''
            ORDER BY v.name, v.id)) AS v`;

/**
 * The planner settings of the list's statement. The estimates cannot see that part 1 stops early:
 * before a table's first ANALYZE (a new or newly grown tenant; PGlite, which has no autovacuum,
 * always) an equality is taken to keep 0.5 % of the rows, and the policies' conditions are counted
 * again on top (the tenant's twice, the owner confinement's `... IS NULL` at another 0.5 %), so the
 * page looks like the whole tenant and sorting it looks cheaper than reading in order. With sorts
 * disabled, part 1 takes its index in order and the parts are merged rather than sorted; parts 2
 * and 3 still sort (nothing else can order them): an owner's cars and the shared vehicles, or for
 * an administrator everything, as before. On PostgreSQL up to 17 a disabled node type adds a fixed penalty to the
 * plan's cost, which would start JIT compilation (hundreds of milliseconds): JIT off too. Local to
 * the transaction, and back to the defaults right after the statement, so the rest of the
 * caller's transaction plans as usual.
 */
const READ_IN_ORDER = 'SET LOCAL enable_sort = off; SET LOCAL jit = off';
const PLANNER_DEFAULTS = 'SET LOCAL enable_sort TO DEFAULT; SET LOCAL jit TO DEFAULT';

/** A row as SELECT_VEHICLE and LIST_VEHICLES return it: the devices' summary still in its JSON object. */
type SelectedRow = Omit<VehicleRow, 'device_ids' | 'online' | 'last_seen_at'> & {
  devices: string | { ids: string[]; online: boolean; seen: string | null };
};

function vehicleRow({ devices, ...row }: SelectedRow): VehicleRow {
  const d = typeof devices === 'string' ? (JSON.parse(devices) as Exclude<SelectedRow['devices'], string>) : devices;
  return { ...row, device_ids: d.ids, online: d.online === true, last_seen_at: d.seen };
}

export class VehiclesRepository {
  constructor(private readonly db: Queryable) {}

  /**
   * A page of the list. Meant for a transaction (a scope's): outside one, SET LOCAL has no effect
   * and the page is the same, planned from the estimates alone. No finally for the reset: when the
   * statement fails the transaction is aborted, and its end drops the settings anyway.
   */
  async list(page: PageRequest): Promise<Page<VehicleRow>> {
    await this.db.exec(READ_IN_ORDER);
    const found = await keysetPage<SelectedRow>(this.db, VEHICLES_LISTING, { sql: LIST_VEHICLES }, page);
    await this.db.exec(PLANNER_DEFAULTS);
    return { items: found.items.map(vehicleRow), next: found.next };
  }

  async findById(id: string): Promise<VehicleRow | undefined> {
    const { rows } = await this.db.query<SelectedRow>(`${SELECT_VEHICLE} WHERE v.id = $1`, [id]);
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
