import type { Database } from '@clutch/db';
import { appendLiveEvents, type OutboxLiveEvent } from '@clutch/jobs';
import type { OnlineScorer } from '@clutch/ml';
import { insertAlerts, type RaisedAlert } from '../alerts/repository.js';
import type { SampleRow } from '../processors/normalise.js';

export interface ScoringResult {
  alerts: number;
}

/**
 * Last processor: feeds the committed readings to the online scorer (health checks and, when a model
 * is live, the autoencoder) and stores what it raises. Runs after the samples' commit, so an alert
 * never refers to data that is not stored; alerts are derived data, so a failure here is logged by
 * the caller and never blocks ingest. Each alert's `alert` live event goes to the outbox in the
 * transaction that stores it: announced (live, and to notifications) exactly when it is stored.
 */
export async function scoreAndStoreAlerts(
  db: Database,
  scorer: OnlineScorer,
  rows: readonly SampleRow[],
  modelVersion: string | null,
): Promise<ScoringResult> {
  const byVehicle = new Map<
    string,
    { tenantId: string; readings: { signal: string; time: number; value: number }[] }
  >();
  for (const r of rows) {
    let entry = byVehicle.get(r.vehicleId);
    if (!entry) byVehicle.set(r.vehicleId, (entry = { tenantId: r.tenantId, readings: [] }));
    entry.readings.push({ signal: r.signalKey, time: r.timeMs, value: r.value });
  }
  const raised: RaisedAlert[] = [];
  // Rows are in time order per message; readingsToFrames orders anything else itself.
  for (const [vehicleId, { tenantId, readings }] of byVehicle) {
    for (const alert of scorer.push(vehicleId, readings)) raised.push({ ...alert, vehicleId, tenantId });
  }
  if (raised.length === 0) return { alerts: 0 };
  const ids = await db.transaction(async (tx) => {
    const stored = await insertAlerts(tx, raised, modelVersion);
    await appendLiveEvents(
      tx,
      raised.map((alert, i): OutboxLiveEvent => ({
        type: 'alert',
        tenantId: alert.tenantId,
        vehicleId: alert.vehicleId,
        alert: {
          id: stored[i]!,
          kind: alert.kind,
          severity: alert.severity,
          title: alert.title,
          explanation: alert.explanation,
          signals: alert.signals,
          at: new Date(alert.at).toISOString(),
        },
      })),
    );
    return stored;
  });
  return { alerts: ids.length };
}
