import type { Queryable } from '@clutch/db';
import type { Alert } from '@clutch/ml';

/**
 * Owner of inserts into `alerts`: ingest's scoring is the only producer of alerts. The API reads
 * them (api/src/alerts/) and owns the one column that changes afterwards, `acknowledged_at` (a
 * person acknowledging an alert); ingest never updates a stored alert.
 */

export type RaisedAlert = Alert & { tenantId: string };

/**
 * Stores alerts in one statement however many were raised: a fleet-wide condition must not stall
 * ingest behind a round trip per alert. Returns their ids in the order given (RETURNING follows the
 * insertion order, which ORDER BY ord fixes).
 */
export async function insertAlerts(
  q: Queryable,
  raised: readonly RaisedAlert[],
  modelVersion: string | null,
): Promise<string[]> {
  if (raised.length === 0) return [];
  const { rows } = await q.query<{ id: string }>(
    `INSERT INTO alerts (time, tenant_id, vehicle_id, kind, severity, title, explanation, signals, details, model_version)
     SELECT a.time, a.tenant_id, a.vehicle_id, a.kind, a.severity, a.title, a.explanation,
            ARRAY(SELECT jsonb_array_elements_text(a.signals)), a.details, $2
       FROM ROWS FROM (jsonb_to_recordset($1::jsonb) AS (time timestamptz, tenant_id text, vehicle_id uuid, kind text, severity text, title text,
              explanation text, signals jsonb, details jsonb)) WITH ORDINALITY AS a(time, tenant_id, vehicle_id, kind, severity, title, explanation, signals, details, ord)
      ORDER BY a.ord
     RETURNING id`,
    [
      JSON.stringify(
        raised.map((alert) => ({
          time: new Date(alert.at).toISOString(),
          tenant_id: alert.tenantId,
          vehicle_id: alert.vehicleId,
          kind: alert.kind,
          severity: alert.severity,
          title: alert.title,
          explanation: alert.explanation,
          signals: alert.signals,
          details: { observed: alert.observed, expected: alert.expected, unit: alert.unit, condition: alert.condition },
        })),
      ),
      modelVersion,
    ],
  );
  return rows.map((r) => String(r.id));
}
