import { signalById, signalByKey } from '@clutch/contracts';
import { storageMode, type Database } from '@clutch/db';
import {
  calibrationStatus,
  createOnlineScorer,
  createVehicleNormal,
  type CalibrationStatus,
  type ClutchModel,
  type ImportedColumn,
  type ParsedLog,
  type Reading,
} from '@clutch/ml';
import { loadVehicleNormal, saveVehicleNormals } from '../normals/repository.js';
import type { SampleRow } from '../processors/normalise.js';
import { storeSamples } from '../samples/repository.js';
import { insertAlerts } from '../alerts/repository.js';
import type { ScoredAlert } from '../scoring/alerts.js';

/** Rows per transaction: a 60-hour log is millions of readings; each batch commits on its own. */
export const IMPORT_BATCH_ROWS = 20_000;

/** Readings dated later than this after the import's clock are refused (ingest's own future limit). */
const FUTURE_MS = 5 * 60_000;

export interface ImportLogInput {
  tenantId: string;
  vehicleId: string;
  log: ParsedLog;
  /** Epoch ms a log without a date starts at; default: it ends now (the history just before the import). */
  startAt?: number | undefined;
  /** The live model (null: the rule-based health checks alone) and the version its alerts are stored under. */
  model: ClutchModel | null;
  modelVersion: string;
  /** Clock (tests). */
  now?: () => number;
}

export interface ImportSummary {
  format: ParsedLog['format'];
  rows: number;
  skippedRows: number;
  readings: number;
  readingsPerSignal: Record<string, number>;
  columns: ImportedColumn[];
  /** Columns not imported and why (a subset of `columns`). */
  skippedColumns: { source: string; note: string }[];
  /** First and last reading, ISO 8601. */
  from: string;
  to: string;
  /** False: the file had no date and was placed at `from` (startAt, or ending at the import). */
  datedByFile: boolean;
  samplesStored: number;
  /** Readings already in the vehicle's history (the same file, or the same times, imported before). */
  samplesAlreadyStored: number;
  /** Dated after the import's clock: refused, as ingest refuses them. */
  samplesInFuture: number;
  alerts: { raised: number; byCondition: Record<string, number> };
  modelVersion: string;
  calibration: CalibrationStatus;
  warnings: string[];
}

/**
 * Imports a parsed log into a vehicle's history, the way live telemetry goes in: the readings are
 * stored through ingest's sample storage (idempotent on vehicle, signal and time, in batches), the
 * new ones are scored by an online scorer with the live model seeded with the vehicle's stored
 * normal, the alerts it raises are stored with their live events, and the normal it learned is
 * saved. The same file imported twice stores and scores nothing the second time.
 */
export async function importVehicleLog(db: Database, input: ImportLogInput): Promise<ImportSummary> {
  const { tenantId, vehicleId, log } = input;
  const now = (input.now ?? Date.now)();
  // Parsers return readings in time order (Reading.time is a number for every parsed log).
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const r of log.readings) {
    first = Math.min(first, r.time as number);
    last = Math.max(last, r.time as number);
  }
  const shift = log.startedAt !== null ? 0 : (input.startAt ?? now - (last - first)) - first;

  const rows: SampleRow[] = [];
  let inFuture = 0;
  for (const r of log.readings) {
    const signal = signalByKey(r.signal);
    const timeMs = Math.floor((r.time as number) + shift);
    if (!signal) continue;
    if (timeMs > now + FUTURE_MS) {
      inFuture++;
      continue;
    }
    rows.push({
      timeMs,
      timeIso: new Date(timeMs).toISOString(),
      tenantId,
      vehicleId,
      signalId: signal.id,
      signalKey: signal.key,
      value: r.value,
    });
  }
  rows.sort((a, b) => a.timeMs - b.timeMs);

  const scorer = createOnlineScorer(input.model ? { model: input.model } : {});
  const stored = await db.transaction((tx) => loadVehicleNormal(tx, vehicleId));
  if (stored) scorer.seedNormal(vehicleId, stored);

  let samplesStored = 0;
  const raised: ScoredAlert[] = [];
  const storage = await storageMode(db);
  for (let i = 0; i < rows.length; i += IMPORT_BATCH_ROWS) {
    const batch = rows.slice(i, i + IMPORT_BATCH_ROWS);
    const fresh = await db.transaction(async (tx) => (await storeSamples(tx, batch, storage)).stored);
    samplesStored += fresh.length;
    // Only what is new is scored: a re-import raises nothing twice and leaves the normal as it was.
    const readings: Reading[] = fresh.map((s) => ({
      signal: signalById(s.signalId)!.key,
      time: s.timeMs,
      value: s.value,
    }));
    for (const alert of scorer.push(vehicleId, readings)) raised.push({ ...alert, tenantId });
  }
  // Stored without live events: they describe the past, and an owner must not be woken by a push about a
  // drive from last spring. They are in the vehicle's alert history and in this import's summary.
  if (raised.length > 0) await db.transaction((tx) => insertAlerts(tx, raised, input.modelVersion));
  const normal = scorer.normal(vehicleId);
  if (normal && samplesStored > 0)
    await db.transaction((tx) => saveVehicleNormals(tx, [{ tenantId, vehicleId, normal }]));

  const readingsPerSignal: Record<string, number> = {};
  for (const r of rows) readingsPerSignal[r.signalKey] = (readingsPerSignal[r.signalKey] ?? 0) + 1;
  const byCondition: Record<string, number> = {};
  for (const a of raised) byCondition[a.condition] = (byCondition[a.condition] ?? 0) + 1;
  const finalNormal = normal ?? stored;
  return {
    format: log.format,
    rows: log.rows,
    skippedRows: log.skippedRows,
    readings: rows.length,
    readingsPerSignal,
    columns: log.columns,
    skippedColumns: log.columns.flatMap((c) => (c.signal === null ? [{ source: c.source, note: c.note ?? '' }] : [])),
    from: new Date(rows[0]?.timeMs ?? first + shift).toISOString(),
    to: new Date(rows.at(-1)?.timeMs ?? last + shift).toISOString(),
    datedByFile: log.startedAt !== null,
    samplesStored,
    samplesAlreadyStored: rows.length - samplesStored,
    samplesInFuture: inFuture,
    alerts: { raised: raised.length, byCondition },
    modelVersion: input.modelVersion,
    calibration: calibrationStatus(finalNormal ?? createVehicleNormal()),
    warnings: log.warnings,
  };
}
