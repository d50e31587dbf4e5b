import type { Queryable } from '@clutch/db';
import { appendLiveEvents } from '@clutch/jobs';
import { calibrationStatus, compactVehicleNormal, parseVehicleNormal, type VehicleNormal } from '@clutch/ml';

/**
 * Owner of `vehicle_normals` (migration 042): each vehicle's own normal, as the online scorer
 * learned it, written by the scoring consumer (scoring/consumer.ts) and by imports that seed it from
 * a vehicle's history. The API reads it for the vehicle's calibration (api/src/vehicle-health/).
 */

export interface VehicleNormalEntry {
  tenantId: string;
  vehicleId: string;
  normal: VehicleNormal;
  /**
   * Write only over this revision (the one read or written last; null: only if there is no row
   * yet). Absent: write whatever is stored (an import that has just read it).
   */
  revision?: number | null;
}

/** A stored normal and its revision; `normal` null when the row does not parse. */
export interface StoredNormal {
  normal: VehicleNormal | null;
  revision: number;
}

interface StoredRow {
  vehicle_id: string;
  state: unknown;
  revision: number | string;
}

/** The stored normal of one vehicle, null when it has none; throws ML_NORMAL_INVALID when the row does not parse. */
export async function loadVehicleNormal(tx: Queryable, vehicleId: string): Promise<VehicleNormal | null> {
  const { rows } = await tx.query<StoredRow>(
    `SELECT vehicle_id::text AS vehicle_id, state, revision FROM vehicle_normals WHERE vehicle_id = $1`,
    [vehicleId],
  );
  const row = rows[0];
  return row ? parseVehicleNormal(stateOf(row)) : null;
}

/**
 * The stored normals of several vehicles in one query, with their revisions (vehicles without one
 * are absent from the map). A row that does not parse (written by a newer build, or damaged) comes
 * back with `normal: null` and is reported through `invalid`: the vehicle calibrates again rather
 * than stop being scored.
 */
export async function loadVehicleNormals(
  tx: Queryable,
  vehicleIds: readonly string[],
  invalid?: (vehicleId: string, err: Error) => void,
): Promise<Map<string, StoredNormal>> {
  const normals = new Map<string, StoredNormal>();
  if (vehicleIds.length === 0) return normals;
  const { rows } = await tx.query<StoredRow>(
    `SELECT vehicle_id::text AS vehicle_id, state, revision FROM vehicle_normals WHERE vehicle_id = ANY ($1::uuid[])`,
    [vehicleIds],
  );
  for (const row of rows) {
    let normal: VehicleNormal | null = null;
    try {
      normal = parseVehicleNormal(stateOf(row));
    } catch (err) {
      invalid?.(row.vehicle_id, err as Error);
    }
    normals.set(row.vehicle_id, { normal, revision: Number(row.revision) });
  }
  return normals;
}

/**
 * Writes (inserts or replaces) the normals of many vehicles in one statement, with the calibration
 * figures copied out of each. A vehicle given twice is written once, with the last entry. Skipped,
 * without failing the others: a vehicle that no longer exists or is not the tenant's given (deleted
 * while it was being scored), and an entry whose `revision` is no longer the stored one (someone
 * else wrote meanwhile). Returns the new revision of each vehicle written.
 */
export async function saveVehicleNormals(
  tx: Queryable,
  entries: readonly VehicleNormalEntry[],
  options: { modelVersion?: string | null } = {},
): Promise<Map<string, number>> {
  const written = new Map<string, number>();
  for (const records of vehicleNormalRecords(entries))
    for (const [id, revision] of await saveVehicleNormalRecords(tx, records, options)) written.set(id, revision);
  return written;
}

/** Normals per statement of a save: a fleet's save is megabytes of JSON, sent in pieces. */
export const NORMALS_PER_STATEMENT = 200;

/**
 * The entries (the last of a vehicle wins) as the JSON the save statement reads, one string per
 * `perStatement` vehicles. Pure: the scoring thread builds it, so the thread that owns the database
 * only sends it (scoring/threaded.ts). Compacts each normal in place (see compactVehicleNormal).
 */
