import { detectLogFormat, LOG_FORMATS, type LogFormat } from '@clutch/ml';
import type { Principal, Scope } from '../auth/principal.js';
import { apiError } from '../errors.js';
import { toIso } from '../shared/time.js';
import { vehicleNotFound } from '../shared/vehicle-guard.js';
import { requireVehicleData } from '../vehicles/access.js';
import type { JobEnqueuer } from '../ai/retrain-jobs.js';
import { TELEMETRY_IMPORT_QUEUE, type TelemetryImportJobData } from './jobs.js';
import { TelemetryImportsRepository, type ImportRow, type ImportStatus } from './repository.js';
import { sha256Of } from './run.js';

/** Largest log accepted by upload: 20 MB is about 60 hours of a wide export at one row a second. */
export const MAX_IMPORT_BYTES = 20 * 1024 * 1024;
/** Imports listed per vehicle, newest first. */
export const IMPORT_LIST_LIMIT = 50;

export interface TelemetryImport {
  id: string;
  vehicleId: string;
  fileName: string | null;
  bytes: number;
  sha256: string;
  format: LogFormat | null;
  via: 'api' | 'cli';
  status: ImportStatus;
  summary: unknown;
  error: { code: string; detail: string } | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export function toImport(row: ImportRow): TelemetryImport {
  return {
    id: row.id,
    vehicleId: row.vehicle_id,
    fileName: row.file_name,
    bytes: Number(row.file_bytes),
    sha256: row.file_sha256,
    format: (row.format ?? (row.summary as { format?: LogFormat } | null)?.format ?? null) as LogFormat | null,
    via: row.via,
    status: row.status,
    summary: row.summary ?? null,
    error: row.error ?? null,
    createdAt: toIso(row.created_at) ?? '',
    startedAt: toIso(row.started_at),
    finishedAt: toIso(row.finished_at),
  };
}

export interface UploadInput {
  read: (maxBytes: number) => Promise<Buffer>;
  fileName?: string | undefined;
  format?: LogFormat | undefined;
}

/**
 * Uploads of app logs into a vehicle's history (docs/imports.md). The upload is checked at once
 * (size, text, a format we read) so a wrong file is a 4xx now, not a failed job later; the import
 * itself runs on the job queue (queue telemetry.import), recorded and enqueued in one transaction.
 */
export class TelemetryImportsService {
  constructor(private readonly jobs: JobEnqueuer | undefined) {}

  async upload(
    scope: Pick<Scope, 'run'>,
    principal: Principal,
    vehicleId: string,
    input: UploadInput,
  ): Promise<TelemetryImport> {
    // The vehicle first: a caller who may not import into it learns nothing from reading the body.
    await scope.run((q) => requireOwnVehicle(q, vehicleId));
    const bytes = await input.read(MAX_IMPORT_BYTES);
    const text = bytes.toString('utf8');
    if (text.trim() === '') throw apiError('IMPORT_EMPTY', 'The upload is empty');
    if (text.includes('\u0000')) throw apiError('IMPORT_FORMAT_UNKNOWN', 'The upload is not a text file');
    const format = input.format ?? detectLogFormat(text, input.fileName);
    if (!format)
      throw apiError(
        'IMPORT_FORMAT_UNKNOWN',
        `The file's header is none of ${LOG_FORMATS.join(', ')}; name the format with ?format=`,
        {
          formats: [...LOG_FORMATS],
        },
      );
    const jobs = this.jobs;
    if (!jobs) throw apiError('JOBS_UNAVAILABLE', 'This server has no job queue to run imports on');
    const sha256 = sha256Of(text);
    const row = await scope.run(async (q) => {
      const target = await requireOwnVehicle(q, vehicleId);
      const repo = new TelemetryImportsRepository(q);
      const created = await repo.insert({
        tenantId: target.tenantId,
        vehicleId,
        sha256,
        fileName: input.fileName ?? null,
        bytes: bytes.length,
        format: input.format ?? null,
        via: 'api',
        requestedBy: actorOf(principal),
        content: text,
      });
      // The same file again: its import as it stands (nothing is stored twice).
      if (!created) return (await repo.byFile(vehicleId, sha256))!;
      const data: TelemetryImportJobData = { importId: created.id };
      await jobs.enqueue(TELEMETRY_IMPORT_QUEUE, data, { tx: q });
      return created;
    });
    return toImport(row);
  }

  async list(scope: Pick<Scope, 'run'>, vehicleId: string): Promise<TelemetryImport[]> {
    return scope.run(async (q) => {
      await requireVehicleData(q, vehicleId, 'telemetry:read');
      return (await new TelemetryImportsRepository(q).listForVehicle(vehicleId, IMPORT_LIST_LIMIT)).map(toImport);
    });
  }

  async get(scope: Pick<Scope, 'run'>, vehicleId: string, importId: string): Promise<TelemetryImport> {
    return scope.run(async (q) => {
      await requireVehicleData(q, vehicleId, 'telemetry:read');
      const row = await new TelemetryImportsRepository(q).find(importId);
      if (!row || row.vehicle_id !== vehicleId)
        throw apiError('IMPORT_NOT_FOUND', `Vehicle ${vehicleId} has no import ${importId}`, { importId });
      return toImport(row);
    });
  }
}

/**
 * Imports go into the vehicle's own tenant only: a vehicle shared with a shop stays the owner's
 * history, written by the owner (or the owner's fleet or shop staff), not by whoever it is shared with.
 */
async function requireOwnVehicle(q: Parameters<typeof requireVehicleData>[0], vehicleId: string) {
  const target = await requireVehicleData(q, vehicleId, 'commands:write');
  if (target.shared) throw vehicleNotFound(vehicleId);
  return target;
}

function actorOf(principal: Principal): string {
  if (principal.kind === 'user') return principal.userId;
  if (principal.kind === 'partner') return `api-key:${principal.keyId}`;
  return 'admin';
}
