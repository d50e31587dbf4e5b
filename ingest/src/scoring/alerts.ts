import type { Database } from '@clutch/db';
import { appendLiveEvents, type OutboxLiveEvent } from '@clutch/jobs';
import type { OnlineScorer } from '@clutch/ml';
import { insertAlerts, type RaisedAlert } from '../alerts/repository.js';
import type { SampleRow } from '../processors/normalise.js';

/** A raised alert with the vehicle and tenant it is about, ready to store. */
export type ScoredAlert = RaisedAlert;

/**
 * Feeds committed readings to the online scorer (health checks and, when a model is live, the
 * autoencoder) and returns what it raises. Rows arrive in time order per message; readingsToFrames
 * orders anything else itself. Called by the scoring consumer (consumer.ts) after the commit, so an
 * alert never refers to data that is not stored.
 */
export function scoreRows(scorer: OnlineScorer, rows: readonly SampleRow[]): ScoredAlert[] {
  const byVehicle = new Map<
    string,
    { tenantId: string; readings: { signal: string; time: number; value: number }[] }
  >();
  // A commit's rows come a message (one vehicle) at a time: look the vehicle up only when it changes.
  let vehicleId: string | undefined;
  let readings: { signal: string; time: number; value: number }[] = [];
  for (const r of rows) {
    if (r.vehicleId !== vehicleId) {
      vehicleId = r.vehicleId;
      let entry = byVehicle.get(vehicleId);
      if (!entry) byVehicle.set(vehicleId, (entry = { tenantId: r.tenantId, readings: [] }));
      readings = entry.readings;
    }
    readings.push({ signal: r.signalKey, time: r.timeMs, value: r.value });
  }
  const raised: ScoredAlert[] = [];
  for (const [vehicleId, { tenantId, readings }] of byVehicle) {
    for (const alert of scorer.push(vehicleId, readings)) raised.push({ ...alert, vehicleId, tenantId });
  }
  return raised;
}

/**
 * Stores raised alerts in one transaction, each with its `alert` live event in the outbox: announced
 * (live, and to notifications) exactly when it is stored. Returns the stored ids, in order.
 */
export async function storeAlerts(
  db: Database,
  raised: readonly ScoredAlert[],
  modelVersion: string | null,
): Promise<string[]> {
  if (raised.length === 0) return [];
  return db.transaction(async (tx) => {
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
}
