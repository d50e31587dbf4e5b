import type { LiveEvent } from '@clutch/contracts';
import type { Database } from '@clutch/db';
import type { OnlineScorer } from '@clutch/ml';
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
  const events: LiveEvent[] = [];
  let stored = 0;
  for (const [vehicleId, { tenantId, readings }] of byVehicle) {
    readings.sort((a, b) => a.time - b.time);
    for (const alert of scorer.push(vehicleId, readings)) {
      const { rows: inserted } = await db.query<{ id: string }>(
        `INSERT INTO alerts (time, tenant_id, vehicle_id, kind, severity, title, explanation, signals, details, model_version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10) RETURNING id`,
        [
          new Date(alert.at).toISOString(), tenantId, vehicleId, alert.kind, alert.severity, alert.title, alert.explanation, alert.signals,
          JSON.stringify({ observed: alert.observed, expected: alert.expected, unit: alert.unit, condition: alert.condition }), modelVersion,
        ],
      );
      stored++;
      events.push({
        type: 'alert', tenantId, vehicleId,
        alert: {
          id: String(inserted[0]!.id), kind: alert.kind, severity: alert.severity, title: alert.title,
          explanation: alert.explanation, signals: alert.signals, at: new Date(alert.at).toISOString(),
        },
      });
    }
  }
  return { events, alerts: stored };
}
