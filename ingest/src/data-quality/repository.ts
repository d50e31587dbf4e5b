import type { Queryable } from '@clutch/db';

export type DataQualityKind = 'seq_gap' | 'conflicting_duplicate' | 'seq_reset';

/** A finding about the data a device sent (a loss or a contradiction), never about the vehicle. */
export interface DataQualityEvent {
  tenantId: string;
  deviceId: string;
  vehicleId: string | null;
  kind: DataQualityKind;
  detail: Record<string, unknown>;
}

/** Owner of `data_quality_events`: every finding of a batch in one statement, in order. */
export async function recordDataQuality(tx: Queryable, events: readonly DataQualityEvent[]): Promise<void> {
  if (events.length === 0) return;
  await tx.query(
    `INSERT INTO data_quality_events (tenant_id, device_id, vehicle_id, kind, detail)
     SELECT t, d, v, k, x::jsonb FROM unnest($1::text[], $2::text[], $3::uuid[], $4::text[], $5::text[]) WITH ORDINALITY AS u(t, d, v, k, x, i)
     ORDER BY i`,
    [
      events.map((e) => e.tenantId),
      events.map((e) => e.deviceId),
      events.map((e) => e.vehicleId),
      events.map((e) => e.kind),
      events.map((e) => JSON.stringify(e.detail)),
    ],
  );
}
