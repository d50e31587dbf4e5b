import type { Database } from '@clutch/db';
import { appendLiveEvents, type OutboxLiveEvent } from '@clutch/jobs';
import { featureColumn, type ColumnRange, type OnlineScorer } from '@clutch/ml';
import { insertAlerts, type RaisedAlert } from '../alerts/repository.js';
import type { SampleRow } from '../processors/normalise.js';

/** A raised alert with the vehicle and tenant it is about, ready to store. */
export type ScoredAlert = RaisedAlert;

/** Consecutive readings of one vehicle (a message's, or the part of one a slice took) in a chunk's columns. */
export interface ScoringRun extends ColumnRange {
  vehicleId: string;
  tenantId: string;
}

/**
 * A commit's rows as columns and runs (one per vehicle change, so about one per message): what the
 * scoring queue keeps instead of the rows, so a reading waiting to be scored is no object of its own.
 */
export function rowsToRuns(rows: readonly SampleRow[]): ScoringRun[] {
  const n = rows.length;
  const columns = { feature: new Int8Array(n), time: new Float64Array(n), value: new Float64Array(n) };
  const runs: ScoringRun[] = [];
  let run: ScoringRun | undefined;
  // A reading cycle repeats the same signals: look each key up once per change.
  let lastKey = '';
  let lastFeature = -1;
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    if (r.signalKey !== lastKey) {
      lastKey = r.signalKey;
      lastFeature = featureColumn(lastKey);
    }
    columns.feature[i] = lastFeature;
    columns.time[i] = r.timeMs;
    columns.value[i] = r.value;
    if (run?.vehicleId !== r.vehicleId) {
      if (run) run.end = i;
      runs.push((run = { columns, start: i, end: n, vehicleId: r.vehicleId, tenantId: r.tenantId }));
    }
  }
  return runs;
}

/**
 * Feeds committed readings to the online scorer (health checks and, when a model is live, the
 * autoencoder) and returns what it raises: each vehicle's runs in one push, in their order (the
 * scorer orders anything out of time order itself). Called by the scoring consumer (consumer.ts)
 * after the commit, so an alert never refers to data that is not stored.
 */
export function scoreRuns(scorer: OnlineScorer, runs: readonly ScoringRun[]): ScoredAlert[] {
  const byVehicle = new Map<string, { tenantId: string; runs: ScoringRun[] }>();
  for (const run of runs) {
    const entry = byVehicle.get(run.vehicleId);
    if (entry) entry.runs.push(run);
    else byVehicle.set(run.vehicleId, { tenantId: run.tenantId, runs: [run] });
  }
  const raised: ScoredAlert[] = [];
  for (const [vehicleId, { tenantId, runs }] of byVehicle) {
    for (const alert of scorer.pushColumns(vehicleId, runs)) raised.push({ ...alert, vehicleId, tenantId });
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
