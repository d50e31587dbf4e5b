import type { DtcReport } from '@clutch/contracts';
import type { Queryable } from '@clutch/db';

// Owner of `dtc_reports` and `dtc_events`: trouble codes as devices report them.

export interface DtcRow {
  tenantId: string;
  vehicleId: string;
  report: DtcReport;
}

/**
 * Trouble-code reports, one row per code plus one per report; a re-sent report is not stored twice.
 * Returns the reports stored now (not those already stored), once each, in the order given: the
 * caller announces exactly these, so a redelivered report is announced once.
 */
export async function storeDtcReports(tx: Queryable, rows: readonly DtcRow[]): Promise<DtcRow[]> {
  if (rows.length === 0) return [];
  const inserted = await tx.query<{ vehicle_id: string; time: Date | string }>(
    `INSERT INTO dtc_reports (vehicle_id, time, tenant_id, code_count)
     SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::int[]) ON CONFLICT DO NOTHING
     RETURNING vehicle_id::text, time`,
    [
      rows.map((r) => r.vehicleId),
      rows.map((r) => new Date(r.report.t).toISOString()),
      rows.map((r) => r.tenantId),
      rows.map((r) => r.report.codes.length),
    ],
  );
  const fresh = new Set(inserted.rows.map((r) => `${r.vehicle_id}@${new Date(r.time).getTime()}`));
  const stored: DtcRow[] = [];
  for (const r of rows) {
    const key = `${r.vehicleId}@${new Date(r.report.t).getTime()}`;
    // Two copies of one report in a batch: the first is the stored one.
    if (fresh.delete(key)) stored.push(r);
  }
  const flat = rows.flatMap((r) =>
    r.report.codes.map((c) => ({ ...c, tenantId: r.tenantId, vehicleId: r.vehicleId, t: r.report.t })),
  );
  if (flat.length === 0) return stored;
  await tx.query(
    `INSERT INTO dtc_events (time, tenant_id, vehicle_id, code, kind, ecu)
     SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::text[])
     ON CONFLICT (vehicle_id, time, code, kind) DO NOTHING`,
    [
      flat.map((f) => new Date(f.t).toISOString()),
      flat.map((f) => f.tenantId),
      flat.map((f) => f.vehicleId),
      flat.map((f) => f.code),
      flat.map((f) => f.kind),
      flat.map((f) => f.ecu ?? null),
    ],
  );
  return stored;
}
