import { createHash } from 'node:crypto';
import type { Database } from '@clutch/db';
import { parseVehicleLog, type LogFormat, type ParsedLog } from '@clutch/ml';
import { TelemetryImportsRepository, type ImportRow } from './repository.js';

/**
 * The import itself, shared by the upload's job (jobs.ts) and `clutch import` (platform/src/cli):
 * parse the file, hand the readings to `importHistory` (ingest's importVehicleLog, wired by the
 * platform: storage, scoring, alerts, the vehicle's normal) and record how it went on the row.
 */

/** Stores and scores a parsed log in a vehicle's history; resolves to the summary kept on the row. */
export type ImportHistory = (input: {
  tenantId: string;
  vehicleId: string;
  log: ParsedLog;
  startAt?: number | undefined;
}) => Promise<object>;

export const sha256Of = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** ML_IMPORT_* and other coded errors become the row's error; anything else is a fault of ours. */
function errorOf(err: unknown): { code: string; detail: string } {
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  return { code: typeof code === 'string' && code.startsWith('ML_IMPORT_') ? code : 'INTERNAL', detail: message };
}

/**
 * Runs one recorded import: takes it (null when another run has it or it is done: a redelivered
 * job), parses its text (`content`, else the upload's stored text), imports it and records the
 * summary or the error. A file that cannot be imported fails the row and resolves; an unexpected
 * fault (the database gone) fails the row too and is thrown, so a job retries it.
 */
export async function runTelemetryImport(
  db: Database,
  importId: string,
  importHistory: ImportHistory,
  options: { content?: string; startAt?: number } = {},
): Promise<ImportRow | null> {
  const taken = await db.transaction((q) => new TelemetryImportsRepository(q).start(importId));
  if (!taken) return null;
  const { row } = taken;
  const finish = (outcome: Parameters<TelemetryImportsRepository['finish']>[1]) =>
    db.transaction((q) => new TelemetryImportsRepository(q).finish(importId, outcome));
  const text = options.content ?? taken.content;
  let log: ParsedLog;
  try {
    if (text === null) throw new Error('the uploaded text is gone; upload the file again');
    log = parseVehicleLog(text, {
      ...(row.format ? { format: row.format as LogFormat } : {}),
      ...(row.file_name ? { fileName: row.file_name } : {}),
    });
  } catch (err) {
    return finish({ status: 'failed', error: errorOf(err) });
  }
  try {
    const summary = await importHistory({
      tenantId: row.tenant_id,
      vehicleId: row.vehicle_id,
      log,
      startAt: options.startAt,
    });
    return await finish({ status: 'succeeded', summary });
  } catch (err) {
    await finish({ status: 'failed', error: errorOf(err) }).catch(() => undefined);
    throw err;
  }
}

export interface CliImportInput {
  vehicleId: string;
  text: string;
  fileName: string;
  format?: LogFormat | undefined;
  startAt?: number | undefined;
}

/**
 * `clutch import`: records the file against the vehicle (system access: the operator's command)
 * and runs it. The same file imported before is not imported again: its row is returned with
 * `again: true` (a failed one is tried again). Null when the vehicle does not exist.
 */
export async function importFromCli(
  db: Database,
  input: CliImportInput,
  importHistory: ImportHistory,
): Promise<{ row: ImportRow; again: boolean } | null> {
  const sha256 = sha256Of(input.text);
  const recorded = await db.transaction(async (q) => {
    const vehicle = await q.query<{ tenant_id: string }>(`SELECT tenant_id FROM vehicles WHERE id = $1`, [
      input.vehicleId,
    ]);
    const tenantId = vehicle.rows[0]?.tenant_id;
    if (!tenantId) return null;
    const repo = new TelemetryImportsRepository(q);
    const created = await repo.insert({
      tenantId,
      vehicleId: input.vehicleId,
      sha256,
      fileName: input.fileName.slice(-255),
      bytes: Buffer.byteLength(input.text, 'utf8'),
      format: input.format ?? null,
      via: 'cli',
      requestedBy: 'cli',
      content: null,
    });
    return created
      ? { row: created, existed: false }
      : { row: (await repo.byFile(input.vehicleId, sha256))!, existed: true };
  });
  if (!recorded) return null;
  if (recorded.existed && recorded.row.status !== 'failed') return { row: recorded.row, again: true };
  const ran = await runTelemetryImport(db, recorded.row.id, importHistory, {
    content: input.text,
    ...(input.startAt !== undefined ? { startAt: input.startAt } : {}),
  });
  const row = ran ?? (await db.transaction((q) => new TelemetryImportsRepository(q).find(recorded.row.id)))!;
  return { row, again: false };
}
