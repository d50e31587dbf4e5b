import type { LiveEvent } from '@clutch/contracts';
import type { Database } from '@clutch/db';
import type { Alert, OnlineScorer } from '@clutch/ml';
import type { SampleRow } from '../processors/normalise.js';

export interface ScoringResult {
  events: LiveEvent[];
  alerts: number;
}

/**
 * Last processor: feeds the committed readings to the online scorer (health checks and, when a model
 * is live, the autoencoder) and stores what it raises. Runs after the samples' commit, so an alert
 * never refers to data that is not stored; alerts are derived data, so a failure here is logged by
 * the caller and never blocks ingest.
 */
export async function scoreAndStoreAlerts(
  db: Database,
  scorer: OnlineScorer,
  rows: readonly SampleRow[],
  modelVersion: string | null,
): Promise<ScoringResult> {
  const byVehicle = new Map<string, { tenantId: string; readings: { signal: string; time: number; value: number }[] }>();
  for (const r of rows) {
    let entry = byVehicle.get(r.vehicleId);
    if (!entry) byVehicle.set(r.vehicleId, (entry = { tenantId: r.tenantId, readings: [] }));
    entry.readings.push({ signal: r.signalKey, time: r.timeMs, value: r.value });
  }
  const raised: (Alert & { tenantId: string })[] = [];
  // Rows are in time order per message; readingsToFrames orders anything else itself.
  for (const [vehicleId, { tenantId, readings }] of byVehicle) {
    for (const alert of scorer.push(vehicleId, readings)) raised.push({ ...alert, vehicleId, tenantId });
  }
  if (raised.length === 0) return { events: [], alerts: 0 };
  // One statement however many were raised: a fleet-wide condition must not stall ingest behind a
  // round trip per alert. RETURNING gives the ids in insertion order, which ORDER BY ord fixes.
  const { rows: inserted } = await db.query<{ id: string }>(
    `INSERT INTO alerts (time, tenant_id, vehicle_id, kind, severity, title, explanation, signals, details, model_version)
     SELECT a.time, a.tenant_id, a.vehicle_id, a.kind, a.severity, a.title, a.explanation,
            ARRAY(SELECT jsonb_array_elements_text(a.signals)), a.details, $2
       FROM ROWS FROM (jsonb_to_recordset($1::jsonb) AS (time timestamptz, tenant_id text, vehicle_id uuid, kind text, severity text, title text,
              explanation text, signals jsonb, details jsonb)) WITH ORDINALITY AS a(time, tenant_id, vehicle_id, kind, severity, title, explanation, signals, details, ord)
      ORDER BY a.ord
     RETURNING id`,
    [
      JSON.stringify(raised.map((alert) => ({
        time: new Date(alert.at).toISOString(), tenant_id: alert.tenantId, vehicle_id: alert.vehicleId, kind: alert.kind, severity: alert.severity,
        title: alert.title, explanation: alert.explanation, signals: alert.signals,
        details: { observed: alert.observed, expected: alert.expected, unit: alert.unit, condition: alert.condition },
      }))),
      modelVersion,
    ],
  );
  const events: LiveEvent[] = raised.map((alert, i) => ({
    type: 'alert', tenantId: alert.tenantId, vehicleId: alert.vehicleId,
    alert: {
      id: String(inserted[i]!.id), kind: alert.kind, severity: alert.severity, title: alert.title,
      explanation: alert.explanation, signals: alert.signals, at: new Date(alert.at).toISOString(),
    },
  }));
  return { events, alerts: inserted.length };
}