export function vehicleNormalRecords(
  entries: readonly VehicleNormalEntry[],
  perStatement = NORMALS_PER_STATEMENT,
): string[] {
  const last = new Map<string, VehicleNormalEntry>();
  for (const entry of entries) last.set(entry.vehicleId, entry);
  const unique = [...last.values()];
  const records: string[] = [];
  for (let i = 0; i < unique.length; i += perStatement)
    records.push(normalRecordsJson(unique.slice(i, i + perStatement)));
  return records;
}

function normalRecordsJson(entries: readonly VehicleNormalEntry[]): string {
  return JSON.stringify(
    entries.map(({ tenantId, vehicleId, normal, revision }) => {
      // Once per save (not per window): about 0.5 KB less per stored car that reports engine load.
      compactVehicleNormal(normal);
      const calibration = calibrationStatus(normal);
      return {
        vehicle_id: vehicleId,
        tenant_id: tenantId,
        state: normal,
        status: calibration.status,
        running_hours: Math.max(0, calibration.runningHours),
        trips: Math.max(0, Math.round(calibration.trips)),
        checked: revision !== undefined,
        revision: revision ?? null,
      };
    }),
  );
}

/** One statement of saveVehicleNormals, for one string of vehicleNormalRecords. */
export async function saveVehicleNormalRecords(
  tx: Queryable,
  records: string,
  options: { modelVersion?: string | null } = {},
): Promise<Map<string, number>> {
  const { rows } = await tx.query<{ vehicle_id: string; tenant_id: string; revision: number | string }>(
    `WITH e AS (
       SELECT * FROM jsonb_to_recordset($1::jsonb)
         AS e(vehicle_id uuid, tenant_id text, state jsonb, status text, running_hours float8, trips int, checked boolean, revision bigint)
     )
     INSERT INTO vehicle_normals (vehicle_id, tenant_id, state, status, running_hours, trips, model_version, updated_at)
     SELECT v.id, v.tenant_id, e.state, e.status, e.running_hours, e.trips, $2, now()
       FROM e JOIN vehicles v ON v.id = e.vehicle_id AND v.tenant_id = e.tenant_id
     ON CONFLICT (vehicle_id) DO UPDATE
        SET state = EXCLUDED.state, status = EXCLUDED.status, running_hours = EXCLUDED.running_hours,
            trips = EXCLUDED.trips, model_version = EXCLUDED.model_version, updated_at = EXCLUDED.updated_at,
            revision = vehicle_normals.revision + 1
      -- Unchecked, or over the revision the writer knows (an entry expecting no row finds one: skipped).
      WHERE (SELECT NOT e.checked OR e.revision = vehicle_normals.revision FROM e WHERE e.vehicle_id = vehicle_normals.vehicle_id)
     RETURNING vehicle_id::text AS vehicle_id, tenant_id, revision`,
    [records, options.modelVersion ?? null],
  );
  // Announced in the same transaction (one event per tenant): every API process drops the calibration
  // it keeps for these vehicles once this commits (api/src/vehicle-health/parts-cache.ts).
  const written = new Map<string, string[]>();
  for (const { vehicle_id, tenant_id } of rows) {
    const ids = written.get(tenant_id);
    if (ids) ids.push(vehicle_id);
    else written.set(tenant_id, [vehicle_id]);
  }
  await appendLiveEvents(
    tx,
    [...written].map(([tenantId, vehicleIds]) => ({ type: 'normal' as const, tenantId, vehicleIds })),
  );
  return new Map(rows.map((r) => [r.vehicle_id, Number(r.revision)]));
}

/** jsonb comes back parsed from both drivers; a text column (a driver without the jsonb parser) as a string. */
function stateOf(row: StoredRow): unknown {
  return typeof row.state === 'string' ? (JSON.parse(row.state) as unknown) : row.state;
}
